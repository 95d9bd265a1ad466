"""Robustness of the conclusions: models retrained on a held-out split, over seeds and lambdas.

The suite splits the run's ratings itself (a seeded per-user 80/20 random holdout), trains
models with the run's configs on the 80% (changing only the seed or lambda), and evaluates on
the 20%. Seed variance is the JSD between the coefficients that models trained with different
seeds give the same users; the lambda ablation runs the whole battery on each lambda's model.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from attnrec.data.dataset import RatingDataset
from attnrec.faithfulness.measures import group_jsd, jsd
from attnrec.faithfulness.protocol import NetworkAdapter
from attnrec.model.config import ModelConfig, TrainConfig
from attnrec.model.recommender import DualAttentionRecommender
from attnrec.model.trainer import holdout_split

logger = logging.getLogger(__name__)


@dataclass
class Split:
    """The suite's own train / held-out split of a dataset."""

    train: RatingDataset
    """The 80%: same users and items (and ids) as the full dataset, fewer ratings."""
    heldout: sp.csr_matrix
    """The 20%: raw ratings to find, users x items."""


@dataclass
class HoldoutModel:
    """A model trained on the split's 80%, with what the suite needs of it."""

    alignment_lambda: float
    seed: int
    adapter: NetworkAdapter
    best_epoch: int
    seconds: float


def split_dataset(dataset: RatingDataset, fraction: float = 0.2, seed: int = 0) -> Split:
    """Seeded per-user random holdout of ``fraction`` of each user's ratings."""
    train, heldout = holdout_split(dataset.ratings.tocsr(), fraction, seed)
    part = RatingDataset(
        users=dataset.users,
        items=dataset.items,
        ratings=train,
        rating_scale=dataset.rating_scale,
        titles=dataset.titles,
        name=f"{dataset.name} ({1 - fraction:.0%} train split)",
    )
    return Split(part, heldout)


def train_holdout_model(
    split: Split,
    model_config: ModelConfig,
    train_config: TrainConfig,
    alignment_lambda: float,
    seed: int,
) -> HoldoutModel:
    """Train the run's architecture on the split's 80% with one lambda and one seed."""
    started = time.perf_counter()
    model = DualAttentionRecommender(
        model_config.model_copy(update={"alignment_lambda": alignment_lambda}),
        train_config.model_copy(update={"seed": seed}),
        progress=False,
    ).fit(split.train)
    seconds = time.perf_counter() - started
    logger.info(
        "lambda %g, seed %d: trained in %.1fs (best epoch %d, validation NDCG %s)",
        alignment_lambda,
        seed,
        seconds,
        model.history_.best_epoch,
        model.history_.best_validation_ndcg,
    )
    return HoldoutModel(
        alignment_lambda,
        seed,
        NetworkAdapter.from_recommender(model),
        model.history_.best_epoch,
        seconds,
    )


def seed_jsd(
    adapters: Sequence[NetworkAdapter], users: Sequence[int] | np.ndarray, batch_size: int = 256
) -> pd.DataFrame:
    """Mean pairwise JSD (bits) between models' coefficients for the same users.

    The models must share their input profiles and neighbours (trained on one split), so that
    their coefficients are over the same N(u) and the same neighbours.

    Returns:
        One row per user: ``seed_jsd_rec`` and ``seed_jsd_sim``.
    """
    users = np.asarray(users, dtype=np.int64)
    rec: list[np.ndarray] = []
    sim: list[np.ndarray] = []
    for start in range(0, len(users), batch_size):
        part = users[start : start + batch_size]
        with torch.no_grad():
            outputs = [(a.encode(part), a) for a in adapters]
            forwards = [(enc, adapter.forward(enc)) for enc, adapter in outputs]
        pairs_rec, pairs_sim = [], []
        for (enc_a, out_a), (_, out_b) in itertools.combinations(forwards, 2):
            pairs_rec.append(
                group_jsd(out_a.rec_attention, out_b.rec_attention, enc_a.edge_user, len(part))
            )
            pairs_sim.append(jsd(out_a.sim_attention, out_b.sim_attention))
        rec.append(torch.stack(pairs_rec).mean(dim=0).cpu().numpy())
        sim.append(torch.stack(pairs_sim).mean(dim=0).cpu().numpy())
    return pd.DataFrame(
        {"user": users, "seed_jsd_rec": np.concatenate(rec), "seed_jsd_sim": np.concatenate(sim)}
    )
