"""The numba neighbour kernel: exact tie rule, padding, and accumulation, against numpy."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from attnrec.model.sparse_topk import accumulate_top_k


def run_kernel(
    head: np.ndarray, query: sp.csr_matrix, items: sp.csr_matrix, exclude: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    index = np.empty((head.shape[0], k), dtype=np.int64)
    similarity = np.empty((head.shape[0], k), dtype=np.float32)
    accumulate_top_k(
        query.indptr, query.indices, query.data, items.indptr, items.indices, items.data,
        head, exclude, index, similarity,
    )  # fmt: skip
    return index, similarity


def reference(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Positive entries by similarity descending, then reference index ascending."""
    index = np.full((sims.shape[0], k), -1, dtype=np.int64)
    values = np.zeros((sims.shape[0], k), dtype=np.float32)
    for row, dense in enumerate(sims):
        positive = np.flatnonzero(dense > 0)
        order = positive[np.lexsort((positive, -dense[positive]))][:k]
        index[row, : len(order)] = order
        values[row, : len(order)] = dense[order]
    return index, values


def test_ties_go_to_the_smaller_index_by_hand() -> None:
    # similarities 0.5 at users 4 and 1, 0.9 at 3, nothing positive at 0 and 2
    head = np.array([[0.0, 0.5, -0.2, 0.9, 0.5]], dtype=np.float32)
    empty = sp.csr_matrix((1, 1), dtype=np.float32)
    index, similarity = run_kernel(head, empty, sp.csr_matrix((1, 5), dtype=np.float32),
                                   np.array([-1]), 4)  # fmt: skip
    assert index.tolist() == [[3, 1, 4, -1]]
    np.testing.assert_allclose(similarity, [[0.9, 0.5, 0.5, 0.0]])


def test_tail_is_added_and_self_excluded_by_hand() -> None:
    # query rates item 0 (0.6) and item 1 (0.8); item 0 was rated by users 0 and 2, item 1 by 2
    query = sp.csr_matrix(np.array([[0.6, 0.8]], dtype=np.float32))
    items = sp.csr_matrix(np.array([[1.0, 0.0, 0.5], [0.0, 0.0, 0.25]], dtype=np.float32))
    head = np.array([[0.1, 0.2, 0.0]], dtype=np.float32)
    index, similarity = run_kernel(head, query, items, np.array([0]), 3)
    # user 0 would score 0.1 + 0.6 but is the query itself; user 2: 0.6*0.5 + 0.8*0.25 = 0.5
    assert index.tolist() == [[2, 1, -1]]
    np.testing.assert_allclose(similarity, [[0.5, 0.2, 0.0]], rtol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    rows=st.integers(1, 6),
    users=st.integers(1, 60),
    k=st.integers(1, 70),
    levels=st.integers(1, 4),
)
def test_top_k_equals_lexsort_reference(seed: int, rows: int, users: int, k: int, levels: int):
    # few distinct values: exact ties everywhere, and negatives and zeros that must not enter
    rng = np.random.default_rng(seed)
    sims = (rng.integers(-1, levels + 1, (rows, users)) / 4).astype(np.float32)
    empty_query = sp.csr_matrix((rows, 1), dtype=np.float32)
    empty_items = sp.csr_matrix((1, users), dtype=np.float32)
    index, similarity = run_kernel(sims.copy(), empty_query, empty_items, np.full(rows, -1), k)
    expected_index, expected_values = reference(sims, k)
    assert (index == expected_index).all()
    assert (similarity == expected_values).all()
