"""The paper's delta-rule: recommend item j to user u only if a user v similar to u rated j highly.

The paper thresholds three quantities with one delta in [0, 1]: the score y^_j, the similarity
coefficient alpha_sim(u)[v] and v's rating of j. They live on different scales (alpha_sim sums
to 1 over hundreds of neighbours, so a raw threshold near 1 never passes), so each is first put
on [0, 1]:

- score: the item's percentile among u's candidate items (1 = u's best-scored candidate);
- attention: the neighbour's percentile among u's neighbours by alpha_sim (1 = most attended);
- rating: v's rating divided by the top of the rating scale (5/5 = 1, 4/5 = 0.8).

With the default delta 0.8 this reads: "an item in the top 20% of your scores that one of your
20% most attended neighbours rated at least 4 out of 5". Percentiles, rather than ratios to the
maximum, keep the share of qualifying neighbours and items stable whether a user's attention is
flat or peaked. Each quantity has its own override.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from attnrec.errors import ConfigError

DEFAULT_DELTA = 0.8


@dataclass(frozen=True)
class Deltas:
    """Thresholds on the three normalised quantities."""

    score: float = DEFAULT_DELTA
    attention: float = DEFAULT_DELTA
    rating: float = DEFAULT_DELTA

    @classmethod
    def resolve(
        cls,
        delta: float | None = None,
        score: float | None = None,
        attention: float | None = None,
        rating: float | None = None,
    ) -> Deltas:
        """One delta for all three, with a per-quantity override; each must lie in [0, 1]."""
        base = DEFAULT_DELTA if delta is None else delta
        values = {
            "delta_score": base if score is None else score,
            "delta_attention": base if attention is None else attention,
            "delta_rating": base if rating is None else rating,
        }
        for name, value in {"delta": base, **values}.items():
            if not 0.0 <= float(value) <= 1.0:
                raise ConfigError(f"{name}={value!r} is outside [0, 1]; choose a value in [0, 1]")
        return cls(values["delta_score"], values["delta_attention"], values["delta_rating"])


@dataclass
class Support:
    """A neighbour v that supports item j: alpha_sim(u)[v] and v's rating of j pass delta."""

    neighbour: int
    rating: float
    attention: float
    cosine: float


@dataclass
class Candidate:
    """One recommended item (indices), with its supporters, best first."""

    item: int
    score: float
    rank: int
    supporters: list[Support]

    @property
    def explainable(self) -> bool:
        return bool(self.supporters)


def percentile(values: np.ndarray) -> np.ndarray:
    """Share of the other values strictly below each value: the maximum gets 1, the minimum 0
    (a single value gets 1). Tied values share the same percentile."""
    if len(values) <= 1:
        return np.ones(len(values))
    below = np.searchsorted(np.sort(values), values, side="left")
    return below / (len(values) - 1)


def apply_delta_rule(
    scores: np.ndarray,
    rated: np.ndarray,
    neighbour_index: np.ndarray,
    neighbour_cosine: np.ndarray,
    neighbour_attention: np.ndarray,
    ratings: sp.csr_matrix,
    rating_max: float,
    n: int,
    deltas: Deltas,
    fallback: bool = False,
) -> list[Candidate]:
    """Top-n explainable items of one user.

    Args:
        scores: (n_items,) y^ of the user.
        rated: item indices the user already rated (never recommended).
        neighbour_index: (K,) neighbour user indices, -1 on padding.
        neighbour_cosine: (K,) cosine similarity of each neighbour.
        neighbour_attention: (K,) alpha_sim of each neighbour.
        ratings: (users, items) raw ratings of the neighbours' data set.
        rating_max: top of the rating scale.
        n: number of items wanted.
        deltas: thresholds on the normalised quantities.
        fallback: fill up to n with the best unexplained items, flagged as such.

    Returns:
        Up to n candidates, explainable ones first by score, then fallbacks by score.
    """
    # candidates are the items u has not rated, ranked by score (ties: smaller index first)
    candidate = np.ones(len(scores), dtype=bool)
    candidate[rated] = False
    order = np.flatnonzero(candidate)
    order = order[np.argsort(-scores[order], kind="stable")]
    rank = np.zeros(len(scores), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    score_pct = np.full(len(scores), -1.0)
    score_pct[order] = percentile(scores[order])

    # neighbours whose attention percentile passes, most attended first
    valid = neighbour_index >= 0
    att_pct = np.zeros(len(neighbour_index))
    att_pct[valid] = percentile(neighbour_attention[valid])
    qualifying = np.flatnonzero(valid & (att_pct >= deltas.attention))
    qualifying = qualifying[np.argsort(-neighbour_attention[qualifying], kind="stable")]

    # every (item, supporter) pair: a qualifying neighbour rated a passing item highly enough
    rows = ratings[neighbour_index[qualifying]]
    slot = np.repeat(qualifying, np.diff(rows.indptr))
    item, rating = rows.indices, rows.data
    keep = candidate[item] & (rating / rating_max >= deltas.rating)
    keep &= score_pct[item] >= deltas.score
    slot, item, rating = slot[keep], item[keep], rating[keep]

    # the top n passing items by score, then flagged fallbacks if asked
    supported = np.zeros(len(scores), dtype=bool)
    supported[item] = True
    chosen_items = order[supported[order]][:n]
    chosen = [
        Candidate(int(j), float(scores[j]), int(rank[j]), _supporters(j, slot, item, rating,
                  neighbour_index, neighbour_attention, neighbour_cosine))
        for j in chosen_items
    ]  # fmt: skip
    if fallback and len(chosen) < n:
        extra = order[~supported[order]][: n - len(chosen)]
        chosen += [Candidate(int(j), float(scores[j]), int(rank[j]), []) for j in extra]
    return chosen


def _supporters(
    target: int,
    slot: np.ndarray,
    item: np.ndarray,
    rating: np.ndarray,
    neighbour_index: np.ndarray,
    neighbour_attention: np.ndarray,
    neighbour_cosine: np.ndarray,
) -> list[Support]:
    """The supporters of one item, in the order of ``slot`` (most attended first)."""
    at = np.flatnonzero(item == target)
    return [
        Support(
            int(neighbour_index[slot[a]]),
            float(rating[a]),
            float(neighbour_attention[slot[a]]),
            float(neighbour_cosine[slot[a]]),
        )
        for a in at
    ]


def top_n_unconstrained(scores: np.ndarray, rated: np.ndarray, n: int) -> list[Candidate]:
    """Top-n unrated items by score, without the delta-rule (no supporters attached)."""
    candidates = np.setdiff1d(np.arange(len(scores)), rated)
    order = candidates[np.argsort(-scores[candidates], kind="stable")][:n]
    return [Candidate(int(i), float(scores[i]), r, []) for r, i in enumerate(order, start=1)]
