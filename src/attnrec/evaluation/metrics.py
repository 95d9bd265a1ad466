"""Top-k ranking metrics with binary relevance, tie-aware, kept per user.

Metrics at each cut-off k (``name@k``):

* ``precision``: relevant items in the top k, over k.
* ``recall``: relevant items in the top k, over the number of relevant items |R| (not capped).
* ``capped_recall``: relevant items in the top k, over min(k, |R|) (a separate metric).
* ``ndcg``: DCG with binary gain and discount 1/log2(rank + 1), over the ideal DCG of
  min(k, |R|) relevant items (the ideal DCG is truncated at k).
* ``hit_rate``: 1 when at least one relevant item is in the top k.
* ``mrr``: reciprocal rank of the first relevant item when it is in the top k, else 0.
* ``coverage``: share of the catalogue that appears in at least one user's top k (over users).

Tie rule: items with equal scores form a tie group, and a metric is the expected value over all
orders of every tie group (McSherry and Najork, ECIR 2008). Each position of a group holding r
relevant items among g counts r/g of a relevant item; hit rate and MRR use the exact
hypergeometric probabilities. So a constant scorer gets exactly the metric of a uniformly random
ranking, whatever the order of the input, and scores without ties give the ordinary metric.
Coverage needs actual lists: there, ties are broken by a seeded random permutation.

A ranking may also be an explicit list shorter than k (e.g. only explainable items): the empty
slots count as non-relevant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from attnrec.errors import ConfigError, DataError

METRICS: tuple[str, ...] = ("precision", "recall", "capped_recall", "ndcg", "hit_rate", "mrr")


@dataclass
class Ranking:
    """One user's ranking as consecutive tie groups, best first, down to at least depth k.

    Attributes:
        sizes: (G,) items in each tie group.
        relevant: (G,) relevant items in each tie group.
        top: (<= depth,) item indices of the best items, ties broken at random (for coverage).
    """

    sizes: np.ndarray
    relevant: np.ndarray
    top: np.ndarray


def check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    """Sorted distinct cut-offs; each must be a positive integer."""
    if not ks:
        raise ConfigError("no cut-off k given; pass at least one, e.g. 10")
    for k in ks:
        if int(k) != k or k < 1:
            raise ConfigError(f"cut-off k={k!r} must be a positive integer")
    return tuple(sorted({int(k) for k in ks}))


def rank_scores(
    scores: np.ndarray,
    excluded: np.ndarray,
    relevant: np.ndarray,
    depth: int,
    rng: np.random.Generator,
) -> Ranking:
    """Tie groups of one user's candidates (every item not in ``excluded``) down to ``depth``.

    Args:
        scores: (n_items,) scores; higher is better.
        excluded: item indices never ranked (the user's training items).
        relevant: item indices of the user's relevant test items.
        depth: the largest cut-off k.
        rng: breaks ties of the ``top`` list (coverage only).
    """
    # candidate items and their scores
    candidate = np.ones(len(scores), dtype=bool)
    candidate[excluded] = False
    items = np.flatnonzero(candidate)
    values = np.asarray(scores, dtype=np.float64)[items]
    if np.isnan(values).any():
        raise DataError("scores contain NaN; a model must give every candidate item a number")
    if len(items) == 0:
        return Ranking(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    depth = min(depth, len(items))

    # the depth-th best score: items above it, and every item tied with it
    threshold = np.partition(values, len(values) - depth)[len(values) - depth]
    above = values > threshold
    above_items, above_values = items[above], values[above]
    tied_items = items[values == threshold]
    is_relevant_above = np.isin(above_items, relevant)

    # the items above as tie groups, best first, then the boundary group
    unique, inverse, counts = np.unique(-above_values, return_inverse=True, return_counts=True)
    group_relevant = np.bincount(inverse, weights=is_relevant_above, minlength=len(unique))
    sizes = np.append(counts, len(tied_items)).astype(np.int64)
    rel = np.append(group_relevant, np.isin(tied_items, relevant).sum()).astype(np.int64)

    # explicit top list: ties in random order
    order = np.lexsort((rng.random(len(above_items)), -above_values))
    fill = rng.choice(tied_items, depth - len(above_items), replace=False)
    return Ranking(sizes, rel, np.concatenate([above_items[order], fill]).astype(np.int64))


def rank_list(items: np.ndarray, relevant: np.ndarray) -> Ranking:
    """An explicit ranked list (no ties, possibly shorter than k) as a Ranking."""
    items = np.asarray(items, dtype=np.int64)
    return Ranking(np.ones(len(items), np.int64), np.isin(items, relevant).astype(np.int64), items)


def user_metrics(ranking: Ranking, n_relevant: int, ks: Sequence[int]) -> dict[str, float]:
    """Expected metrics of one ranking at each k, keys ``name@k`` (see the module docstring).

    Raises:
        DataError: ``n_relevant`` is 0 (such users are skipped by the protocol, not scored).
    """
    if n_relevant < 1:
        raise DataError("a user without relevant test items has no metric; skip the user")
    ks = check_ks(ks)
    depth = ks[-1]
    sizes, rel = ranking.sizes, ranking.relevant
    starts = np.cumsum(sizes) - sizes

    # probability that each position 0..depth-1 holds a relevant item
    shown = np.clip(np.minimum(starts + sizes, depth) - starts, 0, None)
    share = np.divide(rel, sizes, out=np.zeros(len(sizes)), where=sizes > 0)
    p = np.zeros(depth)
    filled = np.repeat(share, shown)[:depth]
    p[: len(filled)] = filled
    discounts = 1.0 / np.log2(np.arange(2, depth + 2))

    out: dict[str, float] = {}
    for k in ks:
        hits = float(p[:k].sum())
        ideal = float(discounts[: min(n_relevant, k)].sum())
        out[f"precision@{k}"] = hits / k
        out[f"recall@{k}"] = hits / n_relevant
        out[f"capped_recall@{k}"] = hits / min(k, n_relevant)
        out[f"ndcg@{k}"] = float((p[:k] * discounts[:k]).sum()) / ideal
        out[f"hit_rate@{k}"] = _hit_probability(sizes, rel, starts, k)
        out[f"mrr@{k}"] = _expected_reciprocal_rank(sizes, rel, starts, k)
    return out


def coverage(tops: Sequence[np.ndarray], n_items: int, ks: Sequence[int]) -> dict[str, float]:
    """Share of the ``n_items`` catalogue in at least one top-k list, keys ``coverage@k``."""
    if n_items < 1:
        raise DataError("the catalogue is empty; coverage needs at least one item")
    out = {}
    for k in check_ks(ks):
        seen = np.zeros(n_items, dtype=bool)
        for top in tops:
            seen[top[:k]] = True
        out[f"coverage@{k}"] = float(seen.mean())
    return out


def relevant_items(test: sp.csr_matrix, row: int, threshold: float) -> np.ndarray:
    """Item indices of one user's test ratings at or above the relevance threshold."""
    start, stop = test.indptr[row], test.indptr[row + 1]
    return test.indices[start:stop][test.data[start:stop] >= threshold]


# ------------------------------------------------------------------------------------ helpers


def _none_drawn(size: int, n_relevant: int, drawn: int) -> float:
    """Probability that ``drawn`` items taken at random from a group of ``size`` holding
    ``n_relevant`` relevant ones include no relevant item (hypergeometric)."""
    if n_relevant == 0:
        return 1.0
    if drawn > size - n_relevant:
        return 0.0
    i = np.arange(drawn)
    return float(np.prod((size - n_relevant - i) / (size - i)))


def _hit_probability(sizes: np.ndarray, rel: np.ndarray, starts: np.ndarray, k: int) -> float:
    """P(at least one relevant item in the top k) over the orders of the tie groups."""
    inside = starts < k
    whole = inside & (starts + sizes <= k)
    if (rel[whole] > 0).any():
        return 1.0
    partial = np.flatnonzero(inside & ~whole)
    if len(partial) == 0:
        return 0.0
    g = int(partial[0])
    return 1.0 - _none_drawn(int(sizes[g]), int(rel[g]), int(k - starts[g]))


def _expected_reciprocal_rank(
    sizes: np.ndarray, rel: np.ndarray, starts: np.ndarray, k: int
) -> float:
    """E[1 / rank of the first relevant item], 0 when it falls beyond k."""
    holding = np.flatnonzero(rel > 0)
    if len(holding) == 0 or starts[holding[0]] >= k:
        return 0.0
    g = int(holding[0])
    size, r, start = int(sizes[g]), int(rel[g]), int(starts[g])
    offsets = np.arange(min(size, k - start))
    # P(first relevant at offset j) = prod_{i<j} (size-r-i)/(size-i) x r/(size-j)
    before = np.concatenate([[1.0], np.cumprod((size - r - offsets) / (size - offsets))[:-1]])
    first_at = before * r / (size - offsets)
    return float((first_at / (start + offsets + 1)).sum())
