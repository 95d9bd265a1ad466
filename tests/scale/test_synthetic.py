"""The synthetic generator: exact sizes, determinism, skew and MovieLens's star shares."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from attnrec.data.synthetic import MOVIELENS_SHARES, PRESETS, generate, generate_preset
from attnrec.errors import ConfigError


@settings(max_examples=30, deadline=None)
@given(
    users=st.integers(1, 60),
    items=st.integers(1, 40),
    fill=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_exact_counts_and_valid_matrix(users: int, items: int, fill: float, seed: int) -> None:
    ratings = users + int(fill * (users * items - users))
    dataset = generate(users, items, ratings, seed=seed)
    matrix = dataset.ratings
    assert (dataset.n_users, dataset.n_items, dataset.n_ratings) == (users, items, ratings)
    assert matrix.shape == (users, items)
    # every user rates at least one item, no (user, item) twice, ratings on the 1-5 scale
    assert (np.diff(matrix.indptr) >= 1).all()
    for row in range(users):
        cols = matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]
        assert (np.diff(cols) > 0).all()
    assert set(np.unique(matrix.data)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert matrix.indices.dtype == np.int32


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = (generate(300, 200, 9_000, seed=s) for s in (4, 4, 5))
    assert (a.ratings != b.ratings).nnz == 0
    assert (a.ratings != c.ratings).nnz > 0


def test_ml100k_shape_is_skewed_like_movielens() -> None:
    dataset = generate_preset("ml-100k", seed=0)
    matrix = dataset.ratings
    activity = np.diff(matrix.indptr)
    popularity = np.bincount(matrix.indices, minlength=dataset.n_items)
    # power-law activity: the floor of 20, a median far below the mean-driven tail
    assert activity.min() == 20
    assert activity.max() > 8 * np.median(activity)
    # power-law popularity: the top 10% of items hold a third or more of the ratings (ML-100K:
    # 43%), the most popular item is rated by about half the users (ML-100K: 62%)
    top = np.sort(popularity)[::-1][: dataset.n_items // 10].sum() / dataset.n_ratings
    assert 0.3 < top < 0.6
    assert 0.4 < popularity.max() / dataset.n_users < 0.8


def test_star_shares_match_movielens() -> None:
    dataset = generate(500, 400, 40_000, seed=2)
    shares = np.bincount(dataset.ratings.data.astype(int), minlength=6)[1:] / dataset.n_ratings
    np.testing.assert_allclose(shares, MOVIELENS_SHARES, atol=0.002)


def test_presets_have_the_movielens_sizes() -> None:
    assert PRESETS["ml-1m"].n_ratings == 1_000_209
    assert (PRESETS["ml-20m"].n_users, PRESETS["ml-20m"].n_items) == (138_493, 26_744)
    assert PRESETS["ml-20m"].n_ratings == 20_000_263


@pytest.mark.slow
def test_ml1m_shape_exact() -> None:
    dataset = generate_preset("ml-1m", seed=0)
    assert (dataset.n_users, dataset.n_items, dataset.n_ratings) == (6040, 3706, 1_000_209)


def test_impossible_shapes_are_refused() -> None:
    with pytest.raises(ConfigError, match="ratings"):
        generate(10, 3, 31)
    with pytest.raises(ConfigError, match="ratings"):
        generate(10, 3, 9)


def test_cli_writes_a_seeded_file(tmp_path) -> None:
    from attnrec.cli import _register, app

    _register()
    runner = CliRunner()
    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for path in paths:
        args = ["synth", "--users", "50", "--items", "40", "--ratings", "700", "--out", str(path)]
        assert runner.invoke(app, args).exit_code == 0
    assert paths[0].read_text() == paths[1].read_text()
    assert len(paths[0].read_text().splitlines()) == 701  # header + exact count
