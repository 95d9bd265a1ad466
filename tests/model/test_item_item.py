"""The item-item term: EASE's closed form, and its votes weighted by the recommendation
coefficients."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from attnrec.errors import ConfigError
from attnrec.model.batching import build_batch
from attnrec.model.config import ITEM_ITEM_MAX_ITEMS, ModelConfig, uses_item_item
from attnrec.model.item_item import ease_weights
from attnrec.model.neighbours import user_neighbours
from attnrec.model.network import DualAttentionNet
from attnrec.model.recommender import DualAttentionRecommender
from attnrec.runs import load_run, write_run
from attnrec.testing import random_ratings


def ratings_matrix(seed: int = 0, users: int = 15, items: int = 7) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((users, items)) < 0.45) * rng.integers(1, 6, (users, items))
    dense[:, -1] = 0  # an item nobody rated
    return sp.csr_matrix(dense.astype(np.float32) / 5)


def test_ease_columns_are_ridge_regressions_on_the_other_items() -> None:
    # EASE's B[:, j] minimises ||x_j - X_{-j} b||^2 + lam ||b||^2 over the other (rated) items
    ratings, lam = ratings_matrix(), 3.0
    weights = ease_weights(ratings, lam)
    x = (ratings.toarray() > 0).astype(np.float64)
    rated = np.flatnonzero(x.sum(axis=0) > 0)
    for j in rated:
        others = rated[rated != j]
        design = x[:, others]
        gram = design.T @ design + lam * np.eye(len(others))
        expected = np.linalg.solve(gram, design.T @ x[:, j])
        np.testing.assert_allclose(weights[others, j], expected, rtol=1e-4, atol=1e-6)
        assert weights[j, j] == 0.0


def test_ease_leaves_unrated_items_at_zero() -> None:
    weights = ease_weights(ratings_matrix(), 3.0)
    assert not weights[-1].any() and not weights[:, -1].any()


def test_ease_rejects_a_non_positive_lambda() -> None:
    with pytest.raises(ConfigError, match="lambda"):
        ease_weights(ratings_matrix(), 0.0)


def tiny_network(
    gain: float = 2.0, power: float = 0.0
) -> tuple[DualAttentionNet, sp.csr_matrix, np.ndarray]:
    ratings = ratings_matrix(1)
    torch.manual_seed(0)
    config = ModelConfig(
        embedding_dim=4, item_item="on", item_item_gain=gain, vote_rating_power=power
    )
    net = DualAttentionNet(7, config)
    weights = ease_weights(ratings, 3.0)
    net.set_item_weights(torch.from_numpy(weights))
    return net.eval(), ratings, weights


def test_uniform_attention_votes_are_ease_scores_times_the_gain() -> None:
    net, ratings, weights = tiny_network(gain=2.0)
    batch = build_batch(ratings, user_neighbours(ratings, k=3), ratings)
    counts = np.diff(ratings.indptr)
    uniform = torch.as_tensor(1.0 / counts[batch.edge_user.numpy()], dtype=torch.float32)
    votes = net.item_votes(batch, uniform).detach().numpy()
    ease_scores = (ratings.toarray() > 0) @ weights
    np.testing.assert_allclose(votes, 2.0 * ease_scores, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("power", [1.0, 2.0])
def test_uniform_attention_votes_are_ease_on_rating_weighted_inputs(power: float) -> None:
    # each rated item weighs |N(u)| r^p / sum r^p: the mean weight over u's items is 1
    net, ratings, weights = tiny_network(gain=2.0, power=power)
    batch = build_batch(ratings, user_neighbours(ratings, k=3), ratings)
    counts = np.diff(ratings.indptr)
    uniform = torch.as_tensor(1.0 / counts[batch.edge_user.numpy()], dtype=torch.float32)
    votes = net.item_votes(batch, uniform).detach().numpy()
    dense = ratings.toarray().astype(np.float64)
    powered = np.where(dense > 0, dense**power, 0.0)
    inputs = powered * (counts / np.maximum(powered.sum(axis=1), 1e-12))[:, None]
    np.testing.assert_allclose(votes, 2.0 * inputs @ weights, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("power", "expected"),
    [
        # item weights 2 x 0.5 x r / mean r = 10/7 and 4/7: votes 10/7 B[0] + 4/7 B[1]
        (1.0, [20 / 7, 20 / 7, 58 / 7]),
        # r^2 = 1 and 0.16, mean 0.58: weights 50/29 and 8/29
        (2.0, [40 / 29, 100 / 29, 206 / 29]),
    ],
)
def test_rating_weighted_votes_by_hand(power: float, expected: list[float]) -> None:
    # one user, items 0 and 1 rated 5 and 2 stars (1.0, 0.4 scaled), uniform attention
    ratings = sp.csr_matrix(np.array([[1.0, 0.4, 0.0]], dtype=np.float32))
    config = ModelConfig(
        embedding_dim=4, item_item="on", item_item_gain=1.0, vote_rating_power=power
    )
    net = DualAttentionNet(3, config)
    table = np.array([[0, 2, 3], [5, 0, 7], [11, 13, 0]], dtype=np.float32)
    net.set_item_weights(torch.from_numpy(table))
    batch = build_batch(ratings, user_neighbours(ratings, k=1), ratings)
    votes = net.eval().item_votes(batch, torch.tensor([0.5, 0.5])).detach().numpy()[0]
    np.testing.assert_allclose(votes, expected, rtol=1e-5)


def test_votes_follow_the_attention_item_by_item() -> None:
    # all of a user's attention on one item: its votes are |N(u)| x gamma x that item's row of B
    net, ratings, weights = tiny_network(gain=1.0)
    batch = build_batch(ratings[:1], user_neighbours(ratings, k=3).rows(np.array([0])), ratings)
    items = batch.edge_item.numpy()
    for position, item in enumerate(items):
        alpha = torch.zeros(len(items))
        alpha[position] = 1.0
        votes = net.item_votes(batch, alpha).detach().numpy()[0]
        np.testing.assert_allclose(votes, len(items) * weights[item], rtol=1e-5, atol=1e-6)


def test_permuting_the_attention_moves_the_logits_through_the_votes() -> None:
    net, ratings, _ = tiny_network()
    batch = build_batch(ratings, user_neighbours(ratings, k=3), ratings)
    with torch.no_grad():
        out = net(batch)
        flipped = net(batch, rec_attention=out.rec_attention.flip(0))
        plain = net.logits(batch, *_contexts(net, batch), out.rec_attention)
    torch.testing.assert_close(out.logits, plain)
    assert not torch.allclose(out.logits, flipped.logits)


def _contexts(net: DualAttentionNet, batch) -> tuple[torch.Tensor, torch.Tensor]:
    return net.similarity_trace(batch)[0], net.recommendation_trace(batch)[0]


def test_gradient_reaches_the_gain_and_the_attention() -> None:
    net, ratings, _ = tiny_network()
    net.train()
    batch = build_batch(ratings, user_neighbours(ratings, k=3), ratings)
    out = net(batch)
    torch.log_softmax(out.logits, -1)[:, 0].sum().backward()
    assert net.item_log_gain.grad is not None and net.item_log_gain.grad != 0
    assert net.layers[0].att_user.grad is not None and net.layers[0].att_user.grad.abs().sum() > 0


def test_auto_turns_the_term_on_up_to_the_item_limit() -> None:
    config = ModelConfig()
    assert uses_item_item(config, ITEM_ITEM_MAX_ITEMS)
    assert not uses_item_item(config, ITEM_ITEM_MAX_ITEMS + 1)
    assert uses_item_item(ModelConfig(item_item="on"), ITEM_ITEM_MAX_ITEMS + 1)
    assert not uses_item_item(ModelConfig(item_item="off"), 10)
    assert not hasattr(DualAttentionNet(5, ModelConfig(item_item="off")), "item_weights")


def test_a_saved_run_gives_back_b_and_the_same_scores(tmp_path) -> None:
    frame = random_ratings(30, 20, 0.3, seed=2)
    model = DualAttentionRecommender(
        embedding_dim=8, epochs=2, n_neighbours=5, progress=False, item_item="on"
    ).fit(frame)
    before = model.score()
    write_run(model, tmp_path / "run")
    loaded = load_run(tmp_path / "run")
    torch.testing.assert_close(loaded.network_.item_weights, model.network_.item_weights)
    np.testing.assert_allclose(loaded.score().to_numpy(), before.to_numpy(), rtol=1e-5, atol=1e-7)


def test_b_is_row_major() -> None:
    # LAPACK hands back Fortran order; a column-major B made the sparse x dense votes 30x slower
    assert ease_weights(ratings_matrix(), 3.0).flags["C_CONTIGUOUS"]
    net, _, _ = tiny_network()
    assert net.item_weights.is_contiguous()
