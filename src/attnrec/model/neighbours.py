"""Top-K cosine neighbours of users, computed in chunks: no users x users matrix is ever built.

Memory is O(nnz + chunk x users + users x K + users x head): each chunk of query users is
multiplied with the row-normalised rating matrix and only its top K survives.

The product is split by item popularity. The few "head" items that a large share of the users
rated (``DENSE_SHARE``) cost as much in a sparse product as all the others together, so they go
through a dense matrix product (BLAS or cuBLAS). The long tail is added by a numba kernel on CPU
(``attnrec.model.sparse_topk``: accumulation into the dense rows and a bounded heap, no
intermediate sparse matrix) and by torch's sparse product on GPU. docs/scaling.md has the
measurements.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp
import torch

from attnrec.model.sparse_topk import accumulate_top_k
from attnrec.progress import progress

logger = logging.getLogger(__name__)

#: floats of one dense chunk (query users x reference users); 2**25 floats is 128 MiB
CHUNK_FLOATS = 2**25

#: an item rated by at least this share of the reference users goes to the dense product
DENSE_SHARE = 0.2

#: cap on the dense head block (reference users x head items), in floats (2**28 is 1 GiB)
HEAD_FLOATS = 2**28


@dataclass
class Neighbours:
    """Each user's top-K most similar users.

    Attributes:
        index: (users, K) int64 reference-user indices, -1 where fewer than K users have a
            positive similarity.
        similarity: (users, K) float32 cosine similarities, 0 on padding; sorted descending.
    """

    index: np.ndarray
    similarity: np.ndarray

    @property
    def k(self) -> int:
        return int(self.index.shape[1])

    def rows(self, users: np.ndarray) -> Neighbours:
        return Neighbours(self.index[users], self.similarity[users])


def row_normalise(ratings: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to unit L2 norm; all-zero rows stay zero (cosine 0, never NaN)."""
    norms = np.sqrt(np.asarray(ratings.multiply(ratings).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.diags(1.0 / norms).dot(ratings).tocsr().astype(np.float32)


def top_k_cosine(
    queries: sp.csr_matrix,
    reference: sp.csr_matrix,
    k: int | None,
    exclude: np.ndarray | None = None,
    chunk_size: int | None = None,
    device: str | torch.device = "cpu",
) -> Neighbours:
    """Top-K cosine neighbours of each query row among the reference rows.

    Args:
        queries: (q, items) ratings of the users whose neighbours are wanted.
        reference: (m, items) ratings of the candidate neighbours.
        k: number of neighbours; None keeps all m (small data only).
        exclude: (q,) reference index to exclude per query (the user itself), -1 for none.
        chunk_size: query rows per chunk; default keeps a chunk under ``CHUNK_FLOATS`` floats.
        device: where the chunk products run ("cuda" uses the GPU when there is one).

    Returns:
        Neighbours with only positive similarities kept, sorted by similarity descending;
        ties are broken by the smaller reference index.
    """
    m = reference.shape[0]
    k = m if k is None else min(k, m)
    chunk_size = chunk_size or max(1, min(queries.shape[0], CHUNK_FLOATS // max(1, m)))
    device = torch.device(device)
    products = _SplitProduct(row_normalise(queries), row_normalise(reference), device)

    index = np.full((queries.shape[0], k), -1, dtype=np.int64)
    similarity = np.zeros((queries.shape[0], k), dtype=np.float32)
    chunks = range(0, queries.shape[0], chunk_size)
    for start in progress(chunks, "neighbours", len(chunks) > 20, unit="chunk"):
        stop = min(start + chunk_size, queries.shape[0])

        own = np.full(stop - start, -1, dtype=np.int64) if exclude is None else exclude[start:stop]
        if _numba_tail(device):
            products.cpu_top_k(start, stop, own, index[start:stop], similarity[start:stop])
            continue

        # GPU: (chunk, m) similarities, the head dense and the tail by torch's sparse product
        sims = products.chunk(start, stop)
        rows = torch.arange(stop - start, device=sims.device)
        own_t = torch.as_tensor(own, device=sims.device)
        keep = own_t >= 0
        sims[rows[keep], own_t[keep]] = -1.0

        # top K by value, ties towards the smaller index (stable sort of a descending key)
        top_sims, top_idx = _stable_top_k(sims, k)
        top_idx = torch.where(top_sims > 0, top_idx, torch.full_like(top_idx, -1))
        top_sims = torch.clamp(top_sims, min=0.0)
        index[start:stop] = top_idx.cpu().numpy()
        similarity[start:stop] = top_sims.cpu().numpy()
    return Neighbours(index, similarity)


def user_neighbours(
    ratings: sp.csr_matrix, k: int | None, device: str | torch.device = "cpu"
) -> Neighbours:
    """Top-K neighbours of every user among the other users of the same matrix."""
    logger.debug("top-%s neighbours of %d users", k, ratings.shape[0])
    own = np.arange(ratings.shape[0], dtype=np.int64)
    return top_k_cosine(ratings, ratings, k, exclude=own, device=device)


def _numba_tail(device: torch.device) -> bool:
    """The tail product and top K run in the numba kernel on CPU, in torch on a GPU."""
    return device.type == "cpu"


def _stable_top_k(sims: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top k per row, sorted descending, ties within the k broken by the smaller index.

    A full stable sort is exact but O(m log m) per row, so large m uses topk, whose choice
    among users tied exactly at the k-th similarity is unspecified (but deterministic on CPU).
    """
    if 4 * k >= sims.shape[1]:
        values, order = torch.sort(sims, dim=1, descending=True, stable=True)
        return values[:, :k], order[:, :k]
    values, order = torch.topk(sims, k, dim=1, sorted=False)
    # order the selected k by index, then stably by value: equal values stay in index order
    by_index = torch.argsort(order, dim=1)
    values, order = values.gather(1, by_index), order.gather(1, by_index)
    by_value = torch.sort(values, dim=1, descending=True, stable=True).indices
    return values.gather(1, by_value), order.gather(1, by_value)


class _SplitProduct:
    """Chunks of queries x reference^T, the head items dense and the tail items sparse."""

    def __init__(self, queries: sp.csr_matrix, reference: sp.csr_matrix, device: torch.device):
        # head: items rated by DENSE_SHARE of the reference users, as many as HEAD_FLOATS allows
        m = reference.shape[0]
        popularity = np.bincount(reference.indices, minlength=reference.shape[1])
        order = np.argsort(-popularity, kind="stable")
        n_head = int((popularity >= DENSE_SHARE * m).sum())
        n_head = min(n_head, HEAD_FLOATS // max(1, m))
        head, tail = np.sort(order[:n_head]), np.sort(order[n_head:])
        logger.debug("neighbours: %d dense head items, %d sparse tail items", n_head, len(tail))

        self.device = device
        self.queries_head = queries[:, head].tocsr()
        self.queries_tail = queries[:, tail].tocsr()
        self.reference_head = torch.as_tensor(reference[:, head].toarray(), device=device)
        # the tail transposed (items x users): scipy for the numba kernel, torch on GPU
        self.items_tail: sp.csr_matrix = reference[:, tail].T.tocsr()
        self.reference_tail = None if _numba_tail(device) else to_torch_csr(self.items_tail, device)

    def head(self, start: int, stop: int) -> torch.Tensor:
        """(stop - start, m) float32 head-item products of query rows start..stop."""
        query_head = torch.as_tensor(self.queries_head[start:stop].toarray(), device=self.device)
        return query_head @ self.reference_head.T

    def cpu_top_k(
        self, start: int, stop: int, own: np.ndarray, index: np.ndarray, similarity: np.ndarray
    ) -> None:
        """Top K of query rows start..stop into index/similarity: head by BLAS, tail by numba."""
        dense = self.head(start, stop).numpy()
        tail = self.queries_tail[start:stop]
        items = self.items_tail
        # as many numba threads as torch uses (torch.set_num_threads is the one knob)
        available = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
        numba.set_num_threads(max(1, min(torch.get_num_threads(), available)))
        accumulate_top_k(
            tail.indptr, tail.indices, tail.data, items.indptr, items.indices, items.data,
            dense, np.ascontiguousarray(own, dtype=np.int64), index, similarity,
        )  # fmt: skip

    def chunk(self, start: int, stop: int) -> torch.Tensor:
        """(stop - start, m) float32 similarities of query rows start..stop (GPU path)."""
        sims = self.head(start, stop)
        query_tail = to_torch_csr(self.queries_tail[start:stop], self.device)
        return sims + torch.sparse.mm(query_tail, self.reference_tail).to_dense()


def to_torch_csr(matrix: sp.csr_matrix, device: str | torch.device = "cpu") -> torch.Tensor:
    """A scipy CSR matrix as a float32 torch sparse CSR tensor with int64 indices."""
    matrix = matrix.tocsr()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(
            torch.as_tensor(matrix.indptr, dtype=torch.int64),
            torch.as_tensor(matrix.indices, dtype=torch.int64),
            torch.as_tensor(matrix.data, dtype=torch.float32),
            size=matrix.shape,
            device=device,
            check_invariants=False,
        )
