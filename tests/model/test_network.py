"""The network: attention distributions, overrides (permutations), and the loss by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch_geometric.utils import scatter

from attnrec.model.batching import build_batch
from attnrec.model.config import ModelConfig
from attnrec.model.neighbours import Neighbours, user_neighbours
from attnrec.model.network import DualAttentionNet, Output, loss_terms


def tiny_batch(corruption: float = 0.0):
    rng = np.random.default_rng(3)
    ratings = sp.random(12, 9, density=0.4, format="csr", random_state=3, dtype=np.float32)
    ratings.data = np.ceil(ratings.data * 5) / 5
    neighbours = user_neighbours(ratings, k=4)
    rows = np.arange(5)
    batch = build_batch(ratings[rows], neighbours.rows(rows), ratings, corruption, rng)
    return ratings, neighbours, batch


def network(**config) -> DualAttentionNet:
    torch.manual_seed(0)
    return DualAttentionNet(9, ModelConfig(embedding_dim=6, **config)).eval()


def test_recommendation_attention_is_a_distribution_over_rated_items() -> None:
    ratings, _, batch = tiny_batch()
    out = network()(batch)
    sums = scatter(out.rec_attention, batch.edge_user, dim=0, dim_size=5, reduce="sum")
    torch.testing.assert_close(sums, torch.ones(5))
    # the edges of user u are exactly the items u rated: attention lives on N(u) only
    for user in range(5):
        edges = batch.edge_item[batch.edge_user == user].tolist()
        assert edges == ratings[user].indices.tolist()
    assert (out.rec_attention > 0).all()


def test_similarity_attention_sums_to_one_and_is_zero_on_padding() -> None:
    _, neighbours, batch = tiny_batch()
    out = network()(batch)
    mask = torch.as_tensor(neighbours.index[:5] >= 0)
    assert (out.sim_attention[~mask] == 0).all()
    has = mask.any(dim=1)
    torch.testing.assert_close(out.sim_attention[has].sum(dim=1), torch.ones(int(has.sum())))


def test_identity_permutation_changes_nothing() -> None:
    _, _, batch = tiny_batch()
    net = network(n_layers=2)
    with torch.no_grad():
        out = net(batch)
        same = net(batch, rec_attention=out.rec_attention, sim_attention=out.sim_attention)
    torch.testing.assert_close(same.logits, out.logits)


def test_permuting_one_users_attention_changes_only_that_user() -> None:
    _, _, batch = tiny_batch()
    net = network()
    with torch.no_grad():
        out = net(batch)
        alpha = out.rec_attention.clone()
        first = torch.nonzero(batch.edge_user == 0).flatten()
        alpha[first] = alpha[first].flip(0)  # reverse user 0's coefficients over N(0)
        moved = net(batch, rec_attention=alpha)
    assert not torch.allclose(moved.logits[0], out.logits[0])
    torch.testing.assert_close(moved.logits[1:], out.logits[1:])


def test_permuting_similarity_changes_only_that_user() -> None:
    _, _, batch = tiny_batch()
    net = network()
    with torch.no_grad():
        out = net(batch)
        alpha = out.sim_attention.clone()
        alpha[0] = torch.zeros_like(alpha[0])
        alpha[0, 0] = 1.0  # all of user 0's attention on its first neighbour
        moved = net(batch, sim_attention=alpha)
    assert not torch.allclose(moved.logits[0], out.logits[0])
    torch.testing.assert_close(moved.logits[1:], out.logits[1:])


def test_loss_on_a_2_by_3_example_by_hand() -> None:
    # user 0 rated item 0 (scaled 1.0) and item 2 (0.5); user 1 rated item 1 (0.8)
    profiles = sp.csr_matrix(np.array([[1.0, 0, 0.5], [0, 0.8, 0]], dtype=np.float32))
    none = Neighbours(np.full((2, 1), -1), np.zeros((2, 1), dtype=np.float32))
    batch = build_batch(profiles, none, profiles)
    logits = torch.tensor([[0.0, math.log(2.0), 0.0], [0.0, 0.0, 0.0]])
    alpha = torch.tensor([0.25, 0.75, 1.0])  # edges: (0, 0), (0, 2), (1, 1)
    output = Output(logits, alpha, [alpha], torch.zeros(2, 1))

    accuracy, alignment = loss_terms(output, batch)

    # y^ of user 0 = [1/4, 1/2, 1/4]; ybar = [2/3, 0, 1/3] -> ln 4; user 1: ybar = e_1, y^ = 1/3
    assert math.isclose(accuracy.item(), (math.log(4) + math.log(3)) / 2, rel_tol=1e-6)
    # ybar over N(0) = [2/3, 1/3] against alpha [1/4, 3/4]; user 1 has one item: 0
    by_hand = -(2 / 3 * math.log(0.25) + 1 / 3 * math.log(0.75)) / 2
    assert math.isclose(alignment.item(), by_hand, rel_tol=1e-6)


@pytest.mark.parametrize("power", [0.0, 2.0])
def test_target_rating_power_on_the_2_by_3_example_by_hand(power: float) -> None:
    # the example above, with user 0's y^ = [1/2, 1/4, 1/4] so that ybar's shape matters
    profiles = sp.csr_matrix(np.array([[1.0, 0, 0.5], [0, 0.8, 0]], dtype=np.float32))
    none = Neighbours(np.full((2, 1), -1), np.zeros((2, 1), dtype=np.float32))
    batch = build_batch(profiles, none, profiles)
    logits = torch.tensor([[math.log(2.0), 0.0, 0.0], [0.0, 0.0, 0.0]])
    alpha = torch.tensor([0.25, 0.75, 1.0])
    output = Output(logits, alpha, [alpha], torch.zeros(2, 1))

    accuracy, alignment = loss_terms(output, batch, target_power=power)

    # ybar of user 0 over items 0 and 2 is [1, 0.5^q] / (1 + 0.5^q); user 1's stays e_1
    weights = np.array([1.0, 0.5**power]) / (1.0 + 0.5**power)
    user0 = -(weights[0] * math.log(1 / 2) + weights[1] * math.log(1 / 4))
    assert math.isclose(accuracy.item(), (user0 + math.log(3)) / 2, rel_tol=1e-6)
    # the alignment term keeps the paper's ybar: q only reshapes the accuracy target
    by_hand = -(2 / 3 * math.log(0.25) + 1 / 3 * math.log(0.75)) / 2
    assert math.isclose(alignment.item(), by_hand, rel_tol=1e-6)


def test_corruption_keeps_targets_and_at_least_one_input_per_user() -> None:
    _, _, clean = tiny_batch(corruption=0.0)
    _, _, noisy = tiny_batch(corruption=0.9)
    assert noisy.edge_item.numel() < clean.edge_item.numel()
    assert set(noisy.edge_user.tolist()) == set(clean.edge_user.tolist())
    torch.testing.assert_close(noisy.target_weight, clean.target_weight)


def test_gradients_reach_both_traces() -> None:
    _, _, batch = tiny_batch()
    net = network()
    net.train()
    accuracy, alignment = loss_terms(net(batch), batch)
    (accuracy + alignment).backward()
    assert net.W_A.grad is not None and net.W_A.grad.abs().sum() > 0
    assert net.W_B.grad is not None and net.W_B.grad.abs().sum() > 0


def test_users_without_any_neighbour() -> None:
    """A batch where no user has a neighbour (each rated an item nobody else rated)."""
    ratings = sp.csr_matrix(np.array([[1.0, 0, 0], [0, 0.8, 0], [0, 0, 0.6]], dtype=np.float32))
    neighbours = user_neighbours(ratings, k=2)
    assert (neighbours.index == -1).all()
    batch = build_batch(ratings, neighbours, ratings)
    net = DualAttentionNet(3, ModelConfig(embedding_dim=4))
    out = net(batch)
    assert torch.isfinite(out.logits).all()
    assert (out.sim_attention == 0).all()
    accuracy, alignment = loss_terms(out, batch)
    assert torch.isfinite(accuracy) and torch.isfinite(alignment)


def test_tied_output_layer_is_item_embeddings_plus_bias() -> None:
    # logits_j = h_simcx . W_A[j] + h(u, K) . W_B[j] + b_j, with no weights of its own
    _, _, batch = tiny_batch()
    net = network(output_layer="tied")
    assert not hasattr(net, "output")
    with torch.no_grad():
        net.output_bias.copy_(torch.arange(9, dtype=torch.float32))
        sim_context, _ = net.similarity_trace(batch)
        rec_context, _ = net.recommendation_trace(batch)
        logits = net(batch).logits
    for user in range(batch.n_users):
        for item in range(9):
            expected = sim_context[user] @ net.W_A[item] + rec_context[user] @ net.W_B[item]
            torch.testing.assert_close(logits[user, item], expected + item)
