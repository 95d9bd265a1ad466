"""Baselines on tiny matrices whose right answers are computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from attnrec.data.dataset import IdMap, RatingDataset
from attnrec.errors import ConfigError, NotFittedError
from attnrec.evaluation.baselines import ALS, EASE, ItemKNN, MostPopular, UserKNN, binarise


def _dataset(dense: list[list[float]]) -> RatingDataset:
    matrix = sp.csr_matrix(np.asarray(dense, dtype=np.float32))
    return RatingDataset(
        users=IdMap(list(range(matrix.shape[0]))),
        items=IdMap(list(range(matrix.shape[1]))),
        ratings=matrix,
        rating_scale=(1.0, 5.0),
    )


# users A, B, C (rows) x items 0-3; values are ratings, binarised by the baselines
SMALL = _dataset([[5, 2, 0, 0], [4, 1, 3, 0], [0, 0, 0, 1]])


def _score(model, data=SMALL, rows=None):
    rows = np.arange(data.n_users) if rows is None else np.asarray(rows)
    return model.fit(data).score(rows, data.ratings[rows])


def test_binarise_turns_every_rating_into_one():
    assert binarise(SMALL.ratings).toarray().tolist() == [
        [1, 1, 0, 0],
        [1, 1, 1, 0],
        [0, 0, 0, 1],
    ]


def test_most_popular_counts_training_users():
    assert _score(MostPopular(), rows=[2])[0].tolist() == [2, 2, 1, 1]


def test_user_knn_sums_the_similarities_of_the_k_nearest_users():
    # cos(A, B) = 2 / sqrt(2 x 3); C shares nothing with A
    scores = _score(UserKNN(k=1), rows=[0])[0]
    assert scores == pytest.approx([2 / np.sqrt(6)] * 3 + [0.0], rel=1e-6)
    # B's nearest user is A: B gets A's items only
    assert _score(UserKNN(k=1), rows=[1])[0] == pytest.approx([2 / np.sqrt(6)] * 2 + [0, 0])


def test_item_knn_sums_item_similarities():
    # item columns: 0 = {A, B}, 1 = {A, B}, 2 = {B}, 3 = {C}
    # cos(0, 1) = 1, cos(0, 2) = cos(1, 2) = 1 / sqrt(2); item 3 is similar to nothing
    scores = _score(ItemKNN(k=3), rows=[0])[0]
    assert scores == pytest.approx([1.0, 1.0, 2 / np.sqrt(2), 0.0], rel=1e-6)
    # with k=1 each target item keeps only its most similar item
    scores = _score(ItemKNN(k=1), rows=[0])[0]
    assert scores == pytest.approx([1.0, 1.0, 1 / np.sqrt(2), 0.0], rel=1e-6)


def test_ease_matches_the_textbook_closed_form():
    rng = np.random.default_rng(0)
    dense = (rng.random((12, 6)) < 0.5) * rng.integers(1, 6, (12, 6))
    dense[:, 5] = 0  # an item nobody rated scores 0
    data = _dataset(dense.tolist())
    x = (dense > 0).astype(float)
    p = np.linalg.inv(x.T @ x + 3.0 * np.eye(6))
    b = np.eye(6) - p / np.diag(p)
    expected = x @ b
    expected[:, 5] = 0
    assert _score(EASE(3.0), data) == pytest.approx(expected.astype(np.float32), abs=1e-5)


def test_ease_weights_have_a_zero_diagonal():
    model = EASE(1.0).fit(SMALL)
    assert np.all(np.diag(model.weights_) == 0)


def test_als_is_deterministic_and_finds_the_block_structure():
    # two blocks of taste: users 0-5 like items 0-3, users 6-11 like items 4-7
    dense = np.zeros((12, 8))
    dense[:6, :4] = 4
    dense[6:, 4:] = 4
    dense[0, 3] = 0  # user 0 has not rated item 3 yet
    data = _dataset(dense.tolist())
    a = _score(ALS(factors=4, iterations=10, seed=1), data, rows=[0])
    b = _score(ALS(factors=4, iterations=10, seed=1), data, rows=[0])
    assert np.array_equal(a, b)
    assert a[0, 3] > a[0, 4:].max()
    # a fold-in profile gets recalculated factors with the same preference
    model = ALS(factors=4, iterations=10, seed=1).fit(data)
    folded = model.score(np.array([0]), data.ratings[[0]], new_users=True)
    assert folded[0, 3] > folded[0, 4:].max()


def test_bad_options_and_use_before_fit_raise():
    with pytest.raises(ConfigError):
        EASE(0.0)
    with pytest.raises(ConfigError):
        UserKNN(0)
    with pytest.raises(NotFittedError):
        EASE().score(np.array([0]), SMALL.ratings[[0]])
