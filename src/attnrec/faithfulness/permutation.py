"""Permutation test of Jain and Wallace (2019), for both coefficient families.

Each user's coefficients are shuffled over N(u) (recommendation) or over its neighbours
(similarity), everything else fixed, and y^ is recomputed. Per user the suite keeps the median
TVD, JSD and top-10 overlap over the permutations and the rate at which the top-1 item
changes, next to the user's maximum attention weight (their Figure 4 plots the one against the
other). The same runner serves the uniform and Dirichlet replacements of ``replacement``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from attnrec.errors import ConfigError
from attnrec.faithfulness.measures import candidate_probs, output_change
from attnrec.faithfulness.protocol import (
    AttentionModel,
    Encoded,
    Forward,
    candidate_mask,
    group_sum,
)

logger = logging.getLogger(__name__)

#: the two coefficient families, named as in ``attnrec.explain.counterfactual``
FAMILIES = ("recommendation", "similarity")

#: a replacement of one family's coefficients: (batch, its own forward pass, rng) -> tensor
Draw = Callable[[Encoded, Forward, np.random.Generator], torch.Tensor]


def permute_recommendation(enc: Encoded, base: Forward, rng: np.random.Generator) -> torch.Tensor:
    """(E,) alpha_rec shuffled within each row's N(u)."""
    groups = enc.edge_user.cpu().numpy().astype(np.float64)
    # groups are integers and the noise lies in [0, 1): sorting the sum shuffles within groups
    order = np.argsort(groups + rng.random(len(groups)), kind="stable")
    return base.rec_attention[torch.as_tensor(order, device=base.rec_attention.device)]


def permute_similarity(enc: Encoded, base: Forward, rng: np.random.Generator) -> torch.Tensor:
    """(B, K) alpha_sim shuffled within each row's real neighbour slots."""
    mask = enc.sim_mask
    rows = torch.nonzero(mask)[:, 0].cpu().numpy().astype(np.float64)
    order = np.argsort(rows + rng.random(len(rows)), kind="stable")
    alpha = base.sim_attention.clone()
    alpha[mask] = base.sim_attention[mask][torch.as_tensor(order, device=alpha.device)]
    return alpha


PERMUTATIONS: dict[str, Draw] = {
    "recommendation": permute_recommendation,
    "similarity": permute_similarity,
}


def run_forward(
    model: AttentionModel, enc: Encoded, family: str, attention: torch.Tensor | None
) -> Forward:
    """Forward pass with ``attention`` replacing the coefficients of ``family``."""
    if family not in FAMILIES:
        raise ConfigError(f"family {family!r} is unknown; use one of {', '.join(FAMILIES)}")
    if family == "recommendation":
        return model.forward(enc, rec_attention=attention)
    return model.forward(enc, sim_attention=attention)


def attention_summary(enc: Encoded, base: Forward, family: str) -> tuple[np.ndarray, np.ndarray]:
    """(B,) maximum coefficient and (B,) number of attended elements of each row."""
    if family == "recommendation":
        n_rows = enc.n_rows
        counts = group_sum(torch.ones_like(base.rec_attention), enc.edge_user, n_rows)
        maxima = torch.zeros(n_rows, dtype=base.rec_attention.dtype, device=counts.device)
        maxima = maxima.scatter_reduce(0, enc.edge_user, base.rec_attention, reduce="amax")
        return maxima.cpu().numpy().astype(float), counts.cpu().numpy().astype(int)
    counts = enc.sim_mask.sum(dim=-1)
    maxima = (base.sim_attention * enc.sim_mask).max(dim=-1).values
    return maxima.cpu().numpy().astype(float), counts.cpu().numpy().astype(int)


def intervention_effects(
    model: AttentionModel,
    users: Sequence[int] | np.ndarray,
    family: str,
    draw: Draw,
    n_draws: int,
    rng: np.random.Generator,
    batch_size: int = 128,
    desc: str = "intervention",
) -> pd.DataFrame:
    """How y^ moves when a coefficient family is replaced by ``n_draws`` draws of ``draw``.

    Returns:
        One row per user: ``user``, ``max_attention``, ``n_attended`` and the per-user median
        ``tvd``, ``jsd``, ``top10_overlap`` over the draws, plus ``top1_change_rate`` (mean).
        Users with fewer than two attended elements get NaN measures (nothing to move).
    """
    users = np.asarray(users, dtype=np.int64)
    parts = []
    starts = range(0, len(users), batch_size)
    bar = tqdm(starts, desc=desc, unit="batch", leave=False, disable=not sys.stderr.isatty())
    for start in bar:
        part = users[start : start + batch_size]
        parts.append(_batch_effects(model, part, family, draw, n_draws, rng))
    return pd.concat(parts, ignore_index=True)


def _batch_effects(
    model: AttentionModel,
    users: np.ndarray,
    family: str,
    draw: Draw,
    n_draws: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """``intervention_effects`` of one batch of users."""
    with torch.no_grad():
        # the learned coefficients and y^ over each user's candidates
        enc = model.encode(users)
        base = model.forward(enc)
        candidates = candidate_mask(model, users).to(base.logits.device)
        original = candidate_probs(base.logits, candidates)
        maxima, counts = attention_summary(enc, base, family)

        # every draw's measures, stacked (draws, users)
        per_draw: dict[str, list[np.ndarray]] = {}
        for _ in range(n_draws):
            replaced = run_forward(model, enc, family, draw(enc, base, rng))
            changed = output_change(original, candidate_probs(replaced.logits, candidates))
            for name, values in changed.items():
                per_draw.setdefault(name, []).append(values)
    stacked = {name: np.stack(values) for name, values in per_draw.items()}

    # per-user summaries; a user with < 2 attended elements has nothing to move
    frame = pd.DataFrame(
        {
            "user": users,
            "max_attention": maxima,
            "n_attended": counts,
            "tvd": np.median(stacked["tvd"], axis=0),
            "jsd": np.median(stacked["jsd"], axis=0),
            "top10_overlap": np.median(stacked["top10_overlap"], axis=0),
            "top1_change_rate": stacked["top1_changed"].mean(axis=0),
        }
    )
    frame.loc[counts < 2, ["tvd", "jsd", "top10_overlap", "top1_change_rate"]] = np.nan
    return frame


def permutation_test(
    model: AttentionModel,
    users: Sequence[int] | np.ndarray,
    n_permutations: int = 100,
    seed: int = 0,
    batch_size: int = 128,
) -> dict[str, pd.DataFrame]:
    """The permutation test for both families.

    Returns:
        {family: per-user frame of ``intervention_effects``}.
    """
    if n_permutations < 1:
        raise ConfigError(f"n_permutations={n_permutations} must be at least 1")
    rng = np.random.default_rng(seed)
    out = {}
    for family in FAMILIES:
        logger.info("permutation test, %s coefficients: %d permutations", family, n_permutations)
        out[family] = intervention_effects(
            model,
            users,
            family,
            PERMUTATIONS[family],
            n_permutations,
            rng,
            batch_size,
            desc=f"permute {family}",
        )
    return out
