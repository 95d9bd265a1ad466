"""Recommender-explanation metrics for the delta-rule's neighbour explanations.

- Mean explainability precision and recall at n (Abdollahi and Nasraoui, 2016, EMF): an item
  is explainable for u when at least one of u's most attended neighbours rated it highly (the
  delta-rule without its score threshold). Precision: explainable share of the model's top n.
  Recall: share of all of u's explainable items that made the top n.
- Model fidelity (after Peake and Wang, 2018): does the explanation reproduce the
  recommendation? The explanation's own ranking scores each candidate by the attention-weighted
  ratings of u's neighbours, sum_v alpha_sim(u, v) r(v, j) / r_max; fidelity is the overlap of
  its top n with the model's top n. The same surrogate with cosine weights is the baseline
  that needs no attention at all.
- Probability of necessity and of sufficiency (after CountER, Tan et al., 2021) of each
  explained item in the top n. Necessity: zero the supporting neighbours' similarity
  coefficients and renormalise over the others; does the item leave the top n? Sufficiency:
  keep only the supporters' coefficients, renormalised; does the item stay? As a baseline for
  necessity, the same number of random non-supporting neighbours is removed instead.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from attnrec.explain.delta_rule import DEFAULT_DELTA, Deltas, apply_delta_rule
from attnrec.faithfulness.measures import candidate_probs
from attnrec.faithfulness.protocol import (
    AttentionModel,
    Forward,
    candidate_mask,
    normalise_rows,
)

logger = logging.getLogger(__name__)


def explanation_test(
    model: AttentionModel,
    users: Sequence[int] | np.ndarray,
    n: int = 10,
    delta: float = DEFAULT_DELTA,
    seed: int = 0,
) -> pd.DataFrame:
    """The explanation metrics of each user.

    Returns:
        One row per user: ``mep``, ``mer``, ``n_explainable`` (all explainable candidates),
        ``fidelity_attention``, ``fidelity_cosine``, ``n_explained_top`` (explained items in the
        top n), ``pn``, ``ps``, ``pn_random`` (NaN when the top n has no explained item).
    """
    deltas = Deltas.resolve(delta, score=0.0)
    rng = np.random.default_rng(seed)
    users = np.asarray(users, dtype=np.int64)
    rows = []
    bar = tqdm(users, desc="explanations", leave=False, disable=not sys.stderr.isatty())
    for user in bar:
        rows.append(_user_metrics(model, int(user), n, deltas, rng))
    return pd.DataFrame(rows)


def _user_metrics(
    model: AttentionModel, user: int, n: int, deltas: Deltas, rng: np.random.Generator
) -> dict[str, float]:
    """Every metric of one user."""
    with torch.no_grad():
        users = np.array([user])
        enc = model.encode(users)
        base = model.forward(enc)
        candidates = candidate_mask(model, users).to(base.logits.device)
        probs = candidate_probs(base.logits, candidates)
    scores = probs[0].cpu().numpy().astype(float)
    alpha = base.sim_attention[0].cpu().numpy().astype(float)
    index = model.neighbours.index[user]
    cosine = model.neighbours.similarity[user]
    rated = model.profiles[user].indices
    allowed = candidates[0].cpu().numpy()

    # explainable candidates (delta-rule without the score threshold) and the model's top n
    explained = apply_delta_rule(
        scores, rated, index, cosine, alpha, model.ratings, model.rating_max, len(scores), deltas
    )
    supporters = {c.item: [s.neighbour for s in c.supporters] for c in explained}
    top = _top_n(scores, allowed, n)
    hits = [item for item in top if item in supporters]
    row: dict[str, float] = {
        "user": user,
        "mep": len(hits) / n,
        "mer": len(hits) / len(supporters) if supporters else np.nan,
        "n_explainable": len(supporters),
        "n_explained_top": len(hits),
    }

    # fidelity: the explanation's own ranking against the model's
    for name, weights in (("attention", alpha), ("cosine", cosine)):
        surrogate = _neighbour_vote(model, index, weights)
        row[f"fidelity_{name}"] = len(set(top) & set(_top_n(surrogate, allowed, n))) / n

    # necessity and sufficiency of the supporters of each explained item in the top n
    row.update(_necessity_sufficiency(model, user, enc.sim_mask, base, hits, supporters, n, rng))
    return row


def _top_n(scores: np.ndarray, allowed: np.ndarray, n: int) -> list[int]:
    """The n best allowed items by score (ties: smaller index first)."""
    items = np.flatnonzero(allowed)
    return items[np.argsort(-scores[items], kind="stable")][:n].tolist()


def _neighbour_vote(model: AttentionModel, index: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(n_items,) sum over real neighbours v of weight(v) r(v, j) / r_max."""
    valid = index >= 0
    w = np.asarray(weights, dtype=float)[valid]
    w = w / max(w.sum(), 1e-30)
    block = model.ratings[index[valid]]
    return np.asarray(block.T @ w).ravel() / model.rating_max


def _necessity_sufficiency(
    model: AttentionModel,
    user: int,
    sim_mask: torch.Tensor,
    base: Forward,
    hits: list[int],
    supporters: dict[int, list[int]],
    n: int,
    rng: np.random.Generator,
) -> dict[str, float]:
    """PN, PS and the random-removal baseline of PN for one user's explained top-n items."""
    if not hits:
        return {"pn": np.nan, "ps": np.nan, "pn_random": np.nan}
    alpha = base.sim_attention
    slots_of = {int(v): s for s, v in enumerate(model.neighbours.index[user]) if v >= 0}
    valid = sim_mask[0].cpu().numpy()

    # three attention masks per explained item: without supporters, supporters only, random
    masks, random_ok = [], []
    for item in hits:
        chosen = np.zeros(len(valid), dtype=bool)
        chosen[[slots_of[v] for v in supporters[item]]] = True
        others = np.flatnonzero(valid & ~chosen)
        removed = np.zeros(len(valid), dtype=bool)
        random_ok.append(len(others) >= chosen.sum())
        if random_ok[-1]:
            removed[rng.choice(others, int(chosen.sum()), replace=False)] = True
        masks += [valid & ~chosen, chosen, valid & ~removed]
    mask = torch.as_tensor(np.stack(masks), device=alpha.device)
    replaced = normalise_rows(alpha.expand(len(masks), -1), mask)

    # ranks of each item among the user's candidates after each intervention
    with torch.no_grad():
        repeated = model.encode(np.full(len(masks), user))
        candidates = candidate_mask(model, np.array([user])).to(alpha.device)
        probs = candidate_probs(
            model.forward(repeated, sim_attention=replaced).logits,
            candidates.expand(len(masks), -1),
        )
    items = torch.as_tensor(np.repeat(hits, 3), device=probs.device)
    own = probs[torch.arange(len(masks)), items]
    ranks = ((probs > own.unsqueeze(-1)) & candidates).sum(dim=-1) + 1
    in_top = (ranks <= n).cpu().numpy().reshape(len(hits), 3)
    random_ok_arr = np.array(random_ok)
    return {
        "pn": float(np.mean(~in_top[:, 0])),
        "ps": float(np.mean(in_top[:, 1])),
        "pn_random": float(np.mean(~in_top[random_ok_arr, 2])) if random_ok_arr.any() else np.nan,
    }
