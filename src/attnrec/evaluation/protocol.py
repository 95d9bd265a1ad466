"""The evaluation protocol: split, fit every model, rank, score per user, summarise.

``evaluate(dataset, models, split, ks, relevance_threshold)`` fits each model on the training
part of the split and ranks, for every test user, every item except the user's training (or
fold-in) items. Users without a relevant test item, and users without any training rating, are
skipped and counted; test items no model could have learnt about (no training rating) stay in
the ranking and are counted. An empty test set is an error.

attnrec is fitted on raw ratings (the model uses the values) and reported twice: unconstrained
top-n (``attnrec``) and with the paper's delta-rule (``attnrec-delta``: only explainable items,
in score order, with no fallback). The baselines see binarised training data.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from tqdm.auto import tqdm

from attnrec.data.dataset import RatingDataset
from attnrec.errors import ConfigError, DataError
from attnrec.evaluation import metrics as m
from attnrec.evaluation.baselines import (
    ALS,
    EASE,
    ItemKNN,
    MostPopular,
    Prediction,
    Recommender,
    UserKNN,
    Variant,
)
from attnrec.evaluation.splits import Split, make_split
from attnrec.evaluation.stats import PairedTest, confidence_interval, paired_test
from attnrec.explain.delta_rule import Deltas, apply_delta_rule, top_n_unconstrained

logger = logging.getLogger(__name__)

MODEL_NAMES: tuple[str, ...] = ("most-popular", "user-knn", "item-knn", "ease", "als", "attnrec")


class AttnrecModel(Recommender):
    """attnrec's DualAttentionRecommender under the protocol, with its delta-rule variant.

    Args:
        delta: the delta-rule threshold (default 0.8) for the ``attnrec-delta`` variant.
        explain_n: list length at which the explainable shares are reported.
        progress: show the training progress bar (only on a terminal).
        **params: any field of ModelConfig or TrainConfig.
    """

    name = "attnrec"

    def __init__(
        self, delta: float | None = None, explain_n: int = 10, progress: bool = False, **params: Any
    ) -> None:
        from attnrec.model.recommender import DualAttentionRecommender

        self.deltas = Deltas.resolve(delta)
        self.explain_n = explain_n
        self.params = params
        # built now so that a bad parameter fails before any fitting
        self.model = DualAttentionRecommender(progress=progress, **params)

    def fit(self, train: RatingDataset) -> AttnrecModel:
        self.model_ = self.model.fit(train)
        return self

    def _forward(
        self, rows: np.ndarray, profiles: sp.csr_matrix, new_users: bool
    ) -> tuple[np.ndarray, np.ndarray, Any]:
        """Scores y^, alpha_sim and the neighbours of a batch of users."""
        from attnrec.model.neighbours import top_k_cosine

        self._check_fitted("model_")
        model = self.model_
        scaled = profiles.astype(np.float32)
        scaled.data /= np.float32(model.rating_max_)
        if new_users:
            k = model.model_config.n_neighbours
            neighbours = top_k_cosine(
                scaled, model.scaled_, None if k == "all" else int(k), rows, device=model.device
            )
        else:
            neighbours = model.neighbours_.rows(rows)
        _, output = model._forward(scaled, neighbours)
        scores = torch.softmax(output.logits, -1).cpu().numpy()
        return scores, output.sim_attention.cpu().numpy(), neighbours

    def score(
        self, rows: np.ndarray, profiles: sp.csr_matrix, new_users: bool = False
    ) -> np.ndarray:
        return self._forward(rows, profiles, new_users)[0]

    def predict(
        self, rows: np.ndarray, profiles: sp.csr_matrix, new_users: bool, depth: int
    ) -> Prediction:
        """Unconstrained scores, plus the delta-rule list (explainable items, best first)."""
        scores, alpha_sim, neighbours = self._forward(rows, profiles, new_users)
        model = self.model_
        lists, explained_top = [], []
        for position in range(len(rows)):
            rated = profiles.indices[profiles.indptr[position] : profiles.indptr[position + 1]]
            # every explainable item in score order; the delta-rule list is its head
            chosen = apply_delta_rule(
                scores[position],
                rated,
                neighbours.index[position],
                neighbours.similarity[position],
                alpha_sim[position],
                model.dataset_.ratings,
                model.rating_max_,
                len(scores[position]),
                self.deltas,
            )
            explainable = np.array([c.item for c in chosen], dtype=np.int64)
            lists.append(explainable[:depth])

            # share of the unconstrained top explain_n that the rule can explain
            top = [c.item for c in top_n_unconstrained(scores[position], rated, self.explain_n)]
            explained_top.append(np.isin(top, explainable).mean() if top else np.nan)
        n_listed = np.array([min(len(x), self.explain_n) for x in lists], dtype=np.float64)
        variant = Variant(
            "attnrec-delta",
            lists,
            {
                f"explainable_items@{self.explain_n}": n_listed,
                f"full_explainable_list@{self.explain_n}": (n_listed >= self.explain_n) * 1.0,
                "any_explainable": (n_listed > 0) * 1.0,
            },
        )
        extras = {f"explainable_share@{self.explain_n}": np.asarray(explained_top)}
        return Prediction(scores, extras, [variant])


#: the keyword options of build_models
BUILD_OPTIONS = {"knn_k", "item_k", "ease_lambda", "als_factors", "seed", "delta", "attnrec"}


def build_models(names: Sequence[str], **params: Any) -> list[Recommender]:
    """Models by name (``MODEL_NAMES``), with their options.

    Args:
        names: model names.
        **params: ``knn_k`` (user-knn), ``item_k`` (item-knn), ``ease_lambda``, ``als_factors``,
            ``seed`` (als and attnrec), ``delta``, and ``attnrec`` (a dict of ModelConfig /
            TrainConfig fields).
    """
    unknown = sorted(set(params) - BUILD_OPTIONS)
    if unknown:
        raise ConfigError(
            f"option {unknown[0]!r} is unknown; use some of {', '.join(sorted(BUILD_OPTIONS))}"
        )
    if isinstance(names, str):
        raise ConfigError(f"give the model names as a list, e.g. [{names!r}], not a string")
    models: list[Recommender] = []
    for name in names:
        if name == "most-popular":
            models.append(MostPopular())
        elif name == "user-knn":
            models.append(UserKNN(params.get("knn_k", 50)))
        elif name == "item-knn":
            models.append(ItemKNN(params.get("item_k", 100)))
        elif name == "ease":
            models.append(EASE(params.get("ease_lambda", 500.0)))
        elif name == "als":
            models.append(ALS(factors=params.get("als_factors", 64), seed=params.get("seed", 0)))
        elif name == "attnrec":
            options = dict(params.get("attnrec") or {})
            options.setdefault("seed", params.get("seed", 0))
            models.append(AttnrecModel(delta=params.get("delta"), **options))
        else:
            raise ConfigError(f"model {name!r} is unknown; use some of {', '.join(MODEL_NAMES)}")
    return models


@dataclass
class ModelResult:
    """Per-user metrics of one model (or variant) and its costs.

    Attributes:
        name: reported name.
        fit_seconds: time to fit (a variant reports its model's fit).
        score_seconds: time to score and rank every evaluated user.
        per_user: one row per evaluated user (index: raw user id), one column per metric.
        coverage: ``coverage@k`` over the evaluated users.
    """

    name: str
    fit_seconds: float
    score_seconds: float
    per_user: pd.DataFrame
    coverage: dict[str, float] = field(default_factory=dict)


@dataclass
class EvaluationResult:
    """Everything one evaluation measured."""

    dataset: str
    split: str
    ks: tuple[int, ...]
    relevance_threshold: float
    seed: int
    counts: dict[str, int]
    models: list[ModelResult]

    def model(self, name: str) -> ModelResult:
        for result in self.models:
            if result.name == name:
                return result
        known = ", ".join(r.name for r in self.models)
        raise ConfigError(f"model {name!r} was not evaluated; evaluated: {known}")

    def summary(self, level: float = 0.95, method: str = "t") -> pd.DataFrame:
        """Models x (metric, metric_low, metric_high ...), coverage, fit and score seconds."""
        rows = []
        for result in self.models:
            row: dict[str, Any] = {"model": result.name}
            for column in result.per_user.columns:
                interval = confidence_interval(result.per_user[column].to_numpy(), level, method)
                row[column], row[f"{column}_low"], row[f"{column}_high"] = (
                    interval.mean,
                    interval.low,
                    interval.high,
                )
            row.update(result.coverage)
            row["fit_seconds"] = result.fit_seconds
            row["score_seconds"] = result.score_seconds
            rows.append(row)
        return pd.DataFrame(rows).set_index("model")

    def paired(self, metric: str, a: str, b: str, test: str = "wilcoxon") -> PairedTest:
        """Paired test of model a against model b on one per-user metric."""
        return paired_test(
            self.model(a).per_user[metric], self.model(b).per_user[metric], metric, (a, b), test
        )


def evaluate(
    dataset: RatingDataset,
    models: Sequence[Recommender | str],
    split: Split | str = "random",
    ks: Sequence[int] = (10, 20),
    relevance_threshold: float = 4.0,
    test_fraction: float = 0.2,
    seed: int = 0,
    batch_size: int = 256,
    progress: bool = True,
) -> EvaluationResult:
    """Fit and evaluate models under one protocol.

    Args:
        dataset: the full dataset.
        models: Recommender objects, or names from ``MODEL_NAMES`` (default options).
        split: a Split of ``dataset``, or the name of one (see ``attnrec.evaluation.splits``).
        ks: cut-offs.
        relevance_threshold: a test rating at or above it is relevant.
        test_fraction: of a split given by name.
        seed: of a split given by name, and of the coverage tie-break.
        batch_size: users scored at once.
        progress: progress bars (only on a terminal).

    Returns:
        Per-user metrics and costs of every model, with the protocol's counts.
    """
    ks = m.check_ks(ks)
    if ks[-1] > dataset.n_items:
        raise ConfigError(
            f"cut-off k={ks[-1]} is larger than the {dataset.n_items} items of {dataset.name}; "
            "give smaller cut-offs"
        )
    if batch_size < 1:
        raise ConfigError(f"batch_size={batch_size} must be at least 1")
    if isinstance(split, str):
        split = make_split(dataset, split, test_fraction, seed)
    if isinstance(models, str):
        raise ConfigError(f"give the models as a list, e.g. [{models!r}], not a string")
    resolved = [build_models([x], seed=seed)[0] if isinstance(x, str) else x for x in models]
    if not resolved:
        raise ConfigError("no model to evaluate; pass at least one")
    names = [model.name for model in resolved]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"model {repeated[0]!r} is listed twice; give each model once")

    # who is evaluated, and what is counted
    users, relevant, counts = _test_users(dataset, split, relevance_threshold)
    train = split.train_dataset(dataset)
    logger.info(
        "%s, %s split: %d test users evaluated, %d without relevant items, %d without profile",
        dataset.name,
        split.kind,
        counts["users_evaluated"],
        counts["users_skipped_no_relevant"],
        counts["users_skipped_no_profile"],
    )

    results: list[ModelResult] = []
    for model in resolved:
        # fit on the training part
        started = time.perf_counter()
        model.fit(train)
        fit_seconds = time.perf_counter() - started
        logger.info("%s fitted in %.1fs", model.name, fit_seconds)

        # rank every evaluated user; the variants come from the same forward pass
        started = time.perf_counter()
        scored = _score_model(
            model, split, users, relevant, ks, dataset, seed, batch_size, progress
        )
        score_seconds = time.perf_counter() - started
        for name, (per_user, tops) in scored.items():
            results.append(
                ModelResult(
                    name,
                    fit_seconds,
                    score_seconds,
                    per_user,
                    m.coverage(tops, dataset.n_items, ks),
                )
            )
    return EvaluationResult(
        dataset.name, split.kind, ks, relevance_threshold, split.seed, counts, results
    )


def _test_users(
    dataset: RatingDataset, split: Split, threshold: float
) -> tuple[np.ndarray, list[np.ndarray], dict[str, int]]:
    """Evaluated user indices, their relevant items, and the protocol's counts."""
    test, profiles = split.test, split.profiles
    if test.nnz == 0:
        raise DataError(
            f"{dataset.name}: the {split.kind} split has an empty test set; "
            "raise the test fraction or use another split"
        )
    has_test = np.diff(test.indptr) > 0
    has_profile = np.diff(profiles.indptr) > 0
    relevant = [m.relevant_items(test, u, threshold) for u in range(test.shape[0])]
    has_relevant = np.array([len(r) > 0 for r in relevant])
    users = np.flatnonzero(has_test & has_relevant & has_profile)

    # test items that no training rating tells any model about
    known = np.diff(split.train.tocsc().indptr) > 0
    unknown_ratings = ~known[test.indices]
    counts = {
        "users": int(dataset.n_users),
        "items": int(dataset.n_items),
        "train_ratings": int(split.train.nnz),
        "test_ratings": int(test.nnz),
        "relevant_test_ratings": int(sum(len(r) for r in relevant)),
        "test_users": int(has_test.sum()),
        "users_evaluated": len(users),
        "users_skipped_no_relevant": int((has_test & ~has_relevant).sum()),
        "users_skipped_no_profile": int((has_test & has_relevant & ~has_profile).sum()),
        "unknown_test_items": len(np.unique(test.indices[unknown_ratings])),
        "unknown_test_ratings": int(unknown_ratings.sum()),
    }
    if len(users) == 0:
        raise DataError(
            f"{dataset.name}: no test user has a relevant item (rating >= {threshold:g}) and a "
            "training profile; lower the relevance threshold or change the split"
        )
    return users, [relevant[u] for u in users], counts


def _score_model(
    model: Recommender,
    split: Split,
    users: np.ndarray,
    relevant: list[np.ndarray],
    ks: tuple[int, ...],
    dataset: RatingDataset,
    seed: int,
    batch_size: int,
    progress: bool,
) -> dict[str, tuple[pd.DataFrame, list[np.ndarray]]]:
    """Per-user metrics and top lists of a model and of its variants, by reported name."""
    depth = ks[-1]
    rng = np.random.default_rng(seed)  # the same tie-break stream for every model
    rows_of: dict[str, list[dict[str, float]]] = {model.name: []}
    tops_of: dict[str, list[np.ndarray]] = {model.name: []}
    profiles = split.profiles
    bar = tqdm(
        range(0, len(users), batch_size),
        desc=model.name,
        unit="batch",
        leave=False,
        disable=not progress or not sys.stderr.isatty(),
    )
    for start in bar:
        part = users[start : start + batch_size]
        prediction = model.predict(part, profiles[part], split.fold_in is not None, depth)
        broken = np.isnan(prediction.scores).any(axis=1)
        if broken.any():
            raise DataError(
                f"model {model.name!r} gave NaN scores to {int(broken.sum())} of {len(part)} users "
                "in a batch; check its options (finite values) and the ratings' scale"
            )

        # the unconstrained ranking of every user
        for position, user in enumerate(part):
            seen = profiles.indices[profiles.indptr[user] : profiles.indptr[user + 1]]
            truth = relevant[start + position]
            ranking = m.rank_scores(prediction.scores[position], seen, truth, depth, rng)
            row = m.user_metrics(ranking, len(truth), ks)
            row.update({k: float(v[position]) for k, v in prediction.extras.items()})
            rows_of[model.name].append(row)
            tops_of[model.name].append(ranking.top)

        # explicit lists of the variants
        for variant in prediction.variants:
            for position, items in enumerate(variant.lists):
                truth = relevant[start + position]
                row = m.user_metrics(m.rank_list(items, truth), len(truth), ks)
                row.update({k: float(v[position]) for k, v in variant.extras.items()})
                rows_of.setdefault(variant.name, []).append(row)
                tops_of.setdefault(variant.name, []).append(np.asarray(items))

    index = pd.Index([dataset.users.raw(u) for u in users], name="user")
    return {
        name: (pd.DataFrame(rows, index=index), tops_of[name]) for name, rows in rows_of.items()
    }
