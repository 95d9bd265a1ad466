"""Write an evaluation to a folder: tables (Markdown, CSV), a bar chart, per-user metrics.

Files written into ``out``:

* ``summary.csv``: models x metrics, each with its 95% interval (``_low``, ``_high``), coverage,
  fit and scoring seconds;
* ``summary.md``: the same as a Markdown table of "mean ± half-width" cells, with the counts;
* ``per_user.csv``: one row per (model, user), one column per metric;
* ``paired_tests.csv``: each model against the best model by the first metric (Wilcoxon);
* ``chart.png``: NDCG and recall at each k, bars with 95% error bars;
* ``evaluation.json``: dataset, split, cut-offs, relevance threshold and counts.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from attnrec.errors import DataError
from attnrec.evaluation.protocol import EvaluationResult
from attnrec.folders import staged_folder

logger = logging.getLogger(__name__)

#: metrics shown in the tables, in order (each at every k)
TABLE_METRICS: tuple[str, ...] = ("ndcg", "recall", "precision", "hit_rate", "mrr")


def table_columns(result: EvaluationResult) -> list[str]:
    """The metric columns of the main table, in display order."""
    columns = [f"{metric}@{k}" for metric in TABLE_METRICS for k in result.ks]
    return columns + [f"coverage@{k}" for k in result.ks]


def markdown_table(result: EvaluationResult, summary: pd.DataFrame | None = None) -> str:
    """Models x metrics as Markdown, each cell "mean ± 95% half-width", plus fit seconds."""
    summary = result.summary() if summary is None else summary
    columns = table_columns(result)
    header = ["model", *columns, "fit s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for model, row in summary.iterrows():
        cells = [str(model)]
        for column in columns:
            cells.append(_cell(row, column))
        cells.append(f"{row['fit_seconds']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(row: pd.Series, column: str) -> str:
    value = row.get(column, np.nan)
    if pd.isna(value):
        return "-"
    if f"{column}_low" not in row.index:
        return f"{value:.4f}"
    if pd.isna(row[f"{column}_low"]):  # one user: no interval
        return f"{value:.4f} ± n/a"
    half = (row[f"{column}_high"] - row[f"{column}_low"]) / 2
    return f"{value:.4f} ± {half:.4f}"


def write_report(result: EvaluationResult, out: str | Path, overwrite: bool = False) -> Path:
    """Write every file of the module docstring into ``out``, whole or not at all: ``out`` must
    be new or empty unless ``overwrite``, and a failure leaves it as it was. Returns the folder."""
    folder = Path(out)
    with staged_folder(folder, overwrite, marker="evaluation.json") as staging:
        _write_files(result, staging)
    logger.info("evaluation written to %s", folder)
    return folder


def _write_files(result: EvaluationResult, folder: Path) -> None:
    # the summary table, with intervals, as CSV and Markdown
    summary = result.summary()
    summary.to_csv(folder / "summary.csv")
    header = (
        f"# {result.dataset}: {result.split} split, relevance >= {result.relevance_threshold:g}, "
        f"seed {result.seed}\n\n"
    )
    counts = "\n".join(f"- {name}: {value:,}" for name, value in result.counts.items())
    (folder / "summary.md").write_text(
        header + markdown_table(result, summary) + "\n" + _extras_table(summary) + counts + "\n"
    )

    # per-user metrics of every model, long by model
    per_user = pd.concat(
        [r.per_user.assign(model=r.name).reset_index() for r in result.models], ignore_index=True
    )
    per_user.to_csv(folder / "per_user.csv", index=False)

    # paired tests against the best model by the first metric
    _paired_tests(result, summary).to_csv(folder / "paired_tests.csv", index=False)
    bar_chart(result, summary, folder / "chart.png")
    meta = {
        "dataset": result.dataset,
        "split": result.split,
        "ks": list(result.ks),
        "relevance_threshold": result.relevance_threshold,
        "seed": result.seed,
        "counts": result.counts,
    }
    (folder / "evaluation.json").write_text(json.dumps(meta, indent=2) + "\n")


def _extras_table(summary: pd.DataFrame) -> str:
    """Markdown of the model-specific columns (explainable shares), when any model has them."""
    extras = [
        c
        for c in summary.columns
        if c.startswith(("explainable", "full_explainable", "any_explainable"))
        and not c.endswith(("_low", "_high"))
    ]
    if not extras:
        return ""
    frame = summary[extras].dropna(how="all")
    lines = ["| model | " + " | ".join(extras) + " |", "|" + "---|" * (len(extras) + 1)]
    for model, row in frame.iterrows():
        cells = ["-" if pd.isna(row[c]) else f"{row[c]:.4f}" for c in extras]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n"


def _paired_tests(result: EvaluationResult, summary: pd.DataFrame) -> pd.DataFrame:
    """Wilcoxon tests of every model against the best one, for NDCG and recall at each k."""
    metrics = [f"{name}@{k}" for name in ("ndcg", "recall") for k in result.ks]
    best = str(summary[metrics[0]].idxmax())
    rows = []
    for other in summary.index:
        if other == best:
            continue
        for metric in metrics:
            try:
                rows.append(asdict(result.paired(metric, str(other), best)))
            except DataError as error:
                logger.warning("no paired test of %s vs %s: %s", other, best, error)
    return pd.DataFrame(rows)


def bar_chart(result: EvaluationResult, summary: pd.DataFrame, path: str | Path) -> Path:
    """Grouped bars of NDCG@k and Recall@k per model, with 95% error bars, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [f"{name}@{k}" for name in ("ndcg", "recall") for k in result.ks]
    models = list(summary.index)
    width = 0.8 / len(models)
    positions = np.arange(len(metrics))
    figure, axis = plt.subplots(figsize=(max(7.5, 1.6 * len(metrics) + 1.5), 4.0))
    for i, model in enumerate(models):
        means = summary.loc[model, metrics].to_numpy(dtype=float)
        low = summary.loc[model, [f"{m}_low" for m in metrics]].to_numpy(dtype=float)
        high = summary.loc[model, [f"{m}_high" for m in metrics]].to_numpy(dtype=float)
        axis.bar(
            positions + i * width - 0.4 + width / 2,
            means,
            width,
            yerr=np.nan_to_num(np.vstack([means - low, high - means])),  # NaN: one user
            capsize=2,
            label=str(model),
        )
    axis.set_xticks(positions, metrics)
    axis.set_ylabel("mean over users (95% CI)")
    axis.set_title(f"{result.dataset}, {result.split} split")
    axis.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return Path(path)
