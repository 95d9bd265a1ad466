"""The split (dense head + sparse tail) neighbour product against a dense reference."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from attnrec.model import neighbours as nb


def dense_reference(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float64 cosine of every pair, self excluded, every user ranked by a stable sort."""
    norms = np.linalg.norm(matrix, axis=1)
    norms[norms == 0] = 1
    unit = matrix / norms[:, None]
    sims = unit @ unit.T
    np.fill_diagonal(sims, -1)
    order = np.argsort(-sims, axis=1, kind="stable")
    values = np.take_along_axis(sims, order, axis=1)
    return np.where(values > 0, order, -1), np.clip(values, 0, None)


def check(matrix: np.ndarray, k: int, chunk: int) -> None:
    users = matrix.shape[0]
    found = nb.top_k_cosine(
        sp.csr_matrix(matrix), sp.csr_matrix(matrix), k, exclude=np.arange(users), chunk_size=chunk
    )
    index, values = dense_reference(matrix.astype(np.float64))
    k = min(k, users)
    np.testing.assert_allclose(found.similarity, values[:, :k], atol=1e-5)
    # where similarities tie (also with the first one left out) any order is right; elsewhere
    # the neighbours must be the same
    distinct = np.abs(np.diff(values, axis=1, append=-1)) > 1e-5
    distinct &= np.abs(np.diff(values, axis=1, prepend=2)) > 1e-5
    distinct = distinct[:, :k]
    assert (found.index[distinct] == index[:, :k][distinct]).all()
    assert ((found.index == -1) == (values[:, :k] == 0)).all()


@pytest.mark.parametrize("dense_share", [0.0, 0.3, 1.1], ids=["all-dense", "split", "all-sparse"])
@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    users=st.integers(1, 25),
    items=st.integers(1, 15),
    k=st.integers(1, 40),
    chunk=st.integers(1, 8),
    empty=st.integers(0, 3),
)
def test_split_product_equals_dense_reference(
    dense_share: float, seed: int, users: int, items: int, k: int, chunk: int, empty: int
) -> None:
    # K may exceed the users; some users rate nothing (cosine 0, never a neighbour)
    rng = np.random.default_rng(seed)
    matrix = (rng.random((users, items)) < 0.4) * rng.integers(1, 6, (users, items))
    matrix[: min(empty, users)] = 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nb, "DENSE_SHARE", dense_share)
        check(matrix.astype(np.float32), k, chunk)


def test_head_memory_cap_moves_items_to_the_tail() -> None:
    rng = np.random.default_rng(0)
    matrix = (rng.random((30, 12)) < 0.7) * rng.integers(1, 6, (30, 12))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nb, "DENSE_SHARE", 0.0)
        patch.setattr(nb, "HEAD_FLOATS", 30 * 4)  # room for 4 of the 12 items
        product = nb._SplitProduct(
            sp.csr_matrix(matrix), sp.csr_matrix(matrix), nb.torch.device("cpu")
        )
        assert product.reference_head.shape == (30, 4)
        check(matrix.astype(np.float32), 5, 7)


def test_all_zero_users_have_no_neighbours() -> None:
    matrix = np.array([[0, 0, 0], [1, 2, 0], [0, 0, 0], [2, 4, 0]], dtype=np.float32)
    found = nb.user_neighbours(sp.csr_matrix(matrix), k=10)
    assert found.k == 4
    assert (found.index[[0, 2]] == -1).all()
    assert found.index[1].tolist()[:1] == [3]
    np.testing.assert_allclose(found.similarity[1, 0], 1.0, rtol=1e-6)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    users=st.integers(1, 25),
    items=st.integers(1, 15),
    k=st.integers(1, 40),
    chunk=st.integers(1, 8),
)
def test_torch_tail_path_equals_dense_reference(
    seed: int, users: int, items: int, k: int, chunk: int
) -> None:
    """The GPU code path (torch sparse tail, torch top-K), run on CPU tensors."""
    rng = np.random.default_rng(seed)
    matrix = (rng.random((users, items)) < 0.4) * rng.integers(1, 6, (users, items))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nb, "_numba_tail", lambda device: False)
        patch.setattr(nb, "DENSE_SHARE", 0.3)
        check(matrix.astype(np.float32), k, chunk)
