"""The experiment behind `attnrec paper` and `attnrec train`: recommend with explanations for
every user, run the counterfactual test, draw the two figures and write the run folder."""

from __future__ import annotations

import csv
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from attnrec.explain.counterfactual import MEASURES, CounterfactualResult
from attnrec.explain.delta_rule import Deltas
from attnrec.explain.explanation import Recommendation
from attnrec.model.recommender import DualAttentionRecommender
from attnrec.progress import progress
from attnrec.reporting.figures import permutation_figure, predicted_observed_figure
from attnrec.runs import write_run

logger = logging.getLogger(__name__)

FIG1 = "fig1_counterfactual.png"
FIG2 = "fig2_predicted_vs_observed.png"
#: users whose rated entries Fig. 2 plots at most (keeps the scatter readable and quick)
FIG2_MAX_USERS = 300


@dataclass
class ExperimentOptions:
    """What the experiment computes after training."""

    n: int = 10
    """Recommendations per user."""
    deltas: Deltas = field(default_factory=Deltas)
    """Thresholds of the delta-rule."""
    fallback: bool = True
    """Fill short lists with flagged unexplained items (never silently)."""
    n_permutations: int = 100
    """Permutations per user in the counterfactual test."""
    counterfactual_users: int | None = 200
    """Users in the counterfactual test (a seeded sample); None for all."""
    figure_user: Any = None
    """Raw id of the user drawn in Fig. 1; default: the first user of the sample."""
    seed: int = 0
    """Seed of the user sample and of the permutations."""
    progress: bool = True


@dataclass
class ExperimentSummary:
    """What the experiment printed and wrote."""

    out: Path
    recommendations: dict[Any, list[Recommendation]]
    users_short: int
    counterfactual: dict[str, CounterfactualResult]
    counterfactual_seconds: float


def run_experiment(
    model: DualAttentionRecommender,
    out: Path,
    options: ExperimentOptions,
    overwrite: bool = False,
    source: dict[str, Any] | None = None,
) -> ExperimentSummary:
    """Recommend, explain, test counterfactually, draw, and write the run folder ``out``."""
    # recommendations with explanations for every user
    recommendations = _recommend_all(model, options)
    users_short = sum(
        1 for recs in recommendations.values() if sum(r.explainable for r in recs) < options.n
    )
    logger.info(
        "%d of %d users have fewer than %d explainable items",
        users_short,
        len(recommendations),
        options.n,
    )

    # counterfactual test on a seeded sample of users
    sample = _sample_users(model, options)
    started = time.perf_counter()
    counterfactual = model.counterfactual(sample, options.n_permutations, options.seed)
    seconds = time.perf_counter() - started
    logger.info("counterfactual test on %d users: %.1fs", len(sample), seconds)

    def write_reports(folder: Path) -> None:
        figure_user = options.figure_user if options.figure_user is not None else sample[0]
        _figure_1(model, folder / FIG1, figure_user, counterfactual, options)
        _figure_2(model, folder / FIG2, sample)
        _write_recommendations(folder / "recommendations.csv", recommendations)
        _write_counterfactual(
            folder / "counterfactual.json", counterfactual, sample, options, seconds
        )
        (folder / "report.md").write_text(
            _report(model, recommendations, users_short, counterfactual, options, seconds),
            encoding="utf-8",
        )

    write_run(model, out, extra=write_reports, overwrite=overwrite, source=source)
    return ExperimentSummary(out, recommendations, users_short, counterfactual, seconds)


def _recommend_all(
    model: DualAttentionRecommender, options: ExperimentOptions
) -> dict[Any, list[Recommendation]]:
    users = model.users_
    bar = progress(users, "recommend + explain", options.progress, unit="user")
    return {
        user: model.recommend(
            user,
            options.n,
            delta_score=options.deltas.score,
            delta_attention=options.deltas.attention,
            delta_rating=options.deltas.rating,
            fallback=options.fallback,
        )
        for user in bar
    }


def _sample_users(model: DualAttentionRecommender, options: ExperimentOptions) -> list[Any]:
    users = model.users_
    size = options.counterfactual_users
    if size is None or size >= len(users):
        return list(users)
    rng = np.random.default_rng(options.seed)
    picked = np.sort(rng.choice(len(users), size, replace=False))
    return [users[i] for i in picked]


def _figure_1(
    model: DualAttentionRecommender,
    path: Path,
    user: Any,
    counterfactual: dict[str, CounterfactualResult],
    options: ExperimentOptions,
) -> None:
    row = model.dataset_.user_index(user)
    generator = torch.Generator().manual_seed(options.seed)
    original, permuted = model.permuted_scores(np.array([row]), options.n_permutations, generator)
    candidates = np.setdiff1d(np.arange(model.dataset_.n_items), model.scaled_[row].indices)
    tvd = {family: [u.tvd for u in result.users] for family, result in counterfactual.items()}
    permutation_figure(
        path,
        f"user {user}",
        original[0, candidates],
        permuted["recommendation"][:, 0, candidates],
        tvd,
    )


def _figure_2(model: DualAttentionRecommender, path: Path, sample: list[Any]) -> None:
    rows = np.array([model.dataset_.user_index(u) for u in sample[:FIG2_MAX_USERS]])
    scores = model.score_indices(rows)
    observed, predicted, ratings = [], [], []
    for position, row in enumerate(rows):
        profile = model.dataset_.ratings[row]
        observed.append(profile.data / profile.data.sum())
        predicted.append(scores[position, profile.indices])
        ratings.append(profile.data)
    predicted_observed_figure(
        path,
        np.concatenate(observed),
        np.concatenate(predicted),
        np.concatenate(ratings),
        model.dataset_.n_items,
    )


def _write_recommendations(path: Path, recommendations: dict[Any, list[Recommendation]]) -> None:
    columns = [
        "user", "rank", "item", "title", "score", "explainable", "neighbour", "neighbour_rating",
        "neighbour_attention", "neighbour_cosine", "other_neighbours", "sentence",
    ]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for user, recs in recommendations.items():
            for position, rec in enumerate(recs, start=1):
                best = rec.neighbour
                writer.writerow(
                    [
                        user, position, rec.item, rec.title or "", f"{rec.score:.6g}",
                        rec.explainable, "" if best is None else best.user,
                        "" if best is None else f"{best.rating:g}",
                        "" if best is None else f"{best.attention:.6g}",
                        "" if best is None else f"{best.cosine:.6g}",
                        len(rec.other_neighbours), rec.sentence,
                    ]
                )  # fmt: skip


def _write_counterfactual(
    path: Path,
    counterfactual: dict[str, CounterfactualResult],
    sample: list[Any],
    options: ExperimentOptions,
    seconds: float,
) -> None:
    document = {
        "n_permutations": options.n_permutations,
        "seed": options.seed,
        "users": sample,
        "seconds": seconds,
        "measures": {
            "tvd": "total variation distance between y^ and permuted y^ (candidate items)",
            "jsd": "Jensen-Shannon divergence in bits",
            "top10_overlap": "share of the top-10 list kept",
            "top1_changed": "1 when the top recommendation changes",
            "kendall_tau": "Kendall tau-b between the two rankings of candidate items",
            "per_user": "median over the permutations",
        },
        "families": {
            family: {
                "summary": result.summary(),
                "per_user": [asdict(u) | {"user": sample[i]} for i, u in enumerate(result.users)],
            }
            for family, result in counterfactual.items()
        },
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def counterfactual_table(counterfactual: dict[str, CounterfactualResult]) -> list[list[str]]:
    """Rows of (family, measure, q1, median, q3) for printing."""
    rows = []
    for family, result in counterfactual.items():
        summary = result.summary()
        for measure in MEASURES:
            if measure in summary:
                s = summary[measure]
                rows.append(
                    [family, measure, f"{s['q1']:.4g}", f"{s['median']:.4g}", f"{s['q3']:.4g}"]
                )
    return rows


def _report(
    model: DualAttentionRecommender,
    recommendations: dict[Any, list[Recommendation]],
    users_short: int,
    counterfactual: dict[str, CounterfactualResult],
    options: ExperimentOptions,
    seconds: float,
) -> str:
    history = model.history_
    lines = [
        f"# attnrec run: {model.dataset_.name}",
        "",
        f"Data: {model.dataset_.describe()}.",
        "",
        "## Training",
        "",
        _training_line(model),
        "",
        "| epoch | loss | accuracy term | alignment term | validation NDCG | seconds |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in history.history:
        lines.append(
            f"| {r.epoch} | {r.loss:.4f} | {r.accuracy_loss:.4f} | {r.alignment_loss:.4f} "
            f"| {_fmt(r.validation_ndcg)} | {r.seconds:.2f} |"
        )
    d = options.deltas
    explainable = sum(r.explainable for recs in recommendations.values() for r in recs)
    total = sum(len(recs) for recs in recommendations.values())
    lines += [
        "",
        "## Recommendations and explanations",
        "",
        f"Delta-rule thresholds: score {d.score:g}, attention {d.attention:g}, "
        f"rating {d.rating:g} (docs/model.md explains the normalisation). "
        f"{users_short} of {len(recommendations)} users have fewer than {options.n} explainable "
        f"items; {explainable:,} of {total:,} listed recommendations are explainable"
        + (", the rest are flagged fallbacks." if explainable < total else "."),
        "",
        "Every user's list is in `recommendations.csv`. The first users (the number is the "
        "item's rank by score among the user's unrated items; a gap is a better-scored item "
        "that the delta-rule could not explain):",
        "",
    ]
    for user, recs in list(recommendations.items())[:5]:
        lines.append(f"**User {user}**")
        lines.append("")
        lines += [f"{r.rank}. {r.sentence}" for r in recs[:5]]
        lines.append("")
    lines += [
        "## Counterfactual test",
        "",
        f"{options.n_permutations} permutations per user on "
        f"{len(next(iter(counterfactual.values())).users)} users ({seconds:.1f}s); "
        "per-user medians, summarised over users. "
        "Details in `counterfactual.json`.",
        "",
        "| coefficients permuted | measure | q1 | median | q3 |",
        "|---|---|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in counterfactual_table(counterfactual)]
    lines += [
        "",
        "## Figures",
        "",
        f"![Fig. 1: scores before and after permutation]({FIG1})",
        "",
        f"![Fig. 2: predicted vs observed scores]({FIG2})",
        "",
    ]
    return "\n".join(lines)


def _training_line(model: DualAttentionRecommender) -> str:
    """Which epoch's weights the model kept, and why."""
    history, settings = model.history_, model.train_config
    if history.best_validation_ndcg is None:
        return (
            f"{len(history.history)} epochs on every training rating ({settings.lr_schedule} "
            f"step size), the last one kept; {history.seconds:.1f}s."
        )
    return (
        f"Best epoch {history.best_epoch} of {len(history.history)} "
        f"(validation NDCG@{settings.validation_k} {_fmt(history.best_validation_ndcg)}), "
        f"{history.seconds:.1f}s."
    )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
