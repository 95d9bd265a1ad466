"""Do the coefficients agree with other importance measures? (Jain and Wallace, 2019, sec. 3)

For each user, the recommendation coefficients alpha_rec over N(u) are ranked against:

- leave-one-out importance: remove one rated item from the input profile and measure how much
  the score of the user's top item changes (absolute change) and the TVD of y^;
- gradient x input importance: |w_e * d log y^_top / d w_e| for the input edge weights w_e
  (the L2-normalised ratings that build h(u, 0)), by torch.autograd.

The similarity coefficients have no input to remove one by one that leaves the rest of the
network as it is, so their leave-one-out importance is an attention ablation: zero one
neighbour's coefficient, renormalise over the others, and measure the same two changes.

Agreement is Kendall tau-b per user (NaN where undefined); the per-edge values feed the scatter
of attention against leave-one-out importance.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from attnrec.faithfulness.measures import candidate_probs, tau_or_nan, tvd
from attnrec.faithfulness.protocol import (
    AttentionModel,
    candidate_mask,
    normalise_rows,
    profile_rows,
)

logger = logging.getLogger(__name__)

#: most input edges in one leave-one-out forward pass
MAX_EDGES = 200_000


def agreement_test(
    model: AttentionModel,
    users: Sequence[int] | np.ndarray,
    max_items: int | None = 50,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kendall tau between each family's coefficients and the other importance measures.

    Args:
        model: the model under test.
        users: user indices.
        max_items: leave-one-out removes at most this many rated items per user, a seeded
            random subset (tau over a random subset estimates tau over all); None: all.
        seed: seed of those subsets.

    Returns:
        (per-user frame, per-element frame). Per user: ``tau_loo_score``, ``tau_loo_tvd``,
        ``tau_grad_input`` (recommendation family), ``tau_sim_loo_score``, ``tau_sim_loo_tvd``
        (similarity family) and ``top_match_loo`` (1 when, among the items removed, the most
        attended is also the one whose removal moves y^ most by TVD). Per element: ``user``,
        ``family``, ``position``, ``attention``, ``loo_score``, ``loo_tvd`` (NaN where not
        removed), ``grad_input`` (NaN for the similarity family).
    """
    users = np.asarray(users, dtype=np.int64)
    rng = np.random.default_rng(seed)
    grads = gradient_input(model, users)
    rows, elements = [], []
    bar = tqdm(users, desc="agreement", leave=False, disable=not sys.stderr.isatty())
    for position, user in enumerate(bar):
        rec = _recommendation_loo(model, int(user), max_items, rng)
        rec["grad_input"] = grads[position]
        sim = _similarity_loo(model, int(user))
        removed = np.isfinite(rec["loo_tvd"])
        rows.append(
            {
                "user": int(user),
                "tau_loo_score": tau_or_nan(rec["attention"][removed], rec["loo_score"][removed]),
                "tau_loo_tvd": tau_or_nan(rec["attention"][removed], rec["loo_tvd"][removed]),
                "tau_grad_input": tau_or_nan(rec["attention"], rec["grad_input"]),
                "tau_sim_loo_score": tau_or_nan(sim["attention"], sim["loo_score"]),
                "tau_sim_loo_tvd": tau_or_nan(sim["attention"], sim["loo_tvd"]),
                "top_match_loo": _top_match(rec["attention"][removed], rec["loo_tvd"][removed]),
            }
        )
        elements.append(pd.DataFrame({"user": int(user), "family": "recommendation", **rec}))
        elements.append(pd.DataFrame({"user": int(user), "family": "similarity", **sim}))
    per_element = pd.concat(elements, ignore_index=True)
    per_element.insert(2, "position", per_element.groupby(["user", "family"]).cumcount())
    return pd.DataFrame(rows), per_element


def _top_match(attention: np.ndarray, importance: np.ndarray) -> float:
    """1.0 when the most attended element is also the most important one; NaN below 2."""
    if len(attention) < 2:
        return float("nan")
    return float(np.argmax(attention) == np.argmax(importance))


def _recommendation_loo(
    model: AttentionModel, user: int, max_items: int | None, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """alpha_rec of one user and the effect on y^ of removing rated items one at a time."""
    with torch.no_grad():
        users = np.array([user])
        enc = model.encode(users)
        base = model.forward(enc)
        candidates = candidate_mask(model, users).to(base.logits.device)
        original = candidate_probs(base.logits, candidates)
        top = int(original[0].argmax())
        attention = base.rec_attention.cpu().numpy().astype(float)
        n_rated = len(attention)

        # one profile per removed item, in chunks of at most MAX_EDGES edges
        everything = np.arange(n_rated)
        removed = everything
        if max_items is not None and n_rated > max_items:
            removed = np.sort(rng.choice(n_rated, max_items, replace=False))
        keep = [np.delete(everything, i) for i in removed]
        per_chunk = max(1, MAX_EDGES // max(1, n_rated))
        score, moved = [], []
        for start in range(0, len(keep), per_chunk):
            chunk = keep[start : start + per_chunk]
            edited = model.encode(np.full(len(chunk), user), profile_rows(model, user, chunk))
            probs = candidate_probs(model.forward(edited).logits, candidates.expand(len(chunk), -1))
            score.append((probs[:, top] - original[0, top]).abs().cpu().numpy())
            moved.append(tvd(probs, original).cpu().numpy())
    loo_score, loo_tvd = np.full(n_rated, np.nan), np.full(n_rated, np.nan)
    loo_score[removed] = np.concatenate(score)
    loo_tvd[removed] = np.concatenate(moved)
    return {"attention": attention, "loo_score": loo_score, "loo_tvd": loo_tvd}


def _similarity_loo(model: AttentionModel, user: int) -> dict[str, np.ndarray]:
    """alpha_sim of one user and the effect on y^ of zeroing each neighbour's coefficient."""
    with torch.no_grad():
        users = np.array([user])
        enc = model.encode(users)
        base = model.forward(enc)
        candidates = candidate_mask(model, users).to(base.logits.device)
        original = candidate_probs(base.logits, candidates)
        top = int(original[0].argmax())
        slots = torch.nonzero(enc.sim_mask[0]).flatten()
        if len(slots) == 0:
            empty = np.zeros(0)
            return {"attention": empty, "loo_score": empty, "loo_tvd": empty}

        # one row per neighbour: its coefficient zeroed, the others renormalised
        n = len(slots)
        mask = enc.sim_mask.expand(n, -1).clone()
        mask[torch.arange(n), slots] = False
        alpha = normalise_rows(base.sim_attention.expand(n, -1), mask)
        repeated = model.encode(np.full(n, user))
        probs = candidate_probs(
            model.forward(repeated, sim_attention=alpha).logits, candidates.expand(n, -1)
        )
    return {
        "attention": base.sim_attention[0, slots].cpu().numpy().astype(float),
        "loo_score": (probs[:, top] - original[0, top]).abs().cpu().numpy().astype(float),
        "loo_tvd": tvd(probs, original).cpu().numpy().astype(float),
    }


def gradient_input(
    model: AttentionModel, users: np.ndarray, batch_size: int = 128
) -> list[np.ndarray]:
    """|w * d log y^_top / d w| per input edge of each user (top: the user's best candidate).

    Returns:
        One (|N(u)|,) array per user, in the order of the user's profile.
    """
    out: list[np.ndarray] = []
    for start in range(0, len(users), batch_size):
        part = users[start : start + batch_size]
        enc = model.encode(part)
        weight = enc.edge_weight.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            result = model.forward(enc, edge_weight=weight)
            candidates = candidate_mask(model, part).to(result.logits.device)
            log_probs = torch.log_softmax(
                result.logits.masked_fill(~candidates, float("-inf")), dim=-1
            )
            top = log_probs.detach().argmax(dim=-1)
            target = log_probs[torch.arange(len(part)), top].sum()
            (grad,) = torch.autograd.grad(target, [weight])
        importance = (grad * weight).abs().detach().cpu().numpy().astype(float)
        edge_user = enc.edge_user.cpu().numpy()
        bounds = np.searchsorted(edge_user, np.arange(len(part) + 1))
        out.extend(importance[bounds[i] : bounds[i + 1]] for i in range(len(part)))
    return out
