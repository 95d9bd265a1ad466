"""ERASER comprehensiveness and sufficiency (DeYoung et al., 2020) of the attended rated items.

The rationale of a user's top recommendation is the k% of its rated items with the highest
recommendation coefficients (at least one item). For k in 1, 5, 10, 20 and 50%:

- comprehensiveness = y^_top(full profile) - y^_top(profile without the rationale): a faithful
  rationale carries the prediction, so removing it should drop the score;
- sufficiency = y^_top(full profile) - y^_top(rationale alone): near 0 (or below) when the
  rationale suffices.

Both are averaged over k (AOPC), for the attention rationale and for random subsets of the same
sizes. y^ is renormalised over the candidate items of the full profile, so the same top item is
tracked throughout; dividing by y^_top(full) gives the normalised versions (1 = everything).
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from attnrec.errors import ConfigError
from attnrec.faithfulness.measures import candidate_probs
from attnrec.faithfulness.protocol import AttentionModel, candidate_mask, profile_rows

logger = logging.getLogger(__name__)

#: rationale sizes, in percent of the user's rated items
LEVELS = (1, 5, 10, 20, 50)

#: most input edges in one forward pass
MAX_EDGES = 200_000


def rationale_size(level: float, n_rated: int) -> int:
    """Items in a k% rationale: ceil(k% of |N(u)|), at least 1, at most |N(u)| - 1."""
    return int(min(max(1, math.ceil(level / 100 * n_rated)), max(1, n_rated - 1)))


def eraser_test(
    model: AttentionModel,
    users: Sequence[int] | np.ndarray,
    levels: Sequence[float] = LEVELS,
    n_random: int = 5,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Comprehensiveness and sufficiency of attention and random rationales.

    Returns:
        (per-user AOPC frame, per-user-and-level curve frame). Per user: ``p_top`` and, for
        method in attention / random, ``comprehensiveness_<method>``, ``sufficiency_<method>``
        and their normalised versions ``*_norm``. The curve frame has ``user``, ``level``,
        ``method``, ``comprehensiveness``, ``sufficiency``.
    """
    if n_random < 1:
        raise ConfigError(f"n_random={n_random} must be at least 1")
    rng = np.random.default_rng(seed)
    users = np.asarray(users, dtype=np.int64)
    curves = []
    bar = tqdm(users, desc="eraser", leave=False, disable=not sys.stderr.isatty())
    for user in bar:
        curves.append(_user_curve(model, int(user), levels, n_random, rng))
    curve = pd.concat(curves, ignore_index=True)

    # AOPC: the mean over levels, per user and method
    aopc = curve.groupby(["user", "method"], sort=False).mean(numeric_only=True).reset_index()
    wide = aopc.pivot(index="user", columns="method")
    frame = pd.DataFrame({"user": wide.index.to_numpy()})
    for method in ("attention", "random"):
        for measure in ("comprehensiveness", "sufficiency"):
            frame[f"{measure}_{method}"] = wide[(measure, method)].to_numpy()
            frame[f"{measure}_{method}_norm"] = wide[(f"{measure}_norm", method)].to_numpy()
    frame["p_top"] = wide[("p_top", "attention")].to_numpy()
    return frame, curve


def _user_curve(
    model: AttentionModel,
    user: int,
    levels: Sequence[float],
    n_random: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Comprehensiveness and sufficiency of one user at every level, both methods."""
    with torch.no_grad():
        users = np.array([user])
        enc = model.encode(users)
        base = model.forward(enc)
        candidates = candidate_mask(model, users).to(base.logits.device)
        original = candidate_probs(base.logits, candidates)
        top = int(original[0].argmax())
        p_top = float(original[0, top])
        attention = base.rec_attention.cpu().numpy()
    n_rated = len(attention)
    ranked = np.argsort(-attention, kind="stable")

    # the rationales: (level, method, kept-without, kept-alone) for every level and draw
    specs, keep = [], []
    for level in levels:
        size = rationale_size(level, n_rated)
        subsets = [("attention", ranked[:size])]
        subsets += [("random", rng.choice(n_rated, size, replace=False)) for _ in range(n_random)]
        for method, chosen in subsets:
            specs.append((level, method))
            keep.append(np.setdiff1d(np.arange(n_rated), chosen))
            keep.append(np.sort(chosen))
    scores = _top_scores(model, user, keep, candidates, top)

    # comprehensiveness from the "without" rows, sufficiency from the "alone" rows
    frame = pd.DataFrame(specs, columns=["level", "method"])
    frame["comprehensiveness"] = p_top - scores[0::2]
    frame["sufficiency"] = p_top - scores[1::2]
    frame = frame.groupby(["level", "method"], sort=False).mean().reset_index()
    frame["comprehensiveness_norm"] = frame["comprehensiveness"] / max(p_top, 1e-30)
    frame["sufficiency_norm"] = frame["sufficiency"] / max(p_top, 1e-30)
    frame["p_top"] = p_top
    frame.insert(0, "user", user)
    return frame


def _top_scores(
    model: AttentionModel,
    user: int,
    keep: list[np.ndarray],
    candidates: torch.Tensor,
    top: int,
) -> np.ndarray:
    """y^_top (over the full profile's candidates) for each edited profile of one user."""
    n_rated = int(model.profiles[user].nnz)
    per_chunk = max(1, MAX_EDGES // max(1, n_rated))
    out = []
    with torch.no_grad():
        for start in range(0, len(keep), per_chunk):
            chunk = keep[start : start + per_chunk]
            edited = model.encode(np.full(len(chunk), user), profile_rows(model, user, chunk))
            probs = candidate_probs(model.forward(edited).logits, candidates.expand(len(chunk), -1))
            out.append(probs[:, top].cpu().numpy().astype(float))
    return np.concatenate(out)
