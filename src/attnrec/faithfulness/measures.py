"""Batched, differentiable versions of the distances of ``attnrec.explain.measures``.

The explain module compares one pair of numpy vectors; the suite compares thousands of pairs
of y^ at once and needs gradients for the adversarial search, so the same definitions are
restated here for (B, n) torch tensors. Distances are in bits, as in the explain module, and
y^ is always compared over the user's candidate (unrated) items, renormalised.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from attnrec.explain.measures import kendall_tau
from attnrec.faithfulness.protocol import group_sum

#: smallest probability used inside logarithms
EPS = 1e-12


def candidate_probs(logits: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """(B, n) y^ renormalised over each row's candidate items (0 elsewhere).

    Args:
        logits: (B, n) scores.
        candidates: (B, n) bool, True on the items the user has not rated.
    """
    masked = logits.masked_fill(~candidates, float("-inf"))
    return torch.softmax(masked, dim=-1)


def tvd(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Total variation distance 1/2 sum |p - q| along the last axis; in [0, 1]."""
    return 0.5 * (p - q).abs().sum(dim=-1)


def jsd(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence in bits along the last axis; in [0, 1]."""
    m = 0.5 * (p + q)
    return 0.5 * (_kl(p, m) + _kl(q, m))


def _kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    ratio = torch.log(p.clamp(min=EPS)) - torch.log(q.clamp(min=EPS))
    return torch.where(p > 0, p * ratio, torch.zeros_like(p)).sum(dim=-1) / math.log(2.0)


def group_jsd(
    p: torch.Tensor, q: torch.Tensor, groups: torch.Tensor, n_groups: int
) -> torch.Tensor:
    """(G,) JSD in bits between two (E,) distributions that each sum to 1 within a group."""
    m = 0.5 * (p + q)
    terms = 0.5 * (_pointwise_kl(p, m) + _pointwise_kl(q, m))
    return group_sum(terms, groups, n_groups) / math.log(2.0)


def _pointwise_kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    ratio = torch.log(p.clamp(min=EPS)) - torch.log(q.clamp(min=EPS))
    return torch.where(p > 0, p * ratio, torch.zeros_like(p))


def top_k_overlap(p: torch.Tensor, q: torch.Tensor, k: int = 10) -> torch.Tensor:
    """(B,) |top-k(p) & top-k(q)| / k of each row pair."""
    k = min(k, p.shape[-1])
    top_p = torch.topk(p, k, dim=-1).indices
    top_q = torch.topk(q, k, dim=-1).indices
    common = (top_p.unsqueeze(-1) == top_q.unsqueeze(-2)).any(dim=-1).sum(dim=-1)
    return common.to(torch.float64) / k


def top1_changed(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """(B,) 1.0 where the argmax of the two rows differs."""
    return (p.argmax(dim=-1) != q.argmax(dim=-1)).to(torch.float64)


def output_change(p: torch.Tensor, q: torch.Tensor) -> dict[str, np.ndarray]:
    """The four output measures of the suite between (B, n) y^ before (p) and after (q)."""
    return {
        "tvd": tvd(p, q).double().cpu().numpy(),
        "jsd": jsd(p, q).double().cpu().numpy(),
        "top10_overlap": top_k_overlap(p, q, 10).cpu().numpy(),
        "top1_changed": top1_changed(p, q).cpu().numpy(),
    }


def tau_or_nan(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall tau-b of two importance vectors; NaN when it is undefined (fewer than two
    values, or either vector constant), where ``explain.measures.kendall_tau`` returns 1."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return kendall_tau(a, b)
