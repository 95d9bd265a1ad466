"""Seeded synthetic rating data with MovieLens's shape, of any size, never densified.

The generator draws, for a given number of users, items and ratings:

- how many ratings each user gives: a power law (Pareto tail above a floor of 20, MovieLens's
  minimum), scaled so that the counts add up to exactly the requested number of ratings;
- which items a user rates: successive sampling without replacement from a Zipf popularity
  law over a seeded permutation of the items (popular items are rated by about half the users,
  as in MovieLens);
- the rating values: a latent score (user bias + item bias + a low-rank taste term + noise)
  cut at global quantiles so that the shares of 1..5 stars match ML-100K's.

Everything is built user chunk by user chunk as int32 item indices and float32 ratings; memory is
O(ratings), never O(users x items). The same seed gives the same data whatever the chunk size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from attnrec.data.dataset import IdMap, RatingDataset
from attnrec.errors import ConfigError

logger = logging.getLogger(__name__)

#: shares of the ratings 1, 2, 3, 4, 5 in ML-100K (6.1%, 11.4%, 27.1%, 34.2%, 21.2%)
MOVIELENS_SHARES: tuple[float, ...] = (0.0611, 0.1137, 0.2715, 0.3417, 0.2120)

#: users per generation chunk (memory: a few times chunk x mean activity draws)
CHUNK_USERS = 8192


@dataclass(frozen=True)
class Shape:
    """Size of a rating data set."""

    n_users: int
    n_items: int
    n_ratings: int


#: named shapes of the MovieLens releases
PRESETS: dict[str, Shape] = {
    "ml-100k": Shape(943, 1682, 100_000),
    "ml-1m": Shape(6040, 3706, 1_000_209),
    "ml-20m": Shape(138_493, 26_744, 20_000_263),
}


@dataclass(frozen=True)
class SyntheticConfig:
    """Knobs of the generator; the defaults give MovieLens-like skew."""

    min_per_user: int = 20
    """Floor of a user's number of ratings (lowered when the data cannot afford it)."""
    activity_exponent: float = 2.0
    """Pareto shape of user activity above the floor; smaller is more skewed."""
    popularity_exponent: float = 1.0
    """Zipf exponent a of item popularity, weight of rank r is (r + offset) ** -a."""
    popularity_offset: float = 20.0
    max_share: float = 0.4
    """Most a user rates, as a share of the items (ML-100K: 44%, ML-20M: 35%); raised when the
    requested number of ratings needs it."""
    """Zipf offset; larger flattens the head (the top items' share)."""
    n_factors: int = 8
    """Rank of the taste term in the latent rating score."""
    noise: float = 0.7
    """Standard deviation of the rating noise, against unit-variance biases."""


def preset(name: str) -> Shape:
    """The shape of a named MovieLens release ("ml-100k", "ml-1m", "ml-20m")."""
    if name not in PRESETS:
        raise ConfigError(f"unknown synthetic shape {name!r}; use one of {', '.join(PRESETS)}")
    return PRESETS[name]


def generate(
    n_users: int,
    n_items: int,
    n_ratings: int,
    seed: int = 0,
    config: SyntheticConfig | None = None,
) -> RatingDataset:
    """Synthetic ratings of ``n_users`` users on ``n_items`` items, exactly ``n_ratings`` of them.

    Args:
        n_users: number of users (each rates at least one item).
        n_items: number of items (some tail items may end up unrated).
        n_ratings: exact number of (user, item) ratings; at most n_users x n_items.
        seed: seed of every draw.
        config: the generator's knobs.

    Returns:
        A RatingDataset on the 1-5 scale with raw ids 1..n_users and 1..n_items, ratings as a
        float32 CSR matrix with int32 indices, named ``synthetic-<users>x<items>``.
    """
    config = config or SyntheticConfig()
    _check_shape(n_users, n_items, n_ratings)
    root = np.random.SeedSequence(seed)
    shape_seed, popularity_seed, bias_seed, chunk_seed = root.spawn(4)

    # user activity: power-law counts summing exactly to n_ratings, each within 1..n_items
    counts = user_counts(n_users, n_items, n_ratings, config, np.random.default_rng(shape_seed))

    # item popularity: Zipf weights over a random ranking of the items; item biases and factors
    rng = np.random.default_rng(popularity_seed)
    weights = np.empty(n_items)
    ranks = np.arange(1, n_items + 1, dtype=np.float64)
    weights[rng.permutation(n_items)] = (
        ranks + config.popularity_offset
    ) ** -config.popularity_exponent
    weights /= weights.sum()
    rng = np.random.default_rng(bias_seed)
    item_bias = rng.standard_normal(n_items).astype(np.float32)
    item_factors = rng.standard_normal((n_items, config.n_factors)).astype(np.float32)

    # rated items and latent scores, chunk by chunk of users
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.empty(n_ratings, dtype=np.int32)
    scores = np.empty(n_ratings, dtype=np.float32)
    # one seed per chunk of CHUNK_USERS users
    starts = range(0, n_users, CHUNK_USERS)
    for start, chunk_seq in zip(starts, chunk_seed.spawn(len(starts)), strict=True):
        stop = min(start + CHUNK_USERS, n_users)
        rng = np.random.default_rng(chunk_seq)
        items, chunk_scores = _chunk(
            counts[start:stop], weights, item_bias, item_factors, config, rng
        )
        indices[indptr[start] : indptr[stop]] = items
        scores[indptr[start] : indptr[stop]] = chunk_scores

    # ratings: cut the latent scores at global quantiles matching MovieLens's star shares
    ratings = stars_from_scores(scores, MOVIELENS_SHARES)
    del scores
    matrix = sp.csr_matrix((ratings, indices, indptr), shape=(n_users, n_items))
    logger.debug("synthetic data: %d users, %d items, %d ratings", n_users, n_items, n_ratings)
    return RatingDataset(
        users=IdMap(list(range(1, n_users + 1))),
        items=IdMap(list(range(1, n_items + 1))),
        ratings=matrix,
        rating_scale=(1.0, 5.0),
        name=f"synthetic-{n_users}x{n_items}",
    )


def generate_preset(
    name: str, seed: int = 0, config: SyntheticConfig | None = None
) -> RatingDataset:
    """Synthetic data of a named shape ("ml-100k", "ml-1m", "ml-20m")."""
    shape = preset(name)
    dataset = generate(shape.n_users, shape.n_items, shape.n_ratings, seed=seed, config=config)
    dataset.name = f"synthetic-{name}"
    return dataset


def user_counts(
    n_users: int,
    n_items: int,
    n_ratings: int,
    config: SyntheticConfig,
    rng: np.random.Generator,
) -> np.ndarray:
    """Per-user number of ratings: floor + scaled Pareto tail, summing exactly to n_ratings.

    Returns:
        (n_users,) int64 counts, each in [1, n_items].
    """
    floor = max(1, min(config.min_per_user, n_ratings // n_users))
    tail = rng.pareto(config.activity_exponent, n_users)
    budget = n_ratings - floor * n_users
    cap = max(floor, min(n_items, int(config.max_share * n_items)))
    if cap * n_users < n_ratings:
        cap = n_items

    # scale the tail so that the clipped, rounded counts add up to the budget (bisection)
    def total(scale: float) -> int:
        return int(np.minimum(np.floor(tail * scale), cap - floor).sum())

    low, high = 0.0, 1.0
    while total(high) < budget and high < 1e15:
        high *= 2.0
    for _ in range(200):
        middle = (low + high) / 2
        if total(middle) <= budget:
            low = middle
        else:
            high = middle
    counts = floor + np.minimum(np.floor(tail * low), cap - floor).astype(np.int64)

    # the rounding residual: one more rating to users with room, most active (largest tail) first
    residual = n_ratings - int(counts.sum())
    while residual > 0:
        room = np.flatnonzero(counts < cap)
        room = room[np.argsort(-tail[room], kind="stable")][:residual]
        counts[room] += 1
        residual -= len(room)
    return counts


def stars_from_scores(scores: np.ndarray, shares: tuple[float, ...]) -> np.ndarray:
    """Ratings 1..len(shares) by cutting ``scores`` at the quantiles of the cumulative shares.

    Returns:
        float32 ratings aligned with ``scores``; ties at a cut all fall on the higher side.
    """
    cuts = np.quantile(scores, np.cumsum(shares)[:-1])
    return (np.searchsorted(cuts, scores, side="right") + 1).astype(np.float32)


def _check_shape(n_users: int, n_items: int, n_ratings: int) -> None:
    """Reject a shape the generator cannot fill."""
    if n_users < 1 or n_items < 1:
        raise ConfigError(
            f"synthetic data needs users >= 1 and items >= 1, got {n_users}, {n_items}"
        )
    if not n_users <= n_ratings <= n_users * n_items:
        raise ConfigError(
            f"ratings={n_ratings:,} must be between users ({n_users:,}) and users x items "
            f"({n_users * n_items:,}): every user rates at least one item, each at most once"
        )
    if n_ratings >= 2**31:
        raise ConfigError(f"ratings={n_ratings:,} exceeds int32 indexing; use fewer than 2**31")


def _chunk(
    counts: np.ndarray,
    weights: np.ndarray,
    item_bias: np.ndarray,
    item_factors: np.ndarray,
    config: SyntheticConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Items (int32) and latent scores (float32) of a chunk of users with these counts."""
    n_users = len(counts)

    # items: without replacement by popularity, ascending within each user
    items = _sample_items(counts, weights, rng)

    # latent score: user bias + item bias + taste (low rank) + noise
    users = np.repeat(np.arange(n_users), counts)
    user_bias = rng.standard_normal(n_users).astype(np.float32)
    user_factors = rng.standard_normal((n_users, config.n_factors)).astype(np.float32)
    taste = np.einsum("ef,ef->e", user_factors[users], item_factors[items])
    taste /= np.float32(np.sqrt(config.n_factors))
    noise = rng.standard_normal(len(items)).astype(np.float32) * np.float32(config.noise)
    scores = user_bias[users] + item_bias[items] + taste + noise
    return items.astype(np.int32), scores.astype(np.float32)


def _sample_items(counts: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Distinct items per user, drawn by popularity without replacement, sorted per user.

    Light users (the vast majority) take rounds of draws with replacement whose first distinct
    occurrences are kept (successive sampling); a user asking for a large share of the items gets
    an exact Efraimidis-Spirakis (Gumbel top-k) sample over all items instead.

    Returns:
        (counts.sum(),) int64 items, grouped by user in order, ascending within a user.
    """
    n_items = len(weights)
    heavy = np.flatnonzero(counts * 8 > n_items)
    keys: list[np.ndarray] = []

    # heavy users: the count smallest keys log(-log u) - log w are a without-replacement sample
    log_weights = np.log(weights)
    for user in heavy:
        gumbel = np.log(-np.log(rng.random(n_items))) - log_weights
        picked = np.argpartition(gumbel, counts[user] - 1)[: counts[user]]
        keys.append(user * n_items + picked.astype(np.int64))

    # light users: rounds of draws with replacement, keeping first new occurrences per user
    cumulative = np.cumsum(weights)
    cumulative /= cumulative[-1]
    accepted = np.zeros(len(counts), dtype=np.int64)
    accepted[heavy] = counts[heavy]
    seen = np.empty(0, dtype=np.int64)
    pending = np.flatnonzero(accepted < counts)
    while len(pending):
        deficit = counts[pending] - accepted[pending]
        owner = np.repeat(pending, 2 * deficit + 4)
        items = np.minimum(np.searchsorted(cumulative, rng.random(len(owner))), n_items - 1)
        key = owner * n_items + items

        # drop draws already held, then keep each key's first occurrence, in draw order
        fresh = ~np.isin(key, seen)
        key, owner = key[fresh], owner[fresh]
        _, first = np.unique(key, return_index=True)
        first.sort()
        key, owner = key[first], owner[first]

        # at most `deficit` new items per user: rank of each draw within its owner's group
        starts = np.searchsorted(owner, owner, side="left")
        rank = np.arange(len(owner)) - starts
        keep = rank < (counts[owner] - accepted[owner])
        key, owner = key[keep], owner[keep]
        np.add.at(accepted, owner, 1)
        keys.append(key)
        seen = np.sort(np.concatenate([seen, key]))
        pending = np.flatnonzero(accepted < counts)

    # one sorted key array: grouped by user, ascending items within a user
    everything = np.sort(np.concatenate(keys)) if keys else np.empty(0, dtype=np.int64)
    return everything % n_items
