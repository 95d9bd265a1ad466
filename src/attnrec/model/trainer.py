"""Training of the dual-attention network: Adam over mini-batches of users, early stopping.

The best epoch (by validation NDCG on a seeded per-user holdout) is kept and restored.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch

from attnrec.errors import ConfigError
from attnrec.model.batching import build_batch
from attnrec.model.config import ModelConfig, TrainConfig
from attnrec.model.neighbours import Neighbours
from attnrec.model.network import DualAttentionNet, Output, loss_terms
from attnrec.progress import progress as progress_bar

logger = logging.getLogger(__name__)


@dataclass
class EpochRecord:
    """Figures of one epoch."""

    epoch: int
    loss: float
    accuracy_loss: float
    alignment_loss: float
    validation_ndcg: float | None
    seconds: float


@dataclass
class TrainResult:
    """The training curve and the epoch whose weights were kept."""

    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    best_validation_ndcg: float | None = None
    seconds: float = 0.0


def resolve_device(name: str) -> torch.device:
    """ "auto" -> CUDA when available, else CPU; any other name must be a device that exists."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device {name!r} is unknown; use auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"device {name!r} is not supported; use auto, cpu, cuda or cuda:N")
    if device.type == "cuda":
        available = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if available == 0:
            raise ConfigError(f"device {name!r}: no CUDA GPU is available here; use auto or cpu")
        if device.index is not None and device.index >= available:
            raise ConfigError(f"device {name!r}: only {available} CUDA GPU(s) here (cuda:0..)")
    return device


def holdout_split(
    ratings: sp.csr_matrix, fraction: float, seed: int
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Per-user random holdout of ``fraction`` of each user's ratings (at least one stays).

    Returns (train, held_out), two matrices of the same shape whose sum is ``ratings``.
    """
    rng = np.random.default_rng(seed)
    held = np.zeros(ratings.nnz, dtype=bool)
    for user in range(ratings.shape[0]):
        start, stop = ratings.indptr[user], ratings.indptr[user + 1]
        count = stop - start
        n_held = min(count - 1, math.floor(fraction * count))
        if n_held > 0:
            held[start + rng.choice(count, n_held, replace=False)] = True
    train, valid = ratings.copy(), ratings.copy()
    train.data = np.where(held, 0.0, train.data)
    valid.data = np.where(held, valid.data, 0.0)
    train.eliminate_zeros()
    valid.eliminate_zeros()
    return train.tocsr(), valid.tocsr()


def iterate_outputs(
    network: DualAttentionNet,
    profiles: sp.csr_matrix,
    neighbours: Neighbours,
    reference: sp.csr_matrix,
    batch_size: int = 512,
    device: torch.device | None = None,
) -> Iterator[tuple[np.ndarray, Output]]:
    """Forward passes over profile rows in batches, without gradients.

    Yields (row indices, Output) per batch; profiles and reference are scaled ratings.
    """
    device = device or next(network.parameters()).device
    network.eval()
    with torch.no_grad():
        for start in range(0, profiles.shape[0], batch_size):
            rows = np.arange(start, min(start + batch_size, profiles.shape[0]))
            batch = build_batch(profiles[rows], neighbours.rows(rows), reference).to(device)
            yield rows, network(batch)


def ndcg_at_k(
    scores: np.ndarray, seen: sp.csr_matrix, relevant: sp.csr_matrix, k: int
) -> np.ndarray:
    """Per-user NDCG@k with binary gain, ranking every item not in ``seen``; NaN without any
    relevant item. Used for early stopping; attnrec.evaluation has the full protocol."""
    scores = scores.copy()
    scores[seen.nonzero()] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    result = np.full(scores.shape[0], np.nan)
    for row in range(scores.shape[0]):
        truth = relevant.indices[relevant.indptr[row] : relevant.indptr[row + 1]]
        if len(truth) == 0:
            continue
        gains = np.isin(top[row], truth)
        ideal = discounts[: min(len(truth), k)].sum()
        result[row] = float((gains * discounts).sum() / ideal)
    return result


def train(
    network: DualAttentionNet,
    scaled: sp.csr_matrix,
    neighbours: Neighbours,
    model_config: ModelConfig,
    train_config: TrainConfig,
    validation: sp.csr_matrix | None = None,
    progress: bool = True,
) -> TrainResult:
    """Fit ``network`` in place on scaled ratings (users x items, values in (0, 1]).

    Args:
        network: the network to train; its best epoch's weights are restored at the end.
        scaled: training ratings divided by the scale's maximum.
        neighbours: top-K neighbours of every user, computed on ``scaled``.
        model_config: for the corruption rate and lambda.
        train_config: optimiser, batches, epochs, early stopping.
        validation: held-out ratings for early stopping (None: run every epoch).
        progress: show a progress bar (also needs a terminal).
    """
    network.require_item_weights()
    device = resolve_device(train_config.device)
    network.to(device)
    validation = liked_ratings(validation, train_config.validation_relevance)
    rng = np.random.default_rng(train_config.seed)
    optimiser = torch.optim.Adam(
        network.parameters(), lr=train_config.learning_rate, weight_decay=train_config.weight_decay
    )
    scheduler = make_scheduler(optimiser, train_config)
    users = np.flatnonzero(np.diff(scaled.indptr) > 0)
    result = TrainResult()
    stopper = EarlyStopping(network, train_config.patience, result)
    started = time.perf_counter()

    for epoch in range(1, train_config.epochs + 1):
        epoch_start = time.perf_counter()
        totals = _train_epoch(
            network,
            scaled,
            neighbours,
            users,
            model_config,
            train_config,
            optimiser,
            rng,
            device,
            epoch,
            progress,
        )

        if scheduler is not None:
            scheduler.step()

        # early stopping on the validation NDCG; without validation every epoch is "best"
        ndcg = None
        if validation is not None and validation.nnz > 0:
            ndcg = validation_ndcg(
                network, scaled, neighbours, validation, train_config.validation_k
            )
        record = EpochRecord(
            epoch, *totals, validation_ndcg=ndcg, seconds=time.perf_counter() - epoch_start
        )
        result.history.append(record)
        logger.info(
            "epoch %d: loss %.4f (accuracy %.4f, alignment %.4f)%s, %.1fs",
            epoch,
            record.loss,
            record.accuracy_loss,
            record.alignment_loss,
            "" if ndcg is None else f", validation NDCG@{train_config.validation_k} {ndcg:.4f}",
            record.seconds,
        )
        if stopper.update(epoch, ndcg):
            logger.info("early stop after epoch %d; best epoch %d", epoch, result.best_epoch)
            break

    stopper.restore_best()
    result.seconds = time.perf_counter() - started
    return result


def make_scheduler(
    optimiser: torch.optim.Optimizer, train_config: TrainConfig
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The step-size schedule, stepped once per epoch (None: constant). Shared by the
    single-process and the distributed trainers."""
    if train_config.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=train_config.epochs)
    return None


class EarlyStopping:
    """Keeps the weights of the epoch with the best validation NDCG and counts the patience.

    Without a validation NDCG (None) every epoch counts as the best. Shared by the
    single-process and the distributed trainers.
    """

    def __init__(self, network: torch.nn.Module, patience: int, result: TrainResult) -> None:
        self.network, self.patience, self.result = network, patience, result
        self.best_state: dict[str, torch.Tensor] | None = None
        self.stale = 0

    def update(self, epoch: int, ndcg: float | None) -> bool:
        """Record an epoch's NDCG; True when training should stop."""
        best = self.result.best_validation_ndcg
        if ndcg is None or best is None or ndcg > best:
            self.result.best_epoch, self.result.best_validation_ndcg = epoch, ndcg
            self.best_state = copy.deepcopy(self.network.state_dict())
            self.stale = 0
            return False
        self.stale += 1
        return self.stale >= self.patience

    def restore_best(self) -> None:
        """Load the best epoch's weights back and switch the network to evaluation."""
        if self.best_state is not None:
            self.network.load_state_dict(self.best_state)
        self.network.eval()


def _train_epoch(
    network: DualAttentionNet,
    scaled: sp.csr_matrix,
    neighbours: Neighbours,
    users: np.ndarray,
    model_config: ModelConfig,
    train_config: TrainConfig,
    optimiser: torch.optim.Optimizer,
    rng: np.random.Generator,
    device: torch.device,
    epoch: int,
    progress: bool,
) -> tuple[float, float, float]:
    """One pass over the users in a seeded random order; returns mean (loss, accuracy, align)."""
    network.train()
    order = rng.permutation(users)
    batches = range(0, len(order), train_config.batch_size)
    bar = progress_bar(batches, f"epoch {epoch}", progress, unit="batch")
    sums = np.zeros(3)
    for start in bar:
        rows = order[start : start + train_config.batch_size]
        batch = build_batch(
            scaled[rows],
            neighbours.rows(rows),
            scaled,
            corruption=model_config.corruption,
            rng=rng,
            for_training=True,
        ).to(device)

        # the paper's loss: accuracy cross-entropy + lambda x alignment cross-entropy
        with torch.autocast(
            device.type, dtype=torch.bfloat16, enabled=_mixed(train_config, device)
        ):
            output = network(batch)
            accuracy, alignment = loss_terms(output, batch, model_config.target_rating_power)
        loss = accuracy + model_config.alignment_lambda * alignment
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

        sums += np.array([loss.item(), accuracy.item(), alignment.item()]) * len(rows)
        bar.set_postfix(loss=f"{loss.item():.4f}")
    means = sums / max(1, len(order))
    return float(means[0]), float(means[1]), float(means[2])


def _mixed(train_config: TrainConfig, device: torch.device) -> bool:
    """bfloat16 autocast on CUDA when asked (no loss scaling needed); never on CPU, where it
    is slower. The softmax and log-softmax stay in float32 under autocast."""
    return train_config.mixed_precision and device.type == "cuda"


def liked_ratings(validation: sp.csr_matrix | None, threshold: float) -> sp.csr_matrix | None:
    """The held-out ratings at or above ``threshold`` (scaled), the relevant ones of the
    validation NDCG; all of them for a threshold of 0."""
    if validation is None or threshold <= 0:
        return validation
    liked = validation.tocsr(copy=True)
    liked.data[liked.data < threshold - 1e-6] = 0.0
    liked.eliminate_zeros()
    return liked


def validation_ndcg(
    network: DualAttentionNet,
    scaled: sp.csr_matrix,
    neighbours: Neighbours,
    validation: sp.csr_matrix,
    k: int,
) -> float:
    """Mean NDCG@k of the held-out ratings, over users that have some."""
    users = np.flatnonzero(np.diff(validation.indptr) > 0)
    values = []
    for rows, output in iterate_outputs(network, scaled[users], neighbours.rows(users), scaled):
        picked = users[rows]
        values.append(ndcg_at_k(output.logits.cpu().numpy(), scaled[picked], validation[picked], k))
    network.train()
    return float(np.nanmean(np.concatenate(values))) if values else float("nan")
