"""Uniform and random attention in place of the learned one (after Wiegreffe and Pinter, 2019).

At inference each family's coefficients are replaced by the uniform distribution over N(u)
(or over the neighbours), then by random Dirichlet draws. The suite measures how y^ moves, as
for the permutation test, and the held-out NDCG@10 under each replacement: when a replacement
ranks the held-out items as well as the learned coefficients do, the learned attention carries
no information the rest of the network does not already have.

Wiegreffe and Pinter retrain with frozen uniform weights; here the replacement is made at
inference only, which asks what the trained network does with the coefficients it learned.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from attnrec.errors import ConfigError
from attnrec.faithfulness.permutation import (
    FAMILIES,
    PERMUTATIONS,
    Draw,
    intervention_effects,
    run_forward,
)
from attnrec.faithfulness.protocol import (
    AttentionModel,
    Encoded,
    Forward,
    normalise_groups,
    normalise_rows,
)
from attnrec.model.trainer import ndcg_at_k

logger = logging.getLogger(__name__)

#: short names of the families in column names
SHORT = {"recommendation": "rec", "similarity": "sim"}


def uniform_recommendation(enc: Encoded, base: Forward, rng: np.random.Generator) -> torch.Tensor:
    """(E,) 1 / |N(u)| on every input edge."""
    ones = torch.ones_like(base.rec_attention)
    return normalise_groups(ones, enc.edge_user, enc.n_rows)


def uniform_similarity(enc: Encoded, base: Forward, rng: np.random.Generator) -> torch.Tensor:
    """(B, K) 1 / (number of neighbours) on every real neighbour slot."""
    return normalise_rows(torch.ones_like(base.sim_attention), enc.sim_mask)


def dirichlet_draws(concentration: float) -> dict[str, Draw]:
    """Draws of Dirichlet(concentration, ..., concentration) over N(u) and over neighbours."""
    if concentration <= 0:
        raise ConfigError(f"concentration={concentration} must be positive")

    def recommendation(enc: Encoded, base: Forward, rng: np.random.Generator) -> torch.Tensor:
        # normalised Gamma draws are Dirichlet draws
        gamma = rng.gamma(concentration, size=base.rec_attention.shape[0])
        weights = torch.as_tensor(gamma, dtype=base.rec_attention.dtype)
        return normalise_groups(weights.to(base.rec_attention.device), enc.edge_user, enc.n_rows)

    def similarity(enc: Encoded, base: Forward, rng: np.random.Generator) -> torch.Tensor:
        gamma = rng.gamma(concentration, size=tuple(base.sim_attention.shape))
        weights = torch.as_tensor(gamma, dtype=base.sim_attention.dtype)
        return normalise_rows(weights.to(base.sim_attention.device), enc.sim_mask)

    return {"recommendation": recommendation, "similarity": similarity}


UNIFORM: dict[str, Draw] = {
    "recommendation": uniform_recommendation,
    "similarity": uniform_similarity,
}


def replacement_test(
    model: AttentionModel,
    users: Sequence[int] | np.ndarray,
    n_draws: int = 100,
    concentration: float = 1.0,
    seed: int = 0,
    batch_size: int = 128,
) -> dict[str, dict[str, pd.DataFrame]]:
    """Output change under uniform and Dirichlet coefficients, for both families.

    Returns:
        {"uniform" | "dirichlet": {family: per-user frame of ``intervention_effects``}}.
    """
    rng = np.random.default_rng(seed)
    dirichlet = dirichlet_draws(concentration)
    out: dict[str, dict[str, pd.DataFrame]] = {"uniform": {}, "dirichlet": {}}
    for family in FAMILIES:
        logger.info("uniform and Dirichlet(%g) %s coefficients", concentration, family)
        out["uniform"][family] = intervention_effects(
            model, users, family, UNIFORM[family], 1, rng, batch_size, desc=f"uniform {family}"
        )
        out["dirichlet"][family] = intervention_effects(
            model,
            users,
            family,
            dirichlet[family],
            n_draws,
            rng,
            batch_size,
            desc=f"dirichlet {family}",
        )
    return out


def heldout_ndcg(
    model: AttentionModel,
    users: Sequence[int] | np.ndarray,
    heldout: sp.csr_matrix,
    k: int = 10,
    n_draws: int = 5,
    concentration: float = 1.0,
    seed: int = 0,
    batch_size: int = 256,
    replacements: bool = True,
) -> pd.DataFrame:
    """Held-out NDCG@k of the learned coefficients and of each replacement (when
    ``replacements``; else of the learned coefficients only).

    Items the model sees in ``model.profiles`` are never ranked; ``heldout`` holds the items to
    find. Random replacements are averaged over ``n_draws`` draws.

    Returns:
        One row per user with held-out items: ``user``, ``ndcg_learned`` and, per family,
        ``ndcg_<replacement>_<family>`` for uniform, dirichlet and permuted.
    """
    rows = np.asarray(users, dtype=np.int64)
    rows = rows[np.diff(heldout.indptr)[rows] > 0]
    rng = np.random.default_rng(seed)
    draws: dict[str, tuple[dict[str, Draw], int]] = {
        "uniform": (UNIFORM, 1),
        "dirichlet": (dirichlet_draws(concentration), n_draws),
        "permuted": (PERMUTATIONS, n_draws),
    }
    if not replacements:
        draws = {}
    parts = []
    for start in range(0, len(rows), batch_size):
        part = rows[start : start + batch_size]
        seen, relevant = model.profiles[part], heldout[part]
        with torch.no_grad():
            enc = model.encode(part)
            base = model.forward(enc)
            columns = {
                "user": part,
                "ndcg_learned": ndcg_at_k(base.logits.cpu().numpy(), seen, relevant, k),
            }

            # each replacement of each family, averaged over its draws
            for name, (family_draws, count) in draws.items():
                for family in FAMILIES:
                    values = [
                        ndcg_at_k(
                            run_forward(model, enc, family, family_draws[family](enc, base, rng))
                            .logits.cpu()
                            .numpy(),
                            seen,
                            relevant,
                            k,
                        )
                        for _ in range(count)
                    ]
                    columns[f"ndcg_{name}_{SHORT[family]}"] = np.mean(values, axis=0)
        parts.append(pd.DataFrame(columns))
    return pd.concat(parts, ignore_index=True)
