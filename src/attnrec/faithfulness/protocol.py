"""The small protocol every test of the suite speaks, and its adapter for the dual-attention net.

A model under test only has to encode users (optionally with edited profiles) into a batch and
run a forward pass in which either coefficient family can be replaced. Toy models written for
the tests, whose faithfulness is known by construction, plug in the same way as the real
``DualAttentionNet``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp
import torch
from torch_geometric.utils import scatter
from torch_geometric.utils import softmax as edge_softmax

from attnrec.model.batching import build_batch
from attnrec.model.neighbours import Neighbours
from attnrec.model.network import DualAttentionNet, masked_softmax


@dataclass
class Encoded:
    """A batch of B users as the suite sees it (E input edges, K neighbour slots).

    Attributes:
        users: (B,) user index of each batch row (a user may appear several times).
        edge_user: (E,) int64 batch-local user of each input edge, sorted ascending.
        edge_item: (E,) int64 item of each input edge: N(u) of each row.
        edge_weight: (E,) float32 input weight of each edge (target of gradient x input).
        sim_mask: (B, K) bool, True on real neighbour slots.
        payload: whatever the model needs to run the batch (opaque to the suite).
        cache: room for the model to keep results that no replacement changes.
    """

    users: np.ndarray
    edge_user: torch.Tensor
    edge_item: torch.Tensor
    edge_weight: torch.Tensor
    sim_mask: torch.Tensor
    payload: Any
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return int(self.sim_mask.shape[0])


@dataclass
class Forward:
    """One forward pass: logits over all items and the coefficients that were used.

    Attributes:
        logits: (B, n) scores; y^ is their softmax.
        rec_attention: (E,) alpha_rec over each row's N(u), summing to 1 per row.
        sim_attention: (B, K) alpha_sim over each row's neighbours, 0 on padding.
    """

    logits: torch.Tensor
    rec_attention: torch.Tensor
    sim_attention: torch.Tensor


@runtime_checkable
class AttentionModel(Protocol):
    """What the faithfulness suite needs from a model.

    Attributes:
        n_items: number of items (columns of y^).
        profiles: (users, n_items) CSR of the users' input profiles (scaled ratings).
        neighbours: each user's neighbour slots (index -1 on padding); used by the delta-rule.
        ratings: (users, n_items) CSR of raw ratings the neighbours gave (for the delta-rule).
        rating_max: top of the rating scale.
    """

    n_items: int
    profiles: sp.csr_matrix
    neighbours: Neighbours
    ratings: sp.csr_matrix
    rating_max: float

    def encode(self, users: np.ndarray, profiles: sp.csr_matrix | None = None) -> Encoded:
        """A batch of ``users`` (indices); ``profiles`` (one row per user) replaces their
        input profiles, e.g. with rated items removed. Neighbours always stay the users' own."""
        ...

    def forward(
        self,
        encoded: Encoded,
        rec_attention: torch.Tensor | None = None,
        sim_attention: torch.Tensor | None = None,
        edge_weight: torch.Tensor | None = None,
    ) -> Forward:
        """Run the batch; any given tensor replaces the model's own (E,), (B, K), (E,) values.
        Must be differentiable with respect to the replacements (no ``torch.no_grad`` inside)."""
        ...


class NetworkAdapter:
    """``AttentionModel`` over a ``DualAttentionNet``, its neighbours and its rating matrices.

    Args:
        network: the trained network (it is put in eval mode; its weights are never changed).
        profiles: (users, items) scaled ratings the model sees as input (training ratings for a
            model fitted on a split).
        neighbours: top-K neighbours of every user, computed on ``profiles``.
        ratings: raw ratings matching ``profiles`` (for the delta-rule).
        rating_max: top of the rating scale.
    """

    def __init__(
        self,
        network: DualAttentionNet,
        profiles: sp.csr_matrix,
        neighbours: Neighbours,
        ratings: sp.csr_matrix,
        rating_max: float,
    ) -> None:
        self.network = network.eval()
        self.n_items = int(network.n_items)
        self.profiles = profiles.tocsr()
        self.neighbours = neighbours
        self.ratings = ratings.tocsr()
        self.rating_max = float(rating_max)
        self.device = next(network.parameters()).device

    @classmethod
    def from_recommender(cls, model: Any) -> NetworkAdapter:
        """The adapter of a fitted ``DualAttentionRecommender`` (all its ratings as input)."""
        model._check_fitted()
        return cls(
            model.network_,
            model.scaled_,
            model.neighbours_,
            model.dataset_.ratings,
            model.rating_max_,
        )

    def encode(self, users: np.ndarray, profiles: sp.csr_matrix | None = None) -> Encoded:
        users = np.asarray(users, dtype=np.int64)
        rows = self.profiles[users] if profiles is None else profiles.tocsr()
        batch = build_batch(rows, self.neighbours.rows(users), self.profiles).to(self.device)
        encoded = Encoded(
            users=users,
            edge_user=batch.edge_user,
            edge_item=batch.edge_item,
            edge_weight=batch.edge_weight,
            sim_mask=batch.neighbour_local >= 0,
            payload=batch,
        )
        # a user repeated (with edited profiles, or with different overrides) has one Trace A,
        # and, with its own profile, one Trace B: both are then computed once and shared
        unique, inverse = np.unique(users, return_inverse=True)
        if len(unique) < len(users):
            encoded.cache["unique"] = (unique, torch.as_tensor(inverse, device=self.device))
            encoded.cache["own_profiles"] = profiles is None
        return encoded

    def forward(
        self,
        encoded: Encoded,
        rec_attention: torch.Tensor | None = None,
        sim_attention: torch.Tensor | None = None,
        edge_weight: torch.Tensor | None = None,
    ) -> Forward:
        """``DualAttentionNet.forward``, step by step, so that a trace no replacement touches
        is computed once per batch and reused (a test checks both give the same logits)."""
        batch = encoded.payload
        network = self.network

        # Trace A depends only on the neighbours and on alpha_sim
        if sim_attention is None:
            if "sim" not in encoded.cache:
                encoded.cache["sim"] = self._shared_similarity(encoded)
            sim_context, sim_alpha = encoded.cache["sim"]
        else:
            sim_context, sim_alpha = network.similarity_trace(batch, sim_attention)

        # Trace B depends on the input edges and on alpha_rec
        if rec_attention is None and edge_weight is None:
            if "rec" not in encoded.cache:
                encoded.cache["rec"] = self._shared_recommendation(encoded)
            rec_context, rec_layers = encoded.cache["rec"]
        else:
            if edge_weight is not None:
                batch = replace(batch, edge_weight=edge_weight)
            rec_context, rec_layers = network.recommendation_trace(batch, rec_attention)

        # F_Theta over both contexts and the item-item votes, as in DualAttentionNet.forward
        logits = network.logits(batch, sim_context, rec_context, rec_layers[-1])
        return Forward(logits, rec_layers[-1], sim_alpha)

    def _unique_batch(self, encoded: Encoded) -> Any:
        """The batch of the distinct users of a batch with repeated users (own profiles)."""
        if "unique_batch" not in encoded.cache:
            unique, _ = encoded.cache["unique"]
            encoded.cache["unique_batch"] = build_batch(
                self.profiles[unique], self.neighbours.rows(unique), self.profiles
            ).to(self.device)
        return encoded.cache["unique_batch"]

    def _shared_similarity(self, encoded: Encoded) -> tuple[torch.Tensor, torch.Tensor]:
        """Trace A without replacement, computed once per distinct user."""
        with torch.no_grad():
            if "unique" not in encoded.cache:
                return _detached(self.network.similarity_trace(encoded.payload))
            _, inverse = encoded.cache["unique"]
            context, alpha = self.network.similarity_trace(self._unique_batch(encoded))
            return context[inverse], alpha[inverse]

    def _shared_recommendation(self, encoded: Encoded) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Trace B without replacement, computed once per distinct user when the repeated
        rows keep the user's own profile."""
        with torch.no_grad():
            if "unique" not in encoded.cache or not encoded.cache["own_profiles"]:
                return _detached(self.network.recommendation_trace(encoded.payload))
            _, inverse = encoded.cache["unique"]
            small = self._unique_batch(encoded)
            context, layers = self.network.recommendation_trace(small)

            # edge e of row r is edge (e - start of r) of r's distinct user
            batch = encoded.payload
            row = batch.edge_user
            position = torch.arange(len(row), device=row.device) - batch.offsets[row]
            source = small.offsets[inverse[row]] + position
            return context[inverse], [alpha[source] for alpha in layers]


def _detached(value: Any) -> Any:
    """A trace's output with every tensor detached (cached results carry no graph)."""
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, (list, tuple)):
        return type(value)(_detached(v) for v in value)
    return value


# ----------------------------------------------------------------------------------------------
# operations on coefficient vectors grouped by user


def group_sum(values: torch.Tensor, groups: torch.Tensor, n_groups: int) -> torch.Tensor:
    """(G,) sum of ``values`` (E,) within each group id of ``groups`` (E,)."""
    return scatter(values, groups, dim=0, dim_size=n_groups, reduce="sum")


def group_softmax(logits: torch.Tensor, groups: torch.Tensor, n_groups: int) -> torch.Tensor:
    """(E,) softmax of ``logits`` within each group (the segment softmax of Trace B, Eq. 3)."""
    return edge_softmax(logits, groups, num_nodes=n_groups)


def normalise_groups(weights: torch.Tensor, groups: torch.Tensor, n_groups: int) -> torch.Tensor:
    """(E,) non-negative weights divided by their group's total (0 stays 0 in empty groups)."""
    totals = group_sum(weights, groups, n_groups)
    return weights / totals[groups].clamp(min=1e-30)


def normalise_rows(weights: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, K) weights restricted to ``mask`` and divided by their row's total (empty rows: 0)."""
    weights = weights * mask
    return weights / weights.sum(dim=-1, keepdim=True).clamp(min=1e-30)


def masked_row_softmax(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, K) softmax over the masked slots of each row (all-masked rows give zeros)."""
    return masked_softmax(logits, mask)


def candidate_mask(model: AttentionModel, users: np.ndarray) -> torch.Tensor:
    """(B, n) bool: True on the items each user has not rated (the items y^ is compared over)."""
    rows = model.profiles[np.asarray(users, dtype=np.int64)].tocsr()
    mask = np.ones((rows.shape[0], model.n_items), dtype=bool)
    mask[np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr)), rows.indices] = False
    return torch.as_tensor(mask)


def profile_rows(model: AttentionModel, user: int, keep: list[np.ndarray]) -> sp.csr_matrix:
    """One profile row per entry of ``keep``: user's profile restricted to those positions.

    Args:
        model: the model, for the user's profile.
        user: user index.
        keep: for each output row, positions (into the user's rated items) to keep.
    """
    row = model.profiles[[user]].tocsr()
    items, values = row.indices, row.data
    indptr = np.zeros(len(keep) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(k) for k in keep])
    picked = np.concatenate(keep).astype(np.int64) if keep else np.zeros(0, dtype=np.int64)
    # positions are kept in the profile's own (sorted) item order
    return sp.csr_matrix(
        (values[picked], items[picked], indptr), shape=(len(keep), model.n_items)
    ).sorted_indices()
