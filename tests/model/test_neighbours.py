"""Cosine neighbours: hand-computed values, padding, and equality with a dense reference."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from attnrec.model.neighbours import top_k_cosine, user_neighbours

# u0 = [5, 0, 3], u1 = [4, 2, 0], u2 = [0, 0, 0] (no ratings), u3 = [1, 0, 1]
TINY = sp.csr_matrix(np.array([[5, 0, 3], [4, 2, 0], [0, 0, 0], [1, 0, 1]], dtype=np.float32))
COS_01 = 20 / math.sqrt(34 * 20)  # 0.76696
COS_03 = 8 / math.sqrt(34 * 2)  # 0.97014
COS_13 = 4 / math.sqrt(20 * 2)  # 0.63246


def test_cosine_values_by_hand() -> None:
    found = user_neighbours(TINY, k=2)
    assert found.index.tolist() == [[3, 1], [0, 3], [-1, -1], [0, 1]]
    expected = [[COS_03, COS_01], [COS_01, COS_13], [0.0, 0.0], [COS_03, COS_13]]
    np.testing.assert_allclose(found.similarity, expected, rtol=1e-6)


def test_user_with_no_ratings_gives_zero_never_nan() -> None:
    found = user_neighbours(TINY, k=None)
    assert not np.isnan(found.similarity).any()
    assert 2 not in found.index  # the empty user is nobody's neighbour
    assert (found.index[2] == -1).all()


def test_self_is_excluded() -> None:
    found = user_neighbours(TINY, k=None)
    for user in range(4):
        assert user not in found.index[user]


def test_new_profile_against_reference() -> None:
    query = sp.csr_matrix(np.array([[5, 0, 3]], dtype=np.float32))
    found = top_k_cosine(query, TINY, k=1)
    assert found.index.tolist() == [[0]]
    np.testing.assert_allclose(found.similarity, [[1.0]], rtol=1e-6)


def dense_reference(matrix: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-k by a dense similarity matrix; also which slots have no near-tie in their row."""
    norms = np.linalg.norm(matrix, axis=1)
    norms[norms == 0] = 1
    unit = matrix / norms[:, None]
    sims = unit @ unit.T
    np.fill_diagonal(sims, -1)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    values = np.take_along_axis(sims, order, axis=1)
    # a slot is unambiguous when no other user of the row is within float32 noise of it
    close = np.abs(sims[:, None, :] - values[:, :, None]) < 1e-5
    unique = close.sum(axis=2) == 1
    return np.where(values > 0, order, -1), np.clip(values, 0, None), unique


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    users=st.integers(2, 30),
    items=st.integers(1, 12),
    k=st.integers(1, 40),
    chunk=st.integers(1, 7),
)
def test_chunked_equals_dense_reference(seed: int, users: int, items: int, k: int, chunk: int):
    rng = np.random.default_rng(seed)
    # integer ratings make exact ties common; tied neighbours may come in any order
    matrix = rng.integers(0, 3, (users, items)).astype(np.float32)
    found = top_k_cosine(
        sp.csr_matrix(matrix), sp.csr_matrix(matrix), k, exclude=np.arange(users), chunk_size=chunk
    )
    index, values, unique = dense_reference(matrix, min(k, users))
    np.testing.assert_allclose(found.similarity, values, atol=1e-5)
    assert (found.index[unique] == index[unique]).all()
