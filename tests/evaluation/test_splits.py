"""Splits: determinism, disjointness, alignment with the full index maps, the tie rule."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from attnrec.data.dataset import IdMap, RatingDataset, from_frame
from attnrec.errors import ConfigError, DataError
from attnrec.evaluation.splits import SPLIT_KINDS, make_split

from .conftest import synthetic_frame


def _pairs(dataset: RatingDataset, matrix: sp.csr_matrix) -> set[tuple[object, object]]:
    coo = matrix.tocoo()
    return {
        (dataset.users.raw(u), dataset.items.raw(i)) for u, i in zip(coo.row, coo.col, strict=True)
    }


@pytest.mark.parametrize("kind", SPLIT_KINDS)
def test_same_seed_same_split_and_parts_are_disjoint(tiny, kind):
    a, b = make_split(tiny, kind, 0.2, seed=3), make_split(tiny, kind, 0.2, seed=3)
    assert (a.train != b.train).nnz == 0 and (a.test != b.test).nnz == 0
    parts = [a.train, a.test] + ([a.fold_in] if a.fold_in is not None else [])
    # disjoint, and together exactly the dataset with its values
    for i, x in enumerate(parts):
        assert x.shape == tiny.ratings.shape
        for y in parts[i + 1 :]:
            assert x.multiply(y).nnz == 0
    assert abs(sum(parts) - tiny.ratings).max() == 0
    assert a.test.nnz > 0


@pytest.mark.parametrize("kind", SPLIT_KINDS)
def test_timestamps_follow_their_ratings(tiny, kind):
    split = make_split(tiny, kind, 0.2, seed=1)
    stamp_of = {(u, i): t for u, i, t in zip(*tiny.ratings.nonzero(), tiny.timestamps, strict=True)}
    for matrix, stamps in (
        (split.train, split.train_timestamps),
        (split.test, split.test_timestamps),
    ):
        rows, cols = matrix.nonzero()
        assert [stamp_of[(u, i)] for u, i in zip(rows, cols, strict=True)] == list(stamps)


def test_random_holdout_takes_a_fifth_of_each_user(tiny):
    split = make_split(tiny, "random", 0.2, seed=0)
    counts = np.diff(tiny.ratings.indptr)
    assert np.array_equal(np.diff(split.test.indptr), np.floor(0.2 * counts + 0.5))
    assert make_split(tiny, "random", 0.2, seed=1).test.nnz == split.test.nnz
    assert (make_split(tiny, "random", 0.2, seed=1).test != split.test).nnz > 0


def test_temporal_holds_out_each_users_latest_rating(tiny):
    split = make_split(tiny, "temporal", seed=0)
    for user in range(tiny.n_users):
        train_rows = split.train[user]
        assert split.test[user].nnz == 1
        latest = split.test_timestamps[split.test.indptr[user]]
        own = split.train_timestamps[split.train.indptr[user] : split.train.indptr[user + 1]]
        assert train_rows.nnz > 0 and (own <= latest).all()


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.randoms(use_true_random=False))
def test_temporal_tie_rule_ignores_item_index_order(seed, random):
    # one user rated 6 items at the same time: the held-out one must not depend on indices
    frame = synthetic_frame(4, 12, seed=2)
    frame["timestamp"] = 7
    dataset = from_frame(frame, rating_scale=(1.0, 5.0))
    order = random.sample(range(dataset.n_items), dataset.n_items)
    permuted = RatingDataset(
        users=dataset.users,
        items=IdMap([dataset.items.raw(j) for j in order]),
        ratings=_sorted(dataset.ratings[:, order]),
        rating_scale=dataset.rating_scale,
        timestamps=np.full(dataset.n_ratings, 7.0),
    )
    a = make_split(dataset, "temporal", seed=seed)
    b = make_split(permuted, "temporal", seed=seed)
    assert _pairs(dataset, a.test) == _pairs(permuted, b.test)


def _sorted(matrix: sp.csr_matrix) -> sp.csr_matrix:
    out = matrix.tocsr().copy()
    out.sort_indices()
    return out


def test_global_temporal_cuts_at_one_time(tiny):
    split = make_split(tiny, "global-temporal", 0.3, seed=0)
    assert split.test_timestamps.min() > split.train_timestamps.max()
    assert 0.1 < split.test.nnz / tiny.n_ratings <= 0.3


def test_strong_generalisation_folds_in_held_out_users(tiny):
    split = make_split(tiny, "strong", 0.2, seed=0)
    held = np.flatnonzero(np.diff(split.test.indptr) > 0)
    assert len(held) == round(0.2 * tiny.n_users)
    assert split.train[held].nnz == 0  # never trained on
    counts = np.diff(tiny.ratings.indptr)[held]
    assert np.array_equal(
        np.diff(split.fold_in[held].indptr), counts - np.floor(0.2 * counts + 0.5)
    )
    assert split.profiles is split.fold_in


def test_bad_arguments_raise_one_line_errors(tiny):
    with pytest.raises(ConfigError, match="test_fraction"):
        make_split(tiny, "random", 1.5)
    with pytest.raises(ConfigError, match="unknown"):
        make_split(tiny, "leave-one-out")
    tiny.timestamps = None
    with pytest.raises(DataError, match="timestamps"):
        make_split(tiny, "temporal")
