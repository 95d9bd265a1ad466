"""The paper's small subset: 20 users and 250 items.

Two ways to choose it:

* ``"top"`` (default, deterministic): the ``n_items`` most-rated items (ties broken by the smaller
  item index), then the ``n_users`` users with the most ratings among those items (ties broken by
  the smaller user index).
* ``"random"`` (seeded): ``n_items`` items drawn uniformly with ``numpy.random.default_rng(seed)``,
  then ``n_users`` users drawn uniformly among those with at least 5 ratings on the drawn items
  (at least 1 when too few have 5).

Both keep users and items in their original index order and keep every rating among them
(users or items left without ratings are kept too).
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np

from attnrec.data.dataset import RatingDataset
from attnrec.errors import ConfigError

logger = logging.getLogger(__name__)

SubsetMethod = Literal["top", "random"]
_MIN_RATINGS_RANDOM = 5


def paper_subset(
    dataset: RatingDataset,
    n_users: int = 20,
    n_items: int = 250,
    method: SubsetMethod = "top",
    seed: int = 0,
) -> RatingDataset:
    """The ratings of ``n_users`` users on ``n_items`` items (see the module docstring).

    Args:
        dataset: the full dataset.
        n_users: how many users to keep.
        n_items: how many items to keep.
        method: ``"top"`` (deterministic) or ``"random"`` (seeded).
        seed: the seed of ``"random"``.

    Returns:
        The subset, with ids, titles, timestamps and rating scale kept.

    Raises:
        ConfigError: a count is below 1 or above what the dataset has, or an unknown method.
    """
    # check the sizes against what exists
    _check_count("n_users", n_users, dataset.n_users)
    _check_count("n_items", n_items, dataset.n_items)
    # choose items, then users among them
    if method == "top":
        items = _top_items(dataset, n_items)
        users = _top_users(dataset, items, n_users)
    elif method == "random":
        rng = np.random.default_rng(seed)
        items = np.sort(rng.choice(dataset.n_items, size=n_items, replace=False))
        users = _random_users(dataset, items, n_users, rng)
    else:
        raise ConfigError(f"method={method!r} is not a subset method; use 'top' or 'random'")
    # slice, keeping the original order
    subset = dataset.subset(np.sort(users), np.sort(items))
    logger.info("paper subset (%s): %s", method, subset.describe())
    return subset


def _check_count(what: str, wanted: int, available: int) -> None:
    if wanted < 1 or wanted > available:
        raise ConfigError(f"{what}={wanted} but the dataset has {available}; use 1..{available}")


def _top_k(counts: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest counts, ties broken by the smaller index."""
    order = np.lexsort((np.arange(len(counts)), -counts))
    return order[:k]


def _item_counts(dataset: RatingDataset) -> np.ndarray:
    return np.bincount(dataset.ratings.indices, minlength=dataset.n_items)


def _user_counts(dataset: RatingDataset, items: np.ndarray) -> np.ndarray:
    """Ratings of each user among ``items``."""
    return np.diff(dataset.ratings[:, items].tocsr().indptr)


def _top_items(dataset: RatingDataset, n_items: int) -> np.ndarray:
    return _top_k(_item_counts(dataset), n_items)


def _top_users(dataset: RatingDataset, items: np.ndarray, n_users: int) -> np.ndarray:
    return _top_k(_user_counts(dataset, items), n_users)


def _random_users(
    dataset: RatingDataset, items: np.ndarray, n_users: int, rng: np.random.Generator
) -> np.ndarray:
    """Uniform draw among users with >= 5 ratings on ``items`` (>= 1 when too few)."""
    # eligible users: enough ratings on the drawn items
    counts = _user_counts(dataset, items)
    eligible = np.flatnonzero(counts >= _MIN_RATINGS_RANDOM)
    if len(eligible) < n_users:
        eligible = np.flatnonzero(counts >= 1)
    if len(eligible) < n_users:
        raise ConfigError(
            f"n_users={n_users} but only {len(eligible)} users rated any of the {len(items)} "
            "drawn items; ask for fewer users, more items, or another seed"
        )
    # draw uniformly
    return rng.choice(eligible, size=n_users, replace=False)
