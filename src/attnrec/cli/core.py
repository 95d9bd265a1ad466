"""The core commands: `paper` (the main job), `train`, `recommend` and `explain`."""

from __future__ import annotations

import json
import logging
import time
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from attnrec.cli import app, common
from attnrec.cli.common import DATA_DIR, OVERWRITE, RUN, STATE
from attnrec.errors import ConfigError
from attnrec.model.config import ModelConfig, TrainConfig

logger = logging.getLogger(__name__)
console = Console(soft_wrap=True)


def default_of(config: type[ModelConfig] | type[TrainConfig], field: str) -> str:
    """A config field's default for --help, read from the config so that they cannot differ."""
    return rf"\[default: {config.model_fields[field].default}]"  # \[: not rich markup


# model and training options shared by `paper` and `train`
EMBEDDING = typer.Option(
    None, "--embedding-dim", help=f"Embedding size d. {default_of(ModelConfig, 'embedding_dim')}"
)
NEIGHBOURS = typer.Option(
    None,
    "--neighbours",
    help=f'Top-K neighbours, or "all". {default_of(ModelConfig, "n_neighbours")}',
)
LAYERS = typer.Option(
    None, "--layers", help=f"Graph-attention layers K. {default_of(ModelConfig, 'n_layers')}"
)
LAMBDA = typer.Option(
    None,
    "--lambda",
    help="Weight of the attention-alignment loss (the paper uses 1). "
    + default_of(ModelConfig, "alignment_lambda"),
)
CORRUPTION = typer.Option(
    None,
    "--corruption",
    help=f"Input dropout while training. {default_of(ModelConfig, 'corruption')}",
)
EPOCHS = typer.Option(
    None,
    "--epochs",
    help="Training epochs; the step size anneals to 0 over them. "
    + default_of(TrainConfig, "epochs"),
)
BATCH = typer.Option(
    None, "--batch-size", help=f"Users per mini-batch. {default_of(TrainConfig, 'batch_size')}"
)
LR = typer.Option(
    None, "--learning-rate", help=f"Adam's step size. {default_of(TrainConfig, 'learning_rate')}"
)
SEED = typer.Option(0, "--seed", help="Seed of every random draw.")
DEVICE = typer.Option("auto", "--device", help='"auto" (CUDA if available), "cpu" or "cuda:N".')
PERMUTATIONS = typer.Option(100, "--permutations", help="Permutations per user (counterfactual).")
DELTA = typer.Option(None, "--delta", help="Delta-rule threshold in \\[0, 1]. \\[default: 0.8]")
N_RECS = typer.Option(10, "--n", "-n", help="Recommendations per user.")
PAPER_OUT = typer.Option(Path("runs/paper"), "--out", "-o", help="Run folder to write.")
TRAIN_OUT = typer.Option(None, "--out", "-o", help="Run folder. \\[default: runs/NAME]")
RATING_ATTENTION = typer.Option(
    None,
    "--rating-attention/--paper-attention",
    help="Rating as an edge feature of Trace B (default), or the paper's Eq. 2 exactly.",
    show_default=False,
)


class OutputLayer(StrEnum):
    tied = "tied"
    dense = "dense"


OUTPUT_LAYER = typer.Option(
    None,
    "--output-layer",
    help='Scores from the contexts: "dense" (as in the paper) or "tied" to the item '
    "embeddings. \\[default: dense]",
    show_default=False,
)


class ItemItem(StrEnum):
    auto = "auto"
    on = "on"
    off = "off"


ITEM_ITEM = typer.Option(
    None,
    "--item-item",
    help='EASE item-item votes weighted by the recommendation coefficients: "auto" (on up to '
    '20,000 items), "on" or "off" (the paper\'s model). \\[default: auto]',
    show_default=False,
)
NO_PROGRESS = typer.Option(False, "--no-progress", help="Hide progress bars.")


def _model_params(**options: Any) -> dict[str, Any]:
    """Map CLI options to DualAttentionRecommender parameters, dropping unset ones."""
    names = {
        "embedding_dim": "embedding_dim", "neighbours": "n_neighbours", "layers": "n_layers",
        "lam": "alignment_lambda", "corruption": "corruption", "epochs": "epochs",
        "batch_size": "batch_size", "learning_rate": "learning_rate", "seed": "seed",
        "device": "device", "rating_attention": "attention_uses_rating",
        "output_layer": "output_layer", "item_item": "item_item",
    }  # fmt: skip
    params = {names[k]: v for k, v in options.items() if v is not None}
    if "n_neighbours" in params and params["n_neighbours"] != "all":
        try:
            params["n_neighbours"] = int(params["n_neighbours"])
        except ValueError:
            raise ConfigError(
                f"--neighbours {params['n_neighbours']!r}: give a whole number or 'all'"
            ) from None
    return params


@app.command()
def paper(
    data_dir: Path | None = DATA_DIR,
    out: Path = PAPER_OUT,
    subset: str = typer.Option("top", "--subset", help='"top" (deterministic) or "random".'),
    subset_seed: int = typer.Option(0, "--subset-seed", help="Seed of the random subset."),
    n_users: int = typer.Option(20, "--users", help="Users in the subset."),
    n_items: int = typer.Option(250, "--items", help="Items in the subset."),
    embedding_dim: int | None = EMBEDDING,
    neighbours: str = typer.Option("all", "--neighbours", help='Top-K neighbours, or "all".'),
    layers: int | None = LAYERS,
    rating_attention: bool | None = RATING_ATTENTION,
    output_layer: OutputLayer | None = OUTPUT_LAYER,
    item_item: ItemItem | None = ITEM_ITEM,
    lam: float | None = LAMBDA,
    corruption: float | None = CORRUPTION,
    epochs: int | None = EPOCHS,
    learning_rate: float | None = LR,
    seed: int = SEED,
    device: str = DEVICE,
    permutations: int = PERMUTATIONS,
    delta: float | None = DELTA,
    n: int = typer.Option(5, "--n", "-n", help="Recommendations per user."),
    overwrite: bool = OVERWRITE,
    no_progress: bool = NO_PROGRESS,
) -> None:
    """The paper's experiment: MovieLens 100K restricted to 20 users and 250 items.

    Trains the dual-attention model on the subset, prints each user's recommendations with
    their explanations and the counterfactual summary, and writes a run folder with the
    weights, report.md, recommendations.csv, counterfactual.json and the paper's two figures.
    """
    from attnrec.data import load_dataset, paper_subset

    started = time.perf_counter()
    full = load_dataset("ml-100k", data_dir=data_dir)
    if subset not in ("top", "random"):
        raise ConfigError(f"--subset {subset!r}: choose top or random")
    method: Literal["top", "random"] = "top" if subset == "top" else "random"
    data = paper_subset(full, n_users=n_users, n_items=n_items, method=method, seed=subset_seed)
    data.name = f"ml-100k paper subset ({subset}, {data.n_users} users x {data.n_items} items)"
    params = _model_params(
        embedding_dim=embedding_dim, neighbours=neighbours, layers=layers, lam=lam,
        rating_attention=rating_attention,
        output_layer=output_layer.value if output_layer else None,
        item_item=item_item.value if item_item else None,
        corruption=corruption, epochs=epochs, batch_size=None, learning_rate=learning_rate,
        seed=seed, device=device,
    )  # fmt: skip
    source = {"dataset": "ml-100k", "subset": subset, "subset_seed": subset_seed}
    _fit_and_report(data, params, out, overwrite, permutations, None, delta, n, no_progress, source)
    console.print(f"[bold]Done in {time.perf_counter() - started:.1f}s.[/] Run folder: {out}")


@app.command()
def train(
    dataset: str = typer.Argument(
        ...,
        help="ml-100k, ml-1m, ml-latest-small, ml-latest, ml-20m, ml-25m, a data folder, "
        "or a ratings file (CSV, TSV, Parquet).",
    ),
    data_dir: Path | None = DATA_DIR,
    out: Path | None = TRAIN_OUT,
    user_col: str = common.USER_COL,
    item_col: str = common.ITEM_COL,
    rating_col: str = common.RATING_COL,
    timestamp_col: str | None = common.TIMESTAMP_COL,
    sep: str | None = common.SEP,
    encoding: str = common.ENCODING,
    embedding_dim: int | None = EMBEDDING,
    neighbours: str | None = NEIGHBOURS,
    layers: int | None = LAYERS,
    rating_attention: bool | None = RATING_ATTENTION,
    output_layer: OutputLayer | None = OUTPUT_LAYER,
    item_item: ItemItem | None = ITEM_ITEM,
    lam: float | None = LAMBDA,
    corruption: float | None = CORRUPTION,
    epochs: int | None = EPOCHS,
    batch_size: int | None = BATCH,
    learning_rate: float | None = LR,
    seed: int = SEED,
    device: str = DEVICE,
    permutations: int = PERMUTATIONS,
    counterfactual_users: int = typer.Option(
        200, "--counterfactual-users", help="Users sampled for the counterfactual test."
    ),
    delta: float | None = DELTA,
    n: int = N_RECS,
    overwrite: bool = OVERWRITE,
    no_progress: bool = NO_PROGRESS,
) -> None:
    """Train on a whole data set and write a run folder with reports and figures."""
    from attnrec.data import load_dataset

    started = time.perf_counter()
    path = Path(dataset)
    mapping = common.file_mapping(
        dataset, user_col=user_col, item_col=item_col, rating_col=rating_col,
        timestamp_col=timestamp_col, sep=sep, encoding=encoding,
    )  # fmt: skip
    data = load_dataset(dataset, data_dir=data_dir, **mapping)
    params = _model_params(
        embedding_dim=embedding_dim, neighbours=neighbours, layers=layers, lam=lam,
        rating_attention=rating_attention,
        output_layer=output_layer.value if output_layer else None,
        item_item=item_item.value if item_item else None,
        corruption=corruption, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
        seed=seed, device=device,
    )  # fmt: skip
    out = out or Path("runs") / (path.stem if path.exists() else dataset)
    source = {"dataset": str(path.resolve()) if path.exists() else dataset} | mapping
    _fit_and_report(
        data,
        params,
        out,
        overwrite,
        permutations,
        counterfactual_users,
        delta,
        n,
        no_progress,
        source,
    )
    console.print(f"[bold]Done in {time.perf_counter() - started:.1f}s.[/] Run folder: {out}")


def _fit_and_report(
    data: Any,
    params: dict[str, Any],
    out: Path,
    overwrite: bool,
    permutations: int,
    counterfactual_users: int | None,
    delta: float | None,
    n: int,
    no_progress: bool,
    source: dict[str, Any],
) -> None:
    """Fit, run the experiment, write the run folder and print the summary."""
    from attnrec.explain.delta_rule import Deltas
    from attnrec.folders import check_writable
    from attnrec.model.recommender import DualAttentionRecommender
    from attnrec.reporting.experiment import ExperimentOptions, run_experiment

    check_writable(out, overwrite, marker="config.json")
    progress = not (no_progress or STATE.quiet)
    console.print(data.describe())
    model = DualAttentionRecommender(progress=progress, **params)
    deltas = Deltas.resolve(delta)
    fit_started = time.perf_counter()
    model.fit(data)
    fit_seconds = time.perf_counter() - fit_started
    options = ExperimentOptions(
        n=n,
        deltas=deltas,
        n_permutations=permutations,
        counterfactual_users=counterfactual_users,
        seed=model.train_config.seed,
        progress=progress,
    )
    summary = run_experiment(model, out, options, overwrite=overwrite, source=source)
    _print_summary(model, summary, fit_seconds)


def _print_summary(model: Any, summary: Any, fit_seconds: float) -> None:
    from attnrec.reporting.experiment import counterfactual_table

    # the end of the training curve
    history = model.history_
    validated = history.best_validation_ndcg is not None  # early stopping on a holdout
    kept = f"best epoch {history.best_epoch}" if validated else f"{history.best_epoch} epochs"
    curve = Table(title=f"Training ({fit_seconds:.1f}s, {kept})")
    columns = ["epoch", "loss", "accuracy", "alignment"] + (["val NDCG@10"] if validated else [])
    for name in columns:
        curve.add_column(name, justify="right")
    for r in history.history[-5:]:
        row = [str(r.epoch), f"{r.loss:.4f}", f"{r.accuracy_loss:.4f}", f"{r.alignment_loss:.4f}"]
        if validated:
            row.append("-" if r.validation_ndcg is None else f"{r.validation_ndcg:.4f}")
        curve.add_row(*row)
    console.print(curve)

    # each user's top recommendations with their explanations (the first 20 users)
    shown = list(summary.recommendations.items())[:20]
    console.print(
        f"\n[bold]Top recommendations[/] ({len(shown)} of {len(summary.recommendations)} users; "
        "the number is the item's rank by score among the user's unrated items, so a gap is a "
        "better-scored item that the delta-rule could not explain)"
    )
    for user, recs in shown:
        console.print(f"[bold]user {user}[/]")
        for rec in recs[:3]:
            flag = "" if rec.explainable else " [yellow](fallback)[/]"
            console.print(f"  {rec.rank:>4}. {rec.sentence}{flag}", highlight=False)
    console.print(
        f"{summary.users_short} of {len(summary.recommendations)} users have fewer than "
        f"{len(next(iter(summary.recommendations.values()), []))} explainable items."
    )

    # the counterfactual summary
    table = Table(title=f"Counterfactual test ({summary.counterfactual_seconds:.1f}s)")
    for name in ("permuted", "measure", "q1", "median", "q3"):
        table.add_column(name, justify="right" if name in ("q1", "median", "q3") else "left")
    for row in counterfactual_table(summary.counterfactual):
        table.add_row(*row)
    console.print(table)


@app.command()
def recommend(
    run: Path = RUN,
    user: str = typer.Argument(..., help="Raw user id."),
    n: int = N_RECS,
    delta: float | None = DELTA,
    delta_score: float | None = typer.Option(None, "--delta-score", help="Override for scores."),
    delta_attention: float | None = typer.Option(None, "--delta-attention", help="For attention."),
    delta_rating: float | None = typer.Option(None, "--delta-rating", help="For ratings."),
    fallback: bool = typer.Option(False, "--fallback", help="Fill with flagged unexplained items."),
    unconstrained: bool = typer.Option(
        False, "--unconstrained", help="Plain top-n by score, without the delta-rule."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """A user's top-n recommendations with their explanations, from a run folder."""
    from attnrec.runs import load_run

    model = load_run(run)
    recs = model.recommend(
        user, n, delta, delta_score=delta_score, delta_attention=delta_attention,
        delta_rating=delta_rating, fallback=fallback, explainable_only=not unconstrained,
    )  # fmt: skip
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in recs], indent=2, default=str))
        return
    table = Table(title=f"Recommendations for user {user}", show_lines=True)
    for name in ("rank", "item", "score", "explanation"):
        table.add_column(name, justify="right" if name in ("rank", "score") else "left")
    for r in recs:
        label = f"{r.item}: {r.title}" if r.title else str(r.item)
        table.add_row(str(r.rank), label, f"{r.score:.4f}", r.sentence)
    console.print(table)
    if len(recs) < n:
        console.print(
            f"[yellow]Only {len(recs)} of {n} items pass the delta-rule; lower --delta or pass "
            "--fallback to fill the list with flagged items.[/]"
        )


@app.command()
def explain(
    run: Path = RUN,
    user: str = typer.Argument(..., help="Raw user id."),
    item: str | None = typer.Argument(None, help="An unrated item to explain (optional)."),
    delta: float | None = DELTA,
    top: int = typer.Option(10, "--top", help="Neighbours and rated items to list."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Why an item would be recommended to a user, or the user's attention over both families."""
    from dataclasses import asdict

    from attnrec.runs import load_run

    model = load_run(run)
    if item is not None:
        rec = model.explain(user, item, delta)
        if as_json:
            typer.echo(json.dumps(rec.to_dict(), indent=2, default=str))
            return
        console.print(f"[bold]{rec.sentence}[/]", highlight=False)
        console.print(f"score {rec.score:.5f}, rank {rec.rank} among the user's unrated items")
        for other in rec.other_neighbours[: top - 1]:
            console.print(
                f"  also user {other.user}: rated {other.rating:g} "
                f"(attention {other.attention:.3f}, cosine {other.cosine:.2f})"
            )
        items = rec.own_items
    else:
        attention = model.attention(user)
        if as_json:
            typer.echo(json.dumps(asdict(attention), indent=2, default=str))
            return
        table = Table(title=f"Similarity coefficients of user {user} (top {top})")
        for name in ("neighbour", "alpha_sim", "cosine"):
            table.add_column(name, justify="right")
        for s in attention.similarity[:top]:
            table.add_row(str(s.user), f"{s.attention:.4f}", f"{s.cosine:.3f}")
        console.print(table)
        items = attention.recommendation[:top]
    table = Table(title=f"Recommendation coefficients over user {user}'s rated items")
    for name in ("item", "rating", "alpha_rec"):
        table.add_column(name, justify="left" if name == "item" else "right")
    for it in items:
        table.add_row(
            f"{it.item}: {it.title}" if it.title else str(it.item),
            f"{it.rating:g}",
            f"{it.attention:.4f}",
        )
    console.print(table)
