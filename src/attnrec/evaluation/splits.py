"""Train/test splits of a RatingDataset, aligned with the full dataset's index maps.

Every split returns matrices of the full dataset's shape (same users, same items, same indices),
so a model fitted on ``train`` scores the items of ``test`` without any re-indexing. Ratings keep
their raw values (the protocol binarises for the baselines, attnrec uses the values), and
timestamps follow their ratings. The same seed gives the same split.

Four protocols:

* ``random``: per-user random holdout of a fraction of each user's ratings.
* ``temporal``: per-user leave-last-n-out by timestamp. Ratings with equal timestamps are ordered
  by a seeded hash of the (user id, item id) pair as text, so the tie rule depends on neither
  the item index order nor the order of the file.
* ``global-temporal``: one cutoff time for everybody; ratings after it are the test set.
* ``strong``: held-out users (a fraction of the users) are removed from training; each is
  folded in with 80% of their ratings and scored on the rest (the Mult-VAE protocol).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from attnrec.data.dataset import RatingDataset, id_key
from attnrec.errors import ConfigError, DataError

SplitKind = Literal["random", "temporal", "global-temporal", "strong"]
SPLIT_KINDS: tuple[str, ...] = ("random", "temporal", "global-temporal", "strong")

#: share of a held-out user's ratings shown to the model in the strong-generalisation split
FOLD_IN_FRACTION = 0.8


@dataclass
class Split:
    """A train/test split; every matrix has the full dataset's shape and index maps.

    Attributes:
        kind: the protocol that made it.
        train: ratings the models are fitted on.
        test: held-out ratings the rankings are judged on.
        fold_in: strong generalisation only: the held-out users' shown ratings (their profile at
            scoring time; never used for fitting). None for the other splits.
        train_timestamps: timestamps aligned with ``train.data`` (None without timestamps).
        test_timestamps: timestamps aligned with ``test.data``.
        seed: the seed that made it.
    """

    kind: str
    train: sp.csr_matrix
    test: sp.csr_matrix
    fold_in: sp.csr_matrix | None = None
    train_timestamps: np.ndarray | None = None
    test_timestamps: np.ndarray | None = None
    seed: int = 0

    @property
    def profiles(self) -> sp.csr_matrix:
        """What a model sees of each user at scoring time: fold-in ratings, else training."""
        return self.train if self.fold_in is None else self.fold_in

    def train_dataset(self, dataset: RatingDataset) -> RatingDataset:
        """The training ratings as a RatingDataset with the full dataset's ids and titles."""
        return as_dataset(dataset, self.train, self.train_timestamps, suffix="train")


def as_dataset(
    dataset: RatingDataset,
    ratings: sp.csr_matrix,
    timestamps: np.ndarray | None = None,
    suffix: str = "part",
) -> RatingDataset:
    """A RatingDataset over ``ratings`` that shares the ids, scale and titles of ``dataset``.

    Users or items without any rating in ``ratings`` are kept (empty rows and columns).
    """
    if ratings.shape != dataset.ratings.shape:
        raise DataError(
            f"matrix shape {ratings.shape} differs from the dataset's {dataset.ratings.shape}; "
            "build it from the same dataset"
        )
    return RatingDataset(
        users=dataset.users,
        items=dataset.items,
        ratings=ratings,
        rating_scale=dataset.rating_scale,
        titles=dataset.titles,
        timestamps=timestamps,
        name=f"{dataset.name}-{suffix}",
    )


def make_split(
    dataset: RatingDataset,
    kind: str = "random",
    test_fraction: float = 0.2,
    seed: int = 0,
    n_last: int = 1,
) -> Split:
    """Split ``dataset`` by one of the protocols in ``SPLIT_KINDS``.

    Args:
        dataset: the full dataset.
        kind: "random", "temporal", "global-temporal" or "strong".
        test_fraction: share of each user's ratings (random), of all ratings (global-temporal)
            or of the users (strong) held out; unused by "temporal".
        seed: seed of every random draw.
        n_last: ratings held out per user by "temporal".
    """
    if kind == "random":
        return random_holdout(dataset, test_fraction, seed)
    if kind == "temporal":
        return temporal_leave_last_out(dataset, n_last, seed)
    if kind == "global-temporal":
        return global_temporal(dataset, test_fraction, seed)
    if kind == "strong":
        return strong_generalisation(dataset, test_fraction, seed)
    raise ConfigError(f"split {kind!r} is unknown; use one of {', '.join(SPLIT_KINDS)}")


def random_holdout(dataset: RatingDataset, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """Per-user random holdout: round(fraction x count) of each user's ratings go to test.

    At least one rating of every user stays in training; a user with one rating keeps it.
    """
    _check_fraction(test_fraction)
    held = _per_user_random(dataset.ratings, test_fraction, np.random.default_rng(seed))
    return _from_mask(dataset, held, "random", seed)


def temporal_leave_last_out(dataset: RatingDataset, n_last: int = 1, seed: int = 0) -> Split:
    """Per-user leave-last-n-out: each user's n latest ratings go to test.

    Ties in time are ordered by a seeded hash of the (user id, item id) text pair, so which of
    several equally recent ratings is held out depends neither on item index nor file order.
    At least one rating of every user stays in training.
    """
    if n_last < 1:
        raise ConfigError(f"n_last={n_last} must be at least 1")
    stamps = _require_timestamps(dataset, "temporal")
    ratings = dataset.ratings
    tie_key = _pair_hash(dataset, seed)
    held = np.zeros(ratings.nnz, dtype=bool)

    # per user: sort by (timestamp, tie hash) and hold out the last n (keeping one in train)
    for user in range(ratings.shape[0]):
        start, stop = ratings.indptr[user], ratings.indptr[user + 1]
        n_held = min(n_last, stop - start - 1)
        if n_held <= 0:
            continue
        order = np.lexsort((tie_key[start:stop], stamps[start:stop]))
        held[start + order[-n_held:]] = True
    return _from_mask(dataset, held, "temporal", seed)


def global_temporal(dataset: RatingDataset, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """One cutoff time for all users: ratings strictly after it are the test set.

    The cutoff is the (1 - fraction) quantile of the timestamps; ratings at the cutoff time
    stay in training, so the test share can be a little below ``test_fraction``. Test users
    may have no training rating at all; the protocol skips and counts them.
    """
    _check_fraction(test_fraction)
    stamps = _require_timestamps(dataset, "global-temporal")
    cutoff = float(np.quantile(stamps, 1.0 - test_fraction, method="lower"))
    held = stamps > cutoff
    if not held.any():
        raise DataError(
            f"global-temporal split: no rating after the cutoff {cutoff:g}; "
            "raise test_fraction or use another split"
        )
    return _from_mask(dataset, held, "global-temporal", seed)


def strong_generalisation(
    dataset: RatingDataset, test_fraction: float = 0.2, seed: int = 0
) -> Split:
    """Held-out users: ``test_fraction`` of the users (at least one, seeded) leave training.

    Each held-out user is folded in with 80% of their ratings (``Split.fold_in``) and scored on
    the other 20% (``Split.test``); models never train on held-out users.
    """
    _check_fraction(test_fraction)
    ratings = dataset.ratings
    rng = np.random.default_rng(seed)
    counts = np.diff(ratings.indptr)

    # choose held-out users among those with at least two ratings
    eligible = np.flatnonzero(counts >= 2)
    n_held = max(1, round(test_fraction * len(eligible)))
    if len(eligible) < 2 or n_held >= len(eligible):
        raise DataError(
            f"strong split: {len(eligible)} users with two or more ratings is too few for "
            f"test_fraction={test_fraction}; lower it or use another split"
        )
    held_users = np.sort(rng.choice(eligible, n_held, replace=False))
    is_held_user = np.zeros(ratings.shape[0], dtype=bool)
    is_held_user[held_users] = True
    owner_held = np.repeat(is_held_user, counts)

    # per held-out user: 20% of the ratings to test, the rest to fold-in
    to_test = _per_user_random(ratings, 1.0 - FOLD_IN_FRACTION, rng, users=held_users)
    stamps = dataset.timestamps
    train_mask = ~owner_held
    fold_mask = owner_held & ~to_test
    return Split(
        kind="strong",
        train=_select(ratings, train_mask),
        test=_select(ratings, to_test),
        fold_in=_select(ratings, fold_mask),
        train_timestamps=None if stamps is None else stamps[train_mask],
        test_timestamps=None if stamps is None else stamps[to_test],
        seed=seed,
    )


# ------------------------------------------------------------------------------------ helpers


def _check_fraction(fraction: float) -> None:
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"test_fraction={fraction!r} must lie strictly between 0 and 1")


def _require_timestamps(dataset: RatingDataset, kind: str) -> np.ndarray:
    if dataset.timestamps is None:
        raise DataError(
            f"{dataset.name}: the {kind} split needs timestamps and this dataset has none; "
            "use the random or strong split"
        )
    return np.asarray(dataset.timestamps, dtype=np.float64)


def _per_user_random(
    ratings: sp.csr_matrix,
    fraction: float,
    rng: np.random.Generator,
    users: np.ndarray | None = None,
) -> np.ndarray:
    """Mask over ``ratings.data``: round(fraction x count) random ratings of each user, keeping
    at least one rating out of the mask."""
    held = np.zeros(ratings.nnz, dtype=bool)
    for user in range(ratings.shape[0]) if users is None else users:
        start, stop = ratings.indptr[user], ratings.indptr[user + 1]
        count = int(stop - start)
        n_held = min(count - 1, math.floor(fraction * count + 0.5))
        if n_held > 0:
            held[start + rng.choice(count, n_held, replace=False)] = True
    return held


def _pair_hash(dataset: RatingDataset, seed: int) -> np.ndarray:
    """A seeded 64-bit hash of each rating's (user id, item id) text, aligned with the data."""
    ratings = dataset.ratings
    owners = np.repeat(np.arange(ratings.shape[0]), np.diff(ratings.indptr))
    user_keys = np.array([id_key(r) for r in dataset.users.raw_ids], dtype=object)
    item_keys = np.array([id_key(r) for r in dataset.items.raw_ids], dtype=object)
    pairs = pd.Series(user_keys[owners] + "\x1f" + item_keys[ratings.indices])
    key = hashlib.blake2b(str(seed).encode(), digest_size=8).hexdigest()  # 16 characters
    return pd.util.hash_pandas_object(pairs, index=False, hash_key=key).to_numpy()


def _select(ratings: sp.csr_matrix, mask: np.ndarray) -> sp.csr_matrix:
    """The stored entries of ``ratings`` where ``mask`` holds, in the same order."""
    owners = np.repeat(np.arange(ratings.shape[0]), np.diff(ratings.indptr))
    indptr = np.zeros(ratings.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(owners[mask], minlength=ratings.shape[0]), out=indptr[1:])
    return sp.csr_matrix((ratings.data[mask], ratings.indices[mask], indptr), shape=ratings.shape)


def _from_mask(dataset: RatingDataset, held: np.ndarray, kind: str, seed: int) -> Split:
    """A Split whose test set is the masked ratings and whose training set is the rest."""
    stamps = dataset.timestamps
    return Split(
        kind=kind,
        train=_select(dataset.ratings, ~held),
        test=_select(dataset.ratings, held),
        train_timestamps=None if stamps is None else stamps[~held],
        test_timestamps=None if stamps is None else stamps[held],
        seed=seed,
    )
