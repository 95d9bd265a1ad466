"""The suite's report: report.md with tables and figures, JSON of every figure, per-user CSVs.

Files written into the output folder:

- ``report.md``: headline table, every statement with its test, robustness, timings;
- ``figures/<name>.png`` and ``figures/<name>.json`` (the plotted data);
- ``per_user.csv``: one row per model and sampled user, every per-user measure;
- ``per_element.csv``: attention and leave-one-out / gradient importance per attended element;
- ``eraser_curve.csv``, ``heldout_ndcg.csv``, ``seed_variance.csv``;
- ``statistics.csv``, ``headline.csv`` and ``summary.json`` (config, tables, timings).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attnrec.faithfulness.suite import SuiteResult

logger = logging.getLogger(__name__)

FIGURES = "figures"


def write_report(result: SuiteResult, out: Path) -> Path:
    """Write every file of the report into ``out`` (created if needed); returns report.md."""
    import matplotlib

    matplotlib.use("Agg")
    out = Path(out)
    (out / FIGURES).mkdir(parents=True, exist_ok=True)

    # data files
    _data_files(result, out)

    # figures, each with the JSON of its data
    figures = [
        _permutation_hist(result, out),
        _permutation_vs_max(result, out),
        _attention_vs_loo(result, out),
        _adversarial_hist(result, out),
        _tau_hist(result, out),
        _eraser_curves(result, out),
        _ndcg_bars(result, out),
        _lambda_ablation(result, out),
    ]

    # the markdown
    path = out / "report.md"
    path.write_text(_markdown(result, [f for f in figures if f]), encoding="utf-8")
    logger.info("faithfulness report written to %s", path)
    return path


# ----------------------------------------------------------------------------------------------
# data files


def _data_files(result: SuiteResult, out: Path) -> None:
    """CSV files and summary.json."""
    raw = dict(zip(result.users.tolist(), result.raw_ids, strict=True))
    frames = []
    for name, battery in result.batteries.items():
        frame = battery.per_user.copy()
        frame.insert(0, "raw_user", frame["user"].map(raw))
        frame.insert(0, "model", name)
        frames.append(frame)
    per_user = pd.concat(frames, ignore_index=True)
    if result.seed_variance is not None:
        per_user = per_user.merge(result.seed_variance, on="user", how="left")
    per_user.to_csv(out / "per_user.csv", index=False)

    elements = [b.elements.assign(model=name) for name, b in result.batteries.items()]
    pd.concat(elements, ignore_index=True).to_csv(out / "per_element.csv", index=False)
    curves = [b.eraser_curve.assign(model=name) for name, b in result.batteries.items()]
    pd.concat(curves, ignore_index=True).to_csv(out / "eraser_curve.csv", index=False)
    if result.ndcg:
        ndcg = [f.assign(model=name) for name, f in result.ndcg.items()]
        pd.concat(ndcg, ignore_index=True).to_csv(out / "heldout_ndcg.csv", index=False)
    if result.seed_variance is not None:
        result.seed_variance.to_csv(out / "seed_variance.csv", index=False)
    stats = pd.DataFrame([t.to_dict() for t in result.tests])
    stats.to_csv(out / "statistics.csv", index=False)
    if result.headline is not None:
        result.headline.to_csv(out / "headline.csv")

    summary = {
        "run": result.run_label,
        "dataset": result.dataset,
        "config": result.config.model_dump(),
        "n_users": len(result.users),
        "seconds": result.seconds,
        "battery_seconds": {n: b.seconds for n, b in result.batteries.items()},
        "holdout_models": result.holdout_models,
        "headline": None if result.headline is None else _clean(result.headline.to_dict()),
        "tests": [_clean(t.to_dict()) for t in result.tests],
    }
    _write_json(out / "summary.json", summary)


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(_clean(document), indent=1) + "\n", encoding="utf-8")


def _values(series: pd.Series) -> list[float | None]:
    return [None if not np.isfinite(v) else float(v) for v in series.astype(float)]


# ----------------------------------------------------------------------------------------------
# figures


def _save(fig: Any, out: Path, name: str, data: dict[str, Any], caption: str) -> tuple[str, str]:
    """Save a figure and its data; returns (relative PNG path, caption)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    # a log axis spanning less than a decade reads better linear; else label decades only
    for ax in fig.axes:
        for axis, limits, rescale in (
            (ax.xaxis, ax.get_xlim(), ax.set_xscale),
            (ax.yaxis, ax.get_ylim(), ax.set_yscale),
        ):
            if axis.get_scale() != "log":
                continue
            low, high = limits
            if low > 0 and high / low < 10:
                rescale("linear")
            else:
                axis.set_minor_formatter(NullFormatter())
    fig.tight_layout()
    fig.savefig(out / FIGURES / f"{name}.png", dpi=110)
    plt.close(fig)
    _write_json(out / FIGURES / f"{name}.json", {"caption": caption, **data})
    return f"{FIGURES}/{name}.png", caption


def _permutation_hist(result: SuiteResult, out: Path) -> tuple[str, str]:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    data: dict[str, Any] = {}
    for ax, family in zip(axes, ("rec", "sim"), strict=True):
        for name, battery in result.batteries.items():
            values = battery.per_user[f"perm_{family}_tvd"].dropna()
            ax.hist(values, bins=30, alpha=0.5, label=name)
            data[f"{name}/{family}"] = _values(values)
        ax.axvline(result.config.epsilon, color="k", ls="--", lw=1, label="epsilon")
        ax.set_xlabel(f"median TVD of y^ over permutations of alpha_{family}")
        ax.set_ylabel("users")
        ax.legend(fontsize=7)
    caption = "Per-user median TVD of y^ when the coefficients are permuted (Jain and Wallace)."
    return _save(fig, out, "permutation_tvd_hist", data, caption)


def _permutation_vs_max(result: SuiteResult, out: Path) -> tuple[str, str]:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    data: dict[str, Any] = {}
    for ax, family in zip(axes, ("rec", "sim"), strict=True):
        for name, battery in result.batteries.items():
            u = battery.per_user
            ax.scatter(u[f"max_attention_{family}"], u[f"perm_{family}_tvd"], s=8, label=name)
            data[f"{name}/{family}"] = {
                "max_attention": _values(u[f"max_attention_{family}"]),
                "median_tvd": _values(u[f"perm_{family}_tvd"]),
            }
        ax.set_xscale("log")
        ax.set_xlabel(f"user's maximum alpha_{family}")
        ax.set_ylabel("median TVD of y^ under permutation")
        ax.legend(fontsize=7)
    caption = "Permutation effect against the user's maximum attention weight."
    return _save(fig, out, "permutation_vs_max_attention", data, caption)


def _attention_vs_loo(result: SuiteResult, out: Path) -> tuple[str, str]:
    import matplotlib.pyplot as plt

    battery = result.batteries["run"]
    e = battery.elements
    rec, sim = e[e["family"] == "recommendation"], e[e["family"] == "similarity"]
    panels = [
        (rec.dropna(subset=["loo_tvd"]), "loo_tvd", "alpha_rec", "leave-one-out TVD of y^"),
        (rec, "grad_input", "alpha_rec", "|gradient x input|"),
        (sim, "loo_tvd", "alpha_sim", "ablation TVD of y^"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    data: dict[str, Any] = {}
    for ax, (frame, column, xlabel, ylabel) in zip(axes, panels, strict=True):
        ax.scatter(frame["attention"], frame[column], s=3, alpha=0.3)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel + " (run model)")
        ax.set_ylabel(ylabel)
        data[f"{xlabel}/{column}"] = {
            "user": frame["user"].astype(int).tolist(),
            "attention": _values(frame["attention"]),
            column: _values(frame[column]),
        }
    caption = "Attention against leave-one-out and gradient x input importance, per element."
    return _save(fig, out, "attention_vs_loo", data, caption)


def _adversarial_hist(result: SuiteResult, out: Path) -> tuple[str, str]:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    data: dict[str, Any] = {}
    for ax, family in zip(axes, ("rec", "sim"), strict=True):
        for name, battery in result.batteries.items():
            values = battery.per_user[f"adv_{family}_jsd"].dropna()
            ax.hist(values, bins=30, range=(0, 1), alpha=0.5, label=f"adversarial, {name}")
            data[f"adversarial/{name}/{family}"] = _values(values)
        if result.seed_variance is not None:
            seeds = result.seed_variance[f"seed_jsd_{family}"].dropna()
            ax.hist(seeds, bins=30, range=(0, 1), alpha=0.5, label="between seeds")
            data[f"seeds/{family}"] = _values(seeds)
        ax.set_xlabel(f"JSD (bits) from the learned alpha_{family}")
        ax.set_ylabel("users")
        ax.legend(fontsize=7)
    caption = (
        f"Largest JSD reached by adversarial attention with TVD(y^) <= {result.config.epsilon:g}, "
        "and the JSD between models trained with different seeds."
    )
    return _save(fig, out, "adversarial_jsd_hist", data, caption)


def _tau_hist(result: SuiteResult, out: Path) -> tuple[str, str]:
    import matplotlib.pyplot as plt

    columns = ["tau_loo_tvd", "tau_loo_score", "tau_grad_input", "tau_sim_loo_tvd"]
    fig, axes = plt.subplots(1, len(columns), figsize=(14, 3.4))
    data: dict[str, Any] = {}
    for ax, column in zip(axes, columns, strict=True):
        for name, battery in result.batteries.items():
            values = battery.per_user[column].dropna()
            ax.hist(values, bins=25, range=(-1, 1), alpha=0.5, label=name)
            data[f"{name}/{column}"] = _values(values)
        ax.axvline(0, color="k", lw=1)
        ax.set_xlabel(column)
        ax.legend(fontsize=6)
    caption = "Per-user Kendall tau between attention and other importance measures."
    return _save(fig, out, "kendall_tau_hist", data, caption)


def _eraser_curves(result: SuiteResult, out: Path) -> tuple[str, str]:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    data: dict[str, Any] = {}
    for ax, measure in zip(axes, ("comprehensiveness_norm", "sufficiency_norm"), strict=True):
        for name, battery in result.batteries.items():
            mean = battery.eraser_curve.groupby(["method", "level"])[measure].mean()
            for method, style in (("attention", "-o"), ("random", "--x")):
                series = mean.loc[method]
                ax.plot(series.index, series.to_numpy(), style, label=f"{name}, {method}")
                data[f"{name}/{method}/{measure}"] = {
                    "level": [float(v) for v in series.index],
                    "mean": _values(series),
                }
        ax.set_xscale("log")
        ax.set_xlabel("rationale size, % of rated items")
        ax.set_ylabel(f"mean {measure.replace('_norm', '')} / y^_top")
        ax.legend(fontsize=6)
    caption = "ERASER curves of the most attended rated items against random items."
    return _save(fig, out, "eraser_curves", data, caption)


def _ndcg_bars(result: SuiteResult, out: Path) -> tuple[str, str] | None:
    import matplotlib.pyplot as plt

    models = [n for n, f in result.ndcg.items() if "ndcg_uniform_rec" in f]
    if not models:
        return None
    columns = [c for c in result.ndcg[models[0]].columns if c.startswith("ndcg_")]
    fig, ax = plt.subplots(figsize=(11, 3.8))
    width = 0.8 / len(models)
    data: dict[str, Any] = {"replacements": columns}
    for position, name in enumerate(models):
        means = [float(result.ndcg[name][c].mean()) for c in columns]
        ax.bar(np.arange(len(columns)) + position * width, means, width, label=name)
        data[name] = means
    ax.set_xticks(np.arange(len(columns)) + 0.4 - width / 2)
    ax.set_xticklabels([c.removeprefix("ndcg_") for c in columns], rotation=20, fontsize=8)
    ax.set_ylabel(f"mean held-out NDCG@{result.config.n}")
    ax.legend(fontsize=7)
    caption = "Held-out NDCG with the learned coefficients and with each replacement."
    return _save(fig, out, "heldout_ndcg_replacements", data, caption)


def _lambda_ablation(result: SuiteResult, out: Path) -> tuple[str, str] | None:
    import matplotlib.pyplot as plt

    labels = [n for n in result.batteries if n.startswith("lambda=")]
    if len(labels) < 2:
        return None
    lambdas = [float(n.split("=")[1]) for n in labels]
    series = {
        "held-out NDCG@10": [float(result.ndcg[n]["ndcg_learned"].mean()) for n in labels],
        "perm alpha_rec median TVD": [
            float(result.batteries[n].per_user["perm_rec_tvd"].median()) for n in labels
        ],
        "tau(alpha_rec, LOO TVD)": [
            float(result.batteries[n].per_user["tau_loo_tvd"].median()) for n in labels
        ],
        "comprehensiveness (norm.)": [
            float(result.batteries[n].per_user["eraser_comprehensiveness_attention_norm"].mean())
            for n in labels
        ],
        "adversarial alpha_rec JSD": [
            float(result.batteries[n].per_user["adv_rec_jsd"].median()) for n in labels
        ],
    }
    fig, axes = plt.subplots(1, len(series), figsize=(15, 3.2))
    positions = np.arange(len(lambdas))
    for ax, (name, values) in zip(axes, series.items(), strict=True):
        ax.plot(positions, values, "-o")
        ax.set_xticks(positions)
        ax.set_xticklabels([f"{v:g}" for v in lambdas])
        ax.set_xlabel("lambda")
        ax.set_title(name, fontsize=9)
    caption = "Accuracy and faithfulness against lambda (models trained on the 80% split)."
    return _save(fig, out, "lambda_ablation", {"lambda": lambdas, **series}, caption)


# ----------------------------------------------------------------------------------------------
# markdown


def _table(frame: pd.DataFrame, index: bool = True) -> str:
    """A markdown table; floats to 4 significant digits."""
    frame = frame.reset_index() if index else frame
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    lines = [header, rule]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if not math.isfinite(number):
            return "–"
        return f"{number:.3g}" if abs(number) < 1e-3 and number != 0 else f"{number:.4g}"
    return str(value).replace("|", "/")


def _markdown(result: SuiteResult, figures: list[tuple[str, str]]) -> str:
    """report.md."""
    config = result.config
    total = result.seconds.get("total", float("nan"))
    lines = [
        f"# Faithfulness of the attention: {result.dataset}",
        "",
        f"Run: `{result.run_label}`. Users: {len(result.users)} (seeded sample, seed "
        f"{config.seed}). Permutations per user: {config.n_permutations}; Dirichlet draws: "
        f"{config.n_dirichlet} (concentration {config.concentration:g}); adversarial epsilon "
        f"{config.epsilon:g} ({config.adversarial_restarts} restarts x "
        f"{config.adversarial_steps} steps); seeds {list(config.seeds)}; lambdas "
        f"{list(config.lambdas)}; held-out share {config.holdout_fraction:g}.",
        "",
        f"Wall time of the whole suite: **{total:.0f} s** ({total / 60:.1f} min).",
        "",
        "Column `run` is the run's own model (trained on all ratings); columns `lambda=...` are",
        "models with the run's settings trained on the suite's 80% split (first seed). y^ is",
        "always compared over the user's unrated items, renormalised; JSD is in bits.",
        "",
        "## Headline",
        "",
    ]
    if result.headline is not None:
        lines += [_table(result.headline), ""]

    # statements
    lines += [
        "## Statements and tests",
        "",
        "Each statement is a one-sided (or stated two-sided) Wilcoxon signed-rank test over the",
        "sampled users; effect size r is the matched-pairs rank-biserial correlation (+1: every",
        "user in the direction of the statement's difference); p is Holm-adjusted over all rows.",
        "",
    ]
    if result.tests:
        stats = pd.DataFrame([t.to_dict() for t in result.tests])
        stats = stats[
            [
                "statement",
                "comparison",
                "alternative",
                "n",
                "median_difference",
                "effect_size",
                "p_value",
                "p_holm",
                "supported",
            ]
        ]
        lines += [_table(stats, index=False), ""]

    # robustness
    lines += ["## Robustness", ""]
    if result.holdout_models:
        lines += [_table(pd.DataFrame(result.holdout_models), index=False), ""]
    if result.seed_variance is not None:
        described = result.seed_variance[["seed_jsd_rec", "seed_jsd_sim"]].describe().T
        lines += [
            "JSD (bits) between the coefficients that models trained with different seeds give "
            "the same users (mean over seed pairs, per user):",
            "",
            _table(described[["count", "mean", "25%", "50%", "75%", "max"]]),
            "",
        ]
    seeds = [n for n in result.ndcg if "seed=" in n]
    if seeds:
        rows = {n: float(result.ndcg[n]["ndcg_learned"].mean()) for n in seeds}
        lines += [
            f"Held-out NDCG@{config.n} of the other seeds: "
            + ", ".join(f"{k}: {v:.4f}" for k, v in rows.items()),
            "",
        ]

    # figures
    lines += ["## Figures", ""]
    for path, caption in figures:
        lines += [f"![{caption}]({path})", "", f"*{caption}* Data: `{path[:-4]}.json`.", ""]

    # timings
    lines += ["## Time", "", "| step | seconds |", "|---|---|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in result.seconds.items()]
    for name, battery in result.batteries.items():
        lines += [f"| {name}: {k} | {v:.1f} |" for k, v in battery.seconds.items()]
    lines += [
        "",
        "## Files",
        "",
        "`per_user.csv` (one row per model and user), `per_element.csv`, `eraser_curve.csv`,",
        "`heldout_ndcg.csv`, `seed_variance.csv`, `statistics.csv`, `headline.csv`,",
        "`summary.json`, and `figures/*.json` with the data of every figure.",
        "",
    ]
    return "\n".join(lines)
