"""Distances between score distributions and rankings, used by the counterfactual tests."""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau


def total_variation(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """TVD = 1/2 sum |p - q| along the last axis; in [0, 1]."""
    return 0.5 * np.abs(p - q).sum(axis=-1)


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence in bits (log base 2) along the last axis; in [0, 1]."""
    m = 0.5 * (p + q)
    return 0.5 * (_kl(p, m) + _kl(q, m))


def _kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(p / q), 0.0)
    return terms.sum(axis=-1)


def top_k_overlap(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """|top-k(a) & top-k(b)| / k of two score vectors (ties: smaller index first)."""
    k = min(k, len(a))
    top_a = np.argsort(-a, kind="stable")[:k]
    top_b = np.argsort(-b, kind="stable")[:k]
    return len(np.intersect1d(top_a, top_b)) / k if k else 1.0


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall tau-b between the rankings two score vectors induce (1 when identical)."""
    if len(a) < 2:
        return 1.0
    tau = kendalltau(a, b).statistic
    return 1.0 if np.isnan(tau) else float(tau)
