"""``attnrec evaluate``: attnrec and the baselines under one protocol, with a table and a chart."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from attnrec.cli import app, common
from attnrec.cli.core import ITEM_ITEM, OUTPUT_LAYER, ItemItem, OutputLayer, default_of
from attnrec.errors import ConfigError
from attnrec.folders import check_writable
from attnrec.model.config import ModelConfig, TrainConfig

logger = logging.getLogger(__name__)

DEFAULT_MODELS = "most-popular,user-knn,item-knn,ease,als,attnrec"
REPORT_OUT = typer.Option(None, "--out", "-o", help="Folder for tables, chart, per-user CSV.")


@app.command("evaluate")
def evaluate_command(
    dataset: str = typer.Argument(
        ..., help="A MovieLens name (ml-100k, ml-latest-small, ...), folder or ratings file."
    ),
    data_dir: Path | None = common.DATA_DIR,
    user_col: str = common.USER_COL,
    item_col: str = common.ITEM_COL,
    rating_col: str = common.RATING_COL,
    timestamp_col: str | None = common.TIMESTAMP_COL,
    sep: str | None = common.SEP,
    encoding: str = common.ENCODING,
    split: str = typer.Option(
        "random", "--split", help="random, temporal, global-temporal or strong."
    ),
    test_fraction: float = typer.Option(0.2, "--test-fraction", help="Share held out."),
    seed: int = typer.Option(
        0, "--seed", min=0, max=2**32 - 1, help="Seed of the split, the models and tie-breaks."
    ),
    k: str = typer.Option("10,20", "--k", help="Cut-offs, comma-separated."),
    relevance: float = typer.Option(
        4.0, "--relevance", help="A test rating at or above this is relevant."
    ),
    models: str = typer.Option(DEFAULT_MODELS, "--models", help="Models, comma-separated."),
    out: Path | None = REPORT_OUT,
    overwrite: bool = common.OVERWRITE,
    knn_k: int = typer.Option(50, "--knn-k", help="Neighbours of user-knn."),
    item_k: int = typer.Option(100, "--item-k", help="Neighbours of item-knn."),
    ease_lambda: float = typer.Option(500.0, "--ease-lambda", help="EASE's lambda."),
    delta: float = typer.Option(0.8, "--delta", help="attnrec's delta-rule threshold."),
    epochs: int | None = typer.Option(
        None, "--epochs", help=f"attnrec: training epochs. {default_of(TrainConfig, 'epochs')}"
    ),
    validation_fraction: float | None = typer.Option(
        None,
        "--validation-fraction",
        help="attnrec: share of each user's training ratings held out to stop early; 0 trains "
        f"exactly --epochs. {default_of(TrainConfig, 'validation_fraction')}",
    ),
    patience: int | None = typer.Option(
        None,
        "--patience",
        help="attnrec: epochs without a better validation NDCG before stopping (with "
        f"--validation-fraction only). {default_of(TrainConfig, 'patience')}",
    ),
    embedding_dim: int | None = typer.Option(
        None, "--embedding-dim", help=f"attnrec: d. {default_of(ModelConfig, 'embedding_dim')}"
    ),
    n_neighbours: int | None = typer.Option(
        None, "--n-neighbours", help=f"attnrec: K. {default_of(ModelConfig, 'n_neighbours')}"
    ),
    n_layers: int | None = typer.Option(
        None, "--n-layers", help=f"attnrec: GAT layers. {default_of(ModelConfig, 'n_layers')}"
    ),
    alignment_lambda: float | None = typer.Option(
        None,
        "--alignment-lambda",
        help=f"attnrec: alignment loss weight. {default_of(ModelConfig, 'alignment_lambda')}",
    ),
    corruption: float | None = typer.Option(
        None,
        "--corruption",
        help=f"attnrec: input drop rate. {default_of(ModelConfig, 'corruption')}",
    ),
    learning_rate: float | None = typer.Option(
        None,
        "--learning-rate",
        help=f"attnrec: Adam step. {default_of(TrainConfig, 'learning_rate')}",
    ),
    device: str | None = typer.Option(
        None,
        "--device",
        help=f"attnrec: auto, cpu, cuda. {default_of(TrainConfig, 'device')}",
    ),
    output_layer: OutputLayer | None = OUTPUT_LAYER,
    item_item: ItemItem | None = ITEM_ITEM,
) -> None:
    """Fit attnrec and the baselines on a split and print models x metrics with 95% CIs."""
    from attnrec.data.loaders import load_dataset
    from attnrec.evaluation.protocol import build_models, evaluate
    from attnrec.evaluation.report import write_report
    from attnrec.model.trainer import resolve_device

    started = time.perf_counter()
    # what can be checked before any work, not after minutes of fitting
    if out is not None:
        check_writable(out, overwrite, marker="evaluation.json")
    if device is not None:
        resolve_device(device)
    ks = _int_list(k, "--k")
    names = [n.strip() for n in models.split(",") if n.strip()]
    attnrec_options: dict[str, Any] = {
        name: value
        for name, value in {
            "epochs": epochs,
            "validation_fraction": validation_fraction,
            "patience": patience,
            "embedding_dim": embedding_dim,
            "n_neighbours": n_neighbours,
            "n_layers": n_layers,
            "alignment_lambda": alignment_lambda,
            "corruption": corruption,
            "learning_rate": learning_rate,
            "device": device,
            "output_layer": output_layer.value if output_layer else None,
            "item_item": item_item.value if item_item else None,
        }.items()
        if value is not None
    }
    attnrec_options["progress"] = not common.STATE.quiet

    # data, models, protocol
    mapping = common.file_mapping(
        dataset, user_col=user_col, item_col=item_col, rating_col=rating_col,
        timestamp_col=timestamp_col, sep=sep, encoding=encoding,
    )  # fmt: skip
    data = load_dataset(dataset, data_dir=common.optional_path(data_dir), **mapping)
    built = build_models(
        names,
        knn_k=knn_k,
        item_k=item_k,
        ease_lambda=ease_lambda,
        seed=seed,
        delta=delta,
        attnrec=attnrec_options,
    )
    result = evaluate(
        data,
        built,
        split,
        ks,
        relevance,
        test_fraction,
        seed,
        progress=not common.STATE.quiet,
    )

    # the table, then the files
    _print_table(result)
    if out is not None:
        write_report(result, out, overwrite=overwrite)
        typer.echo(f"wrote {out}")
    typer.echo(f"total {time.perf_counter() - started:.1f}s")


def _int_list(text: str, option: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{option} {text!r}: give integers separated by commas") from None


def _print_table(result: Any) -> None:
    import pandas as pd

    from attnrec.evaluation.report import table_columns

    summary = result.summary()
    columns = table_columns(result)
    table = Table(
        title=f"{result.dataset}, {result.split} split, relevance >= {result.relevance_threshold:g}"
        f" ({result.counts['users_evaluated']} users; 95% CI half-width)"
    )
    table.add_column("model")
    for column in [*columns, "fit s"]:
        table.add_column(column, justify="right")
    for model, row in summary.iterrows():
        cells = []
        for column in columns:
            half = (
                (row[f"{column}_high"] - row[f"{column}_low"]) / 2 if f"{column}_low" in row else 0
            )
            if pd.isna(half):  # one user: no interval
                cells.append(f"{row[column]:.4f}±n/a")
            else:
                cells.append(f"{row[column]:.4f}±{half:.3f}" if half else f"{row[column]:.4f}")
        table.add_row(str(model), *cells, f"{row['fit_seconds']:.1f}")
    console = Console(width=max(200, 17 * (len(columns) + 2)))
    console.print(table)
    counts = result.counts
    console.print(
        f"skipped: {counts['users_skipped_no_relevant']} users without relevant test items, "
        f"{counts['users_skipped_no_profile']} without training ratings; "
        f"{counts['unknown_test_items']} test items ({counts['unknown_test_ratings']} ratings) "
        "unknown to training"
    )
    extras = [
        c for c in summary.columns if "explainable" in c and not c.endswith(("_low", "_high"))
    ]
    for model, row in summary[extras].dropna(how="all").iterrows():
        figures = ", ".join(f"{c} {row[c]:.3f}" for c in extras if not _isnan(row[c]))
        console.print(f"{model}: {figures}")


def _isnan(value: float) -> bool:
    return value != value
