"""CPU kernel of the neighbour search: a sparse product accumulated into dense rows, then top K.

For each query row the kernel adds ``query[row, i] * reference[v, i]`` over the row's items i
and the users v who rated i into that row's dense similarities (already holding the dense head
product), then keeps the K largest positive entries with a bounded heap. The work is the sum over
the row's items of their popularity, with no intermediate sparse matrix, no sort of the product,
and O(K) extra memory per row. Rows run in parallel with numba; each writes only its own row.

Ties: entries are scanned in increasing reference index and a new entry must be strictly larger
than the heap's worst to enter, so among equal similarities the smaller index wins, which is the
rule of the dense reference (``torch.sort(..., stable=True)``).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, inline="always")
def _worse(values: np.ndarray, index: np.ndarray, a: int, b: int) -> bool:
    """Heap entry a ranks below b: smaller similarity, or equal and a larger reference index."""
    return values[a] < values[b] or (values[a] == values[b] and index[a] > index[b])


@numba.njit(cache=True, inline="always")
def _swap(values: np.ndarray, index: np.ndarray, a: int, b: int) -> None:
    values[a], values[b] = values[b], values[a]
    index[a], index[b] = index[b], index[a]


@numba.njit(cache=True)
def _sift_down(values: np.ndarray, index: np.ndarray, pos: int, size: int) -> None:
    """Restore the min-heap (worst entry at the root) below pos."""
    while True:
        child = 2 * pos + 1
        if child >= size:
            return
        if child + 1 < size and _worse(values, index, child + 1, child):
            child += 1
        if not _worse(values, index, child, pos):
            return
        _swap(values, index, child, pos)
        pos = child


@numba.njit(cache=True)
def _sift_up(values: np.ndarray, index: np.ndarray, pos: int) -> None:
    while pos > 0:
        parent = (pos - 1) // 2
        if not _worse(values, index, pos, parent):
            return
        _swap(values, index, pos, parent)
        pos = parent


@numba.njit(cache=True)
def _top_k_of_row(similarity: np.ndarray, values: np.ndarray, index: np.ndarray) -> None:
    """The positive top len(values) of one dense row, sorted descending; padding -1 / 0."""
    k = values.shape[0]
    size = 0
    for v in range(similarity.shape[0]):
        s = similarity[v]
        if s <= 0.0:
            continue
        if size < k:
            values[size] = s
            index[size] = v
            _sift_up(values, index, size)
            size += 1
        elif s > values[0]:
            values[0] = s
            index[0] = v
            _sift_down(values, index, 0, size)
    # heap sort: move the current worst to the end until the best is first
    for end in range(size - 1, 0, -1):
        _swap(values, index, 0, end)
        _sift_down(values, index, 0, end)
    for j in range(size, k):
        values[j] = 0.0
        index[j] = -1


@numba.njit(parallel=True, cache=True)
def accumulate_top_k(
    query_indptr: np.ndarray,
    query_indices: np.ndarray,
    query_data: np.ndarray,
    items_indptr: np.ndarray,
    items_indices: np.ndarray,
    items_data: np.ndarray,
    similarity: np.ndarray,
    exclude: np.ndarray,
    top_index: np.ndarray,
    top_similarity: np.ndarray,
) -> None:
    """Add the sparse product to ``similarity`` and write each row's top K.

    Args:
        query_indptr, query_indices, query_data: CSR of the chunk's query rows (rows x items).
        items_indptr, items_indices, items_data: CSR of the reference transposed (items x users).
        similarity: (rows, users) float32, modified in place (the head product on entry).
        exclude: (rows,) reference index to leave out per row (the user itself), -1 for none.
        top_index: (rows, K) int64 output, -1 where fewer than K positive similarities.
        top_similarity: (rows, K) float32 output, sorted descending, 0 on padding.
    """
    for row in numba.prange(similarity.shape[0]):
        dense = similarity[row]
        for p in range(query_indptr[row], query_indptr[row + 1]):
            item = query_indices[p]
            weight = query_data[p]
            for q in range(items_indptr[item], items_indptr[item + 1]):
                dense[items_indices[q]] += weight * items_data[q]
        if exclude[row] >= 0:
            dense[exclude[row]] = -1.0
        _top_k_of_row(dense, top_similarity[row], top_index[row])
