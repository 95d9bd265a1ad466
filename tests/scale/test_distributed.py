"""DDP with 2 gloo processes against single-process training on the same seed.

The design makes the two exactly equal in exact arithmetic: the same global batches, each
rank's loss weighted by its share, gradients averaged by DDP, corruption masks seeded per user.
What remains is floating-point summation order, so weights agree to ``ATOL`` after a few epochs.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.distributed as dist

from attnrec.data.synthetic import generate
from attnrec.model.config import ModelConfig, TrainConfig
from attnrec.model.distributed import (
    Context,
    corrupt_per_user,
    distributed_neighbours,
    shard,
    train_distributed,
)
from attnrec.model.neighbours import user_neighbours
from attnrec.model.network import DualAttentionNet
from attnrec.model.recommender import scaled_ratings, set_item_item
from attnrec.model.trainer import holdout_split, train

#: largest absolute difference allowed between any weight of the two runs (float32 round-off
#: through 12 Adam steps; a wrong gradient average or batch split moves weights by ~1e-3)
ATOL = 2e-5

# 40 users, global batch 13: batches of 13, 13, 13 and 1, so one rank gets no user in the last
USERS, ITEMS, RATINGS, BATCH, EPOCHS = 40, 30, 400, 13, 3


def configs(corruption: float) -> tuple[ModelConfig, TrainConfig]:
    model = ModelConfig.model_validate(
        {"embedding_dim": 8, "n_neighbours": 5, "corruption": corruption}
    )
    training = TrainConfig.model_validate(
        {"epochs": EPOCHS, "batch_size": BATCH, "validation_fraction": 0.0, "seed": 3,
         "device": "cpu", "patience": 100, "lr_schedule": "cosine"}
    )  # fmt: skip
    return model, training


def fit(context: Context, corruption: float, use_trainer: bool = False) -> dict[str, torch.Tensor]:
    """Train from seed on the tiny synthetic data; returns the final weights."""
    dataset = generate(USERS, ITEMS, RATINGS, seed=1)
    scaled = scaled_ratings(dataset)
    model, training = configs(corruption)
    torch.manual_seed(training.seed)
    network = DualAttentionNet(dataset.n_items, model)
    set_item_item(network, scaled)  # the default model's item-item term, on every rank
    if use_trainer:
        neighbours = user_neighbours(scaled, 5)
        train(network, scaled, neighbours, model, training, progress=False)
    else:
        neighbours = distributed_neighbours(scaled, 5, context)
        train_distributed(network, scaled, neighbours, model, training, context)
    return {k: v.detach().clone() for k, v in network.state_dict().items()}


def _worker(rank: int, world: int, rendezvous: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world)
    try:
        context = Context(rank, world, torch.device("cpu"))
        results = {str(c): fit(context, c) for c in (0.0, 0.5)}
        if rank == 0:
            torch.save(results, out)
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, torch.Tensor]]:
    folder = tmp_path_factory.mktemp("ddp")
    out = folder / "weights.pt"
    # this file run as a script, once per rank (spawn could not import the tests package)
    command = [sys.executable, __file__, "2", str(folder / "rendezvous"), str(out)]
    ranks = [subprocess.Popen([*command[:2], str(r), *command[2:]]) for r in range(2)]
    codes = [process.wait(timeout=600) for process in ranks]
    assert codes == [0, 0]
    return torch.load(out)


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


@pytest.mark.slow
def test_two_gloo_ranks_match_the_single_process_trainer(two_ranks) -> None:
    # without corruption the DDP run must follow attnrec.model.trainer.train itself
    alone = fit(Context(0, 1, torch.device("cpu")), 0.0, use_trainer=True)
    assert max_difference(two_ranks["0.0"], alone) < ATOL


@pytest.mark.slow
def test_two_gloo_ranks_match_one_process_with_corruption(two_ranks) -> None:
    alone = fit(Context(0, 1, torch.device("cpu")), 0.5)
    assert max_difference(two_ranks["0.5"], alone) < ATOL
    # and training did move the weights (the comparison is not between two untrained nets)
    torch.manual_seed(3)
    untrained = DualAttentionNet(ITEMS, configs(0.5)[0]).state_dict()
    assert max_difference(alone, untrained) > 100 * ATOL


def test_shards_cover_every_row_once() -> None:
    rows = np.arange(11)
    parts = [shard(rows, r, 3) for r in range(3)]
    assert np.concatenate(parts).tolist() == rows.tolist()
    assert [len(p) for p in parts] == [4, 4, 3]
    assert len(shard(np.arange(1), 1, 2)) == 0


def test_corruption_mask_depends_on_user_not_on_batch() -> None:
    dataset = generate(10, 20, 100, seed=0)
    scaled = scaled_ratings(dataset)
    users = np.arange(10)
    together = corrupt_per_user(scaled[users], users, 0.5, seed=7, epoch=2)
    alone = corrupt_per_user(scaled[[4]], users[[4]], 0.5, seed=7, epoch=2)
    assert together[4].indices.tolist() == alone[0].indices.tolist()
    # every user keeps at least one rating, and about half are dropped
    assert (np.diff(together.indptr) >= 1).all()
    assert 0.3 < together.nnz / scaled.nnz < 0.7
    # another epoch draws another mask
    other = corrupt_per_user(scaled[users], users, 0.5, seed=7, epoch=3)
    assert other.indices.tolist() != together.indices.tolist()


def test_holdout_is_seeded_like_the_trainer() -> None:
    scaled = scaled_ratings(generate(20, 15, 120, seed=0))
    a, _ = holdout_split(scaled, 0.2, seed=5)
    b, _ = holdout_split(scaled, 0.2, seed=5)
    assert (a != b).nnz == 0


if __name__ == "__main__":
    _worker(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])


def test_training_without_b_says_what_to_do() -> None:
    dataset = generate(USERS, ITEMS, RATINGS, seed=1)
    scaled = scaled_ratings(dataset)
    model, training = configs(0.0)
    network = DualAttentionNet(dataset.n_items, model)
    context = Context(0, 1, torch.device("cpu"))
    with pytest.raises(ValueError, match="set_item_item"):
        train_distributed(network, scaled, user_neighbours(scaled, 5), model, training, context)


def test_single_process_training_without_b_says_what_to_do() -> None:
    dataset = generate(USERS, ITEMS, RATINGS, seed=1)
    scaled = scaled_ratings(dataset)
    model, training = configs(0.0)
    network = DualAttentionNet(dataset.n_items, model)
    with pytest.raises(ValueError, match="set_item_item"):
        train(network, scaled, user_neighbours(scaled, 5), model, training, progress=False)
