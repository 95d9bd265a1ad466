"""Mini-batches of users as flat, sparse tensors: edge lists, never a dense users x items block.

A batch carries, for B users:
- the input edges (user, item, scaled rating) of Trace B's bipartite graph, possibly corrupted;
- the target ybar, each user's ratings normalised to sum to 1, as (user, item, weight) triples;
- the users' top-K neighbours and the edges of those neighbours' profiles, for Trace A.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from attnrec.model.neighbours import Neighbours, to_torch_csr


@dataclass
class Batch:
    """Tensors of one mini-batch of B users (E input edges, U neighbour profiles, K neighbours).

    Attributes:
        edge_user: (E,) int64 batch-local user of each input edge, sorted.
        edge_item: (E,) int64 item of each input edge.
        edge_value: (E,) float32 rating scaled to (0, 1] by the scale's maximum.
        edge_weight: (E,) float32 input weight: edge_value over the user's L2 norm.
        offsets: (B,) int64 start of each user's edges (embedding-bag offsets).
        target_user: (T,) int64 batch-local user of each target rating.
        target_item: (T,) int64 item of each target rating.
        target_weight: (T,) float32 ybar: the user's ratings normalised to sum to 1.
        neighbour_local: (B, K) int64 row of each neighbour in the neighbour profiles, -1 = none.
        neighbour_similarity: (B, K) float32 cosine similarity s(u, v), 0 on padding.
        neighbour_profiles: (U, n) sparse CSR float32, the L2-normalised scaled ratings of the
            batch's distinct neighbours, one row each.
        neighbour_profiles_t: (n, U) its transpose, also CSR, for the backward pass of the
            profile embedding (transposing a CSR tensor inside autograd costs several times the
            product itself at MovieLens-20M size); None unless built ``for_training``.
    """

    edge_user: torch.Tensor
    edge_item: torch.Tensor
    edge_value: torch.Tensor
    edge_weight: torch.Tensor
    offsets: torch.Tensor
    target_user: torch.Tensor
    target_item: torch.Tensor
    target_weight: torch.Tensor
    neighbour_local: torch.Tensor
    neighbour_similarity: torch.Tensor
    neighbour_profiles: torch.Tensor
    neighbour_profiles_t: torch.Tensor | None

    @property
    def n_users(self) -> int:
        return int(self.offsets.shape[0])

    def to(self, device: torch.device | str) -> Batch:
        moved: dict[str, Any] = {
            name: None if value is None else value.to(device) for name, value in vars(self).items()
        }
        return Batch(**moved)


def build_batch(
    profiles: sp.csr_matrix,
    neighbours: Neighbours,
    reference: sp.csr_matrix,
    corruption: float = 0.0,
    rng: np.random.Generator | None = None,
    targets: sp.csr_matrix | None = None,
    for_training: bool = False,
) -> Batch:
    """Assemble a batch from scaled rating rows.

    Args:
        profiles: (B, n) the users' scaled ratings, the input of both traces.
        neighbours: the B users' top-K neighbours, indices into ``reference``.
        reference: (m, n) scaled ratings of every candidate neighbour.
        corruption: probability of dropping each input rating (training only).
        rng: random generator for the corruption.
        targets: (B, n) ratings to predict; defaults to ``profiles`` (before corruption).
        for_training: also build the transposed neighbour profiles that the backward pass uses
            (without them a backward pass still works, more slowly).
    """
    targets = profiles if targets is None else targets
    inputs = _corrupt(profiles, corruption, rng) if corruption > 0 else profiles
    edge_user, edge_item, edge_value, offsets = _edges(inputs)
    target_user, target_item, target_value, _ = _edges(targets)

    # ybar: each user's ratings normalised to sum to 1
    totals = np.bincount(target_user, weights=target_value, minlength=targets.shape[0])
    target_weight = target_value / np.maximum(totals[target_user], 1e-12)

    # the union of the batch's neighbours, each profile embedded once
    valid = neighbours.index >= 0
    unique, inverse = np.unique(neighbours.index[valid], return_inverse=True)
    local = np.full(neighbours.index.shape, -1, dtype=np.int64)
    local[valid] = inverse
    nb_profiles = reference[unique].tocsr()
    nb_user, _, nb_value, _ = _edges(nb_profiles)
    nb_profiles = sp.csr_matrix(
        (_l2_weights(nb_user, nb_value), nb_profiles.indices, nb_profiles.indptr),
        shape=nb_profiles.shape,
    )

    return Batch(
        edge_user=torch.as_tensor(edge_user),
        edge_item=torch.as_tensor(edge_item),
        edge_value=torch.as_tensor(edge_value, dtype=torch.float32),
        edge_weight=torch.as_tensor(_l2_weights(edge_user, edge_value), dtype=torch.float32),
        offsets=torch.as_tensor(offsets),
        target_user=torch.as_tensor(target_user),
        target_item=torch.as_tensor(target_item),
        target_weight=torch.as_tensor(target_weight, dtype=torch.float32),
        neighbour_local=torch.as_tensor(local),
        neighbour_similarity=torch.as_tensor(neighbours.similarity, dtype=torch.float32),
        neighbour_profiles=to_torch_csr(nb_profiles),
        neighbour_profiles_t=to_torch_csr(nb_profiles.T.tocsr()) if for_training else None,
    )


def _edges(rows: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(user, item, value, offsets) of a CSR block, users in row order."""
    rows = rows.tocsr()
    counts = np.diff(rows.indptr)
    user = np.repeat(np.arange(rows.shape[0], dtype=np.int64), counts)
    return (
        user,
        rows.indices.astype(np.int64),
        rows.data.astype(np.float64),
        rows.indptr[:-1].astype(np.int64),
    )


def _l2_weights(user: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Each value divided by the L2 norm of its user's values."""
    if len(user) == 0:
        return value.astype(np.float32)
    norms = np.sqrt(np.bincount(user, weights=value**2))
    return (value / np.maximum(norms[user], 1e-12)).astype(np.float32)


def _corrupt(
    profiles: sp.csr_matrix, rate: float, rng: np.random.Generator | None
) -> sp.csr_matrix:
    """Drop each rating with probability ``rate``, keeping at least one rating per user."""
    rng = rng or np.random.default_rng()
    keep = rng.random(profiles.nnz) >= rate
    # a user left with no input would get no Trace B context: keep its first rating
    starts = profiles.indptr[:-1][np.diff(profiles.indptr) > 0]
    kept_per_user = np.add.reduceat(keep.astype(np.int64), starts) if len(starts) else starts
    keep[starts[kept_per_user == 0]] = True
    corrupted = profiles.copy()
    corrupted.data = np.where(keep, corrupted.data, 0.0).astype(corrupted.data.dtype)
    corrupted.eliminate_zeros()
    return corrupted
