"""Data-parallel training with torch.distributed (DDP), launched by torchrun.

Every rank holds the whole rating matrix (it is O(nnz), small next to the activations) and the
same model; each global mini-batch of users is split across the ranks, every rank computes the
loss of its share, and DDP averages the gradients. With the loss of a share weighted by its
size, the averaged gradient is exactly the gradient of the global batch's mean loss, so the
trajectory is the single-process trajectory up to floating-point summation order:

- the users' order per epoch comes from ``numpy.random.default_rng(seed)``, drawn identically on
  every rank (and, with ``corruption=0``, identical to :func:`attnrec.model.trainer.train`);
- the corruption mask of a user is drawn from its own seed ``(seed, epoch, user)``, so it does
  not depend on which rank the user lands on or on the number of ranks;
- the initial weights come from ``torch.manual_seed(seed)`` (DDP also broadcasts rank 0's);
- the top-K neighbours are computed in shards of users, one per rank, and gathered;
- early stopping uses the validation NDCG summed over all ranks' shares of the users.

Gloo on CPU, NCCL on GPU (one GPU per rank, ``LOCAL_RANK``). Run with::

    torchrun --nproc-per-node 2 -m attnrec.model.distributed --data ml-100k --out runs/ddp

docs/scaling.md explains multi-node runs.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from attnrec.data.dataset import RatingDataset
from attnrec.model.batching import build_batch
from attnrec.model.config import ModelConfig, TrainConfig
from attnrec.model.neighbours import Neighbours, top_k_cosine
from attnrec.model.network import DualAttentionNet, loss_terms
from attnrec.model.recommender import DualAttentionRecommender, scaled_ratings, set_item_item
from attnrec.model.trainer import (
    EarlyStopping,
    EpochRecord,
    TrainResult,
    holdout_split,
    liked_ratings,
    make_scheduler,
    ndcg_at_k,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    """Where this process stands in the job."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def distributed(self) -> bool:
        return dist.is_available() and dist.is_initialized() and self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_from_env(device: str = "auto") -> Context:
    """Join the process group that torchrun describes in the environment (or run alone).

    Args:
        device: "auto" (CUDA with NCCL when there is a GPU, else CPU with gloo), "cpu" or "cuda".

    Returns:
        The rank, world size and device of this process.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        where = torch.device("cuda", local_rank)
    else:
        where = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return Context(rank, world_size, where)


def shard(rows: np.ndarray, rank: int, world_size: int) -> np.ndarray:
    """This rank's part of ``rows``: contiguous, sizes differing by at most one."""
    return np.array_split(rows, world_size)[rank]


def distributed_neighbours(scaled: sp.csr_matrix, k: int | None, context: Context) -> Neighbours:
    """Top-K neighbours of every user, each rank computing one shard of users, then gathered."""
    users = np.arange(scaled.shape[0])
    mine = shard(users, context.rank, context.world_size)
    found = top_k_cosine(scaled[mine], scaled, k, exclude=mine, device=context.device)
    if not context.distributed:
        return found

    # gather the shards in rank order (padded to the largest shard, then trimmed)
    sizes = [len(shard(users, r, context.world_size)) for r in range(context.world_size)]
    index = _gather_rows(torch.as_tensor(found.index), sizes, context)
    similarity = _gather_rows(torch.as_tensor(found.similarity), sizes, context)
    return Neighbours(index.numpy(), similarity.numpy())


def train_distributed(
    network: DualAttentionNet,
    scaled: sp.csr_matrix,
    neighbours: Neighbours,
    model_config: ModelConfig,
    train_config: TrainConfig,
    context: Context,
    validation: sp.csr_matrix | None = None,
    mixed_precision: bool = False,
) -> TrainResult:
    """Fit ``network`` in place, every rank training on its share of each global batch.

    Args:
        network: the same freshly initialised network on every rank.
        scaled: training ratings over the scale's maximum (the whole matrix on every rank).
        neighbours: top-K neighbours of every user.
        model_config: corruption rate and lambda.
        train_config: epochs, global batch size, learning rate, patience, seed.
        context: rank, world size and device (``init_from_env``).
        validation: held-out ratings for early stopping (None: run every epoch).
        mixed_precision: bfloat16 autocast of the forward pass on CUDA (ignored on CPU).

    Returns:
        The training curve; the best epoch's weights are restored on every rank.
    """
    network.require_item_weights()
    network.to(context.device)
    validation = liked_ratings(validation, train_config.validation_relevance)
    model: torch.nn.Module = network
    if context.distributed:
        device_ids = [context.device.index] if context.device.type == "cuda" else None
        # an ablated trace leaves its parameters without gradients
        unused = not (model_config.use_similarity_trace and model_config.use_recommendation_trace)
        model = DistributedDataParallel(
            network, device_ids=device_ids, find_unused_parameters=unused
        )
    optimiser = torch.optim.Adam(
        model.parameters(), lr=train_config.learning_rate, weight_decay=train_config.weight_decay
    )
    scheduler = make_scheduler(optimiser, train_config)
    rng = np.random.default_rng(train_config.seed)
    users = np.flatnonzero(np.diff(scaled.indptr) > 0)
    result = TrainResult()
    stopper = EarlyStopping(network, train_config.patience, result)
    started = time.perf_counter()

    for epoch in range(1, train_config.epochs + 1):
        epoch_start = time.perf_counter()
        order = rng.permutation(users)
        totals = np.zeros(3)
        for start in range(0, len(order), train_config.batch_size):
            rows = order[start : start + train_config.batch_size]
            totals += _step(
                model, network, scaled, neighbours, rows, model_config, train_config.seed,
                epoch, context, optimiser, mixed_precision,
            )  # fmt: skip
        totals = _all_sum(torch.as_tensor(totals), context).numpy() / max(1, len(order))
        if scheduler is not None:
            scheduler.step()

        # early stopping on the validation NDCG of all ranks' users
        ndcg = None
        if validation is not None and validation.nnz > 0:
            ndcg = _validation_ndcg(network, scaled, neighbours, validation, train_config, context)
        record = EpochRecord(
            epoch=epoch,
            loss=float(totals[0]),
            accuracy_loss=float(totals[1]),
            alignment_loss=float(totals[2]),
            validation_ndcg=ndcg,
            seconds=time.perf_counter() - epoch_start,
        )
        result.history.append(record)
        if context.is_main:
            logger.info(
                "epoch %d: loss %.4f%s, %.1fs, %d ranks",
                epoch, record.loss, "" if ndcg is None else f", validation NDCG {ndcg:.4f}",
                record.seconds, context.world_size,
            )  # fmt: skip
        if stopper.update(epoch, ndcg):
            break

    stopper.restore_best()
    result.seconds = time.perf_counter() - started
    return result


def corrupt_per_user(
    profiles: sp.csr_matrix, users: np.ndarray, rate: float, seed: int, epoch: int
) -> sp.csr_matrix:
    """Drop each rating with probability ``rate``, the mask of user u drawn from (seed, epoch, u).

    Like the trainer's corruption, a user left with no rating keeps its first one.
    """
    keep = np.ones(profiles.nnz, dtype=bool)
    for position, user in enumerate(users):
        lo, hi = profiles.indptr[position], profiles.indptr[position + 1]
        if hi == lo:
            continue
        mask = np.random.default_rng([seed, epoch, int(user)]).random(hi - lo) >= rate
        mask[0] |= not mask.any()
        keep[lo:hi] = mask
    corrupted = profiles.copy()
    corrupted.data = np.where(keep, corrupted.data, 0.0).astype(corrupted.data.dtype)
    corrupted.eliminate_zeros()
    return corrupted


def _step(
    model: torch.nn.Module,
    network: DualAttentionNet,
    scaled: sp.csr_matrix,
    neighbours: Neighbours,
    rows: np.ndarray,
    model_config: ModelConfig,
    seed: int,
    epoch: int,
    context: Context,
    optimiser: torch.optim.Optimizer,
    mixed_precision: bool,
) -> np.ndarray:
    """One optimiser step on this rank's share of a global batch; returns summed (loss, acc, al)."""
    mine = shard(rows, context.rank, context.world_size)
    optimiser.zero_grad(set_to_none=True)

    # a rank without users in a short last batch still joins the gradient all-reduce: it runs
    # one user through the model with weight 0
    weight = len(mine) * context.world_size / len(rows)
    if len(mine) == 0:
        mine = rows[:1]

    # the share's batch, with per-user corruption masks
    profiles = scaled[mine]
    inputs = profiles
    if model_config.corruption > 0:
        inputs = corrupt_per_user(profiles, mine, model_config.corruption, seed, epoch)
    batch = build_batch(
        inputs, neighbours.rows(mine), scaled, targets=profiles, for_training=True
    ).to(context.device)

    # the share's summed loss x world / global size: DDP's mean is then the global mean's gradient
    with _autocast(context.device, mixed_precision):
        output = model(batch)
        accuracy, alignment = loss_terms(output, batch, model_config.target_rating_power)
    loss = accuracy + model_config.alignment_lambda * alignment
    (loss * weight).backward()
    optimiser.step()
    return (
        np.array([loss.item(), accuracy.item(), alignment.item()])
        * weight
        * len(rows)
        / context.world_size
    )


def _autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager[object]:
    """bfloat16 autocast on CUDA when asked; nothing on CPU."""
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _validation_ndcg(
    network: DualAttentionNet,
    scaled: sp.csr_matrix,
    neighbours: Neighbours,
    validation: sp.csr_matrix,
    train_config: TrainConfig,
    context: Context,
) -> float:
    """Mean validation NDCG over all users with held-out ratings, each rank scoring a share."""
    users = shard(np.flatnonzero(np.diff(validation.indptr) > 0), context.rank, context.world_size)
    total, count = 0.0, 0
    network.eval()
    with torch.no_grad():
        for part in _chunks(users, 512):
            batch = build_batch(scaled[part], neighbours.rows(part), scaled).to(context.device)
            logits = network(batch).logits.float().cpu().numpy()
            values = ndcg_at_k(logits, scaled[part], validation[part], train_config.validation_k)
            total += float(np.nansum(values))
            count += int(np.isfinite(values).sum())
    network.train()
    sums = _all_sum(torch.tensor([total, float(count)], dtype=torch.float64), context)
    return float(sums[0] / sums[1]) if sums[1] > 0 else float("nan")


def _chunks(rows: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _all_sum(values: torch.Tensor, context: Context) -> torch.Tensor:
    """Sum of a small CPU tensor over the ranks (itself when alone)."""
    if not context.distributed:
        return values
    moved = values.to(context.device)
    dist.all_reduce(moved, op=dist.ReduceOp.SUM)
    return moved.cpu()


def _gather_rows(part: torch.Tensor, sizes: list[int], context: Context) -> torch.Tensor:
    """Concatenate every rank's rows in rank order (shards may differ in size by one)."""
    largest = max(sizes)
    padded = torch.zeros((largest, *part.shape[1:]), dtype=part.dtype)
    padded[: len(part)] = part
    padded = padded.to(context.device)
    pieces = [torch.empty_like(padded) for _ in range(context.world_size)]
    dist.all_gather(pieces, padded)
    return torch.cat([p[:n].cpu() for p, n in zip(pieces, sizes, strict=True)])


def fit_distributed(
    dataset_path: str,
    model_config: ModelConfig,
    train_config: TrainConfig,
    context: Context,
    data_dir: str | None = None,
    mixed_precision: bool = False,
) -> tuple[DualAttentionRecommender, TrainResult]:
    """Load a data set, train on every rank, and (on every rank) return the fitted facade.

    The data set is a name or path for :func:`attnrec.data.loaders.load_dataset`, or
    ``synthetic:<shape>`` (``synthetic:ml-1m``) for seeded synthetic data.

    Returns:
        (DualAttentionRecommender with the trained network, the training curve).
    """
    # data: the same on every rank
    dataset = _load(dataset_path, data_dir, train_config.seed)
    torch.manual_seed(train_config.seed)
    scaled = scaled_ratings(dataset)
    k = None if model_config.n_neighbours == "all" else int(model_config.n_neighbours)

    # holdout, neighbours and the network, as DualAttentionRecommender.fit does them
    held_out = None
    fit_part = scaled
    if train_config.validation_fraction > 0:
        fit_part, held_out = holdout_split(
            scaled, train_config.validation_fraction, train_config.seed
        )
    neighbours = distributed_neighbours(fit_part, k, context)
    network = DualAttentionNet(dataset.n_items, model_config)
    set_item_item(network, fit_part)
    result = train_distributed(
        network, fit_part, neighbours, model_config, train_config, context, held_out,
        mixed_precision,
    )  # fmt: skip

    # the facade, with neighbours recomputed on every rating
    recommender = DualAttentionRecommender(model=model_config, train=train_config, progress=False)
    recommender.history_ = result
    if held_out is not None:
        set_item_item(network, scaled)  # B again, with the held-out ratings (as fit does)
    recommender._set_fitted(dataset, network.eval(), distributed_neighbours(scaled, k, context))
    return recommender, result


def _load(name: str, data_dir: str | None, seed: int) -> RatingDataset:
    """A RatingDataset from a name, a path, or ``synthetic:<shape>``."""
    if name.startswith("synthetic:"):
        from attnrec.data.synthetic import generate_preset

        return generate_preset(name.removeprefix("synthetic:"), seed=seed)
    from attnrec.data.loaders import load_dataset

    return load_dataset(name, data_dir=data_dir)


def main(argv: list[str] | None = None) -> None:
    """Entry point for ``torchrun ... -m attnrec.model.distributed``."""
    parser = argparse.ArgumentParser(
        prog="python -m attnrec.model.distributed", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--data", required=True, help="name, path, or synthetic:<shape>")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", required=True, help="run folder written by rank 0")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--epochs", type=int, default=TrainConfig.model_validate({}).epochs)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.model_validate({}).batch_size,
                        help="global batch size (split across ranks)")  # fmt: skip
    parser.add_argument(
        "--learning-rate", type=float, default=TrainConfig.model_validate({}).learning_rate
    )
    parser.add_argument("--neighbours", type=int, default=50)
    parser.add_argument("--dim", type=int, default=ModelConfig.model_validate({}).embedding_dim)
    parser.add_argument(
        "--validation-fraction",
        type=float,
        default=TrainConfig.model_validate({}).validation_fraction,
        help="share held out for early stopping (0: every rating, exactly --epochs epochs)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help='"auto", "cpu" or "cuda"')
    parser.add_argument("--amp", action="store_true", help="bfloat16 autocast on CUDA")
    args = parser.parse_args(argv)

    # logging: only the main rank speaks at INFO
    context = init_from_env(args.device)
    level = logging.INFO if context.is_main else logging.WARNING
    logging.basicConfig(level=level, format=f"[rank {context.rank}] %(levelname)s %(message)s")
    model_config = ModelConfig.model_validate(
        {"embedding_dim": args.dim, "n_neighbours": args.neighbours}
    )
    train_config = TrainConfig.model_validate(
        {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "validation_fraction": args.validation_fraction,
            "seed": args.seed,
            "device": str(context.device),
        }
    )
    try:
        recommender, result = fit_distributed(
            args.data, model_config, train_config, context, args.data_dir, args.amp
        )
        if context.is_main:
            from attnrec.runs import write_run

            write_run(recommender, Path(args.out), overwrite=args.overwrite)
            logger.info("wrote %s (best epoch %d)", args.out, result.best_epoch)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1:])
