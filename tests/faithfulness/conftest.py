"""Toy models whose faithfulness is known by construction, behind the suite's protocol.

``EchoModel``: item i of a profile "votes" for its echo item m + i, and y^ is the mixture of
the votes weighted by alpha_rec (times the input edge weights). The output depends only on the
attended items: faithful by construction.

``IgnoringModel``: y^ is a fixed linear function of the input profile; both coefficient
families are computed and returned but never used.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from attnrec.faithfulness.protocol import Encoded, Forward, group_softmax, masked_row_softmax
from attnrec.model.neighbours import Neighbours


def toy_profiles(n_users: int, m: int, n_items: int, seed: int) -> sp.csr_matrix:
    """Each user rates 3..m of the first m items, ratings scaled to (0, 1]."""
    rng = np.random.default_rng(seed)
    rows, cols, vals = [], [], []
    for user in range(n_users):
        items = np.sort(rng.choice(m, rng.integers(3, m + 1), replace=False))
        rows += [user] * len(items)
        cols += items.tolist()
        vals += (rng.integers(1, 6, len(items)) / 5).tolist()
    return sp.csr_matrix((vals, (rows, cols)), shape=(n_users, n_items), dtype=np.float32)


class _ToyBase:
    """Shared encoding: edges from the CSR rows, K neighbour slots from ``neighbours``."""

    def __init__(self, profiles: sp.csr_matrix, neighbours: Neighbours) -> None:
        self.profiles = profiles.tocsr()
        self.n_items = int(profiles.shape[1])
        self.neighbours = neighbours
        self.ratings = self.profiles.copy()
        self.ratings.data = self.ratings.data * 5
        self.rating_max = 5.0

    def encode(self, users: np.ndarray, profiles: sp.csr_matrix | None = None) -> Encoded:
        users = np.asarray(users, dtype=np.int64)
        rows = (self.profiles[users] if profiles is None else profiles).tocsr()
        counts = np.diff(rows.indptr)
        return Encoded(
            users=users,
            edge_user=torch.as_tensor(np.repeat(np.arange(len(users)), counts)),
            edge_item=torch.as_tensor(rows.indices.astype(np.int64)),
            edge_weight=torch.ones(rows.nnz, dtype=torch.float64),
            sim_mask=torch.as_tensor(self.neighbours.index[users] >= 0),
            payload=None,
        )


class EchoModel(_ToyBase):
    """Faithful by construction: y^ = sum_e alpha_e w_e onehot(m + item_e), renormalised."""

    def __init__(self, n_users: int = 12, m: int = 8, seed: int = 0) -> None:
        profiles = toy_profiles(n_users, m, 2 * m, seed)
        empty = Neighbours(np.full((n_users, 1), -1), np.zeros((n_users, 1), dtype=np.float32))
        super().__init__(profiles, empty)
        self.m = m
        # distinct item scores: distinct attention values within every profile
        self.item_score = torch.as_tensor(np.random.default_rng(seed).permutation(m) * 0.7)

    def forward(
        self,
        encoded: Encoded,
        rec_attention: torch.Tensor | None = None,
        sim_attention: torch.Tensor | None = None,
        edge_weight: torch.Tensor | None = None,
    ) -> Forward:
        n_rows = encoded.n_rows
        alpha = group_softmax(
            self.item_score[encoded.edge_item].double(), encoded.edge_user, n_rows
        )
        alpha = alpha if rec_attention is None else rec_attention
        weight = encoded.edge_weight if edge_weight is None else edge_weight
        mixture = torch.zeros(n_rows, self.n_items, dtype=torch.float64)
        mixture = mixture.index_put(
            (encoded.edge_user, self.m + encoded.edge_item), alpha * weight, accumulate=True
        )
        sim = torch.zeros(encoded.sim_mask.shape, dtype=torch.float64)
        return Forward(torch.log(mixture + 1e-12), alpha, sim)


class IgnoringModel(_ToyBase):
    """Ignores its attention: logits = sum_e w_e v_e W[item_e]; both families are unused."""

    def __init__(self, n_users: int = 12, m: int = 8, k: int = 4, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        profiles = toy_profiles(n_users, m, 2 * m, seed)
        index = np.stack([rng.choice(n_users, k, replace=False) for _ in range(n_users)])
        cosine = np.sort(rng.random((n_users, k)).astype(np.float32), axis=1)[:, ::-1].copy()
        super().__init__(profiles, Neighbours(index, cosine))
        self.W = torch.as_tensor(rng.normal(size=(2 * m, 2 * m)))
        self.item_score = torch.as_tensor(rng.normal(size=2 * m))
        self.slot_score = torch.as_tensor(rng.normal(size=k))

    def forward(
        self,
        encoded: Encoded,
        rec_attention: torch.Tensor | None = None,
        sim_attention: torch.Tensor | None = None,
        edge_weight: torch.Tensor | None = None,
    ) -> Forward:
        n_rows = encoded.n_rows
        alpha = group_softmax(self.item_score[encoded.edge_item], encoded.edge_user, n_rows)
        sim = masked_row_softmax(self.slot_score.expand(n_rows, -1), encoded.sim_mask)
        weight = encoded.edge_weight if edge_weight is None else edge_weight
        logits = torch.zeros(n_rows, self.n_items, dtype=torch.float64).index_add(
            0, encoded.edge_user, weight.unsqueeze(-1) * self.W[encoded.edge_item]
        )
        return Forward(
            logits,
            alpha if rec_attention is None else rec_attention,
            sim if sim_attention is None else sim_attention,
        )


@pytest.fixture
def echo() -> EchoModel:
    return EchoModel()


@pytest.fixture
def ignoring() -> IgnoringModel:
    return IgnoringModel()
