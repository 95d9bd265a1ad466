"""``attnrec faithfulness RUN``: is the attention an explanation? (the faithfulness suite)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

from attnrec.cli import app
from attnrec.cli.common import DATA_DIR, OVERWRITE, RUN, optional_path
from attnrec.errors import ConfigError, RunFolderError
from attnrec.folders import check_writable

logger = logging.getLogger(__name__)

REPORT_OUT = typer.Option(None, "--out", "-o", help="Report folder (default: RUN/faithfulness).")


def _numbers(text: str, kind: type, option: str) -> tuple:
    """A comma-separated list of numbers, e.g. "0,1,10"."""
    try:
        return tuple(kind(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(
            f"{option}={text!r} is not a comma-separated list of numbers, e.g. 0,1,2"
        ) from None


@app.command("faithfulness")
def faithfulness(
    run: Path = RUN,
    users: int = typer.Option(
        100, "--users", min=0, help="Users to sample for the battery; 0 runs every user."
    ),
    permutations: int = typer.Option(
        100, "--permutations", min=1, help="Permutations per user and coefficient family."
    ),
    epsilon: float = typer.Option(
        0.05, "--epsilon", help="Largest TVD of y^ an adversarial attention may cause."
    ),
    seeds: str = typer.Option(
        "0,1,2", "--seeds", help="Training seeds of the seed study; empty: no retraining."
    ),
    lambdas: str = typer.Option("0,1,10", "--lambdas", help="Values of lambda to ablate."),
    out: Path | None = REPORT_OUT,
    data_dir: Path | None = DATA_DIR,
    overwrite: bool = OVERWRITE,
) -> None:
    """Quantify whether the attention coefficients are a faithful explanation.

    Runs permutation, uniform/random and adversarial attention, agreement with leave-one-out
    and gradient importance, ERASER and explanation metrics on the run's model, retrains on an
    80/20 split for held-out NDCG, seed variance and the lambda ablation, and writes report.md.
    """
    from attnrec.faithfulness import run_suite

    folder = Path(out) if out is not None else Path(run) / "faithfulness"
    check_writable(folder, overwrite, marker="report.md")
    dataset = _dataset(Path(run), optional_path(data_dir))
    result = run_suite(
        run,
        dataset=dataset,
        out=folder,
        sample_users=users or None,
        seeds=_numbers(seeds, int, "--seeds"),
        lambdas=_numbers(lambdas, float, "--lambdas"),
        n_permutations=permutations,
        epsilon=epsilon,
    )
    typer.echo(f"report: {folder / 'report.md'} ({result.seconds['total']:.0f} s)")


def _dataset(run: Path, data_dir: Path | None):  # type: ignore[no-untyped-def]
    """The run's dataset reloaded from --data-dir, or None to use the ratings the run stores."""
    if data_dir is None:
        return None
    from attnrec.data import load_dataset

    config_path = run / "config.json"
    if not config_path.is_file():
        raise RunFolderError(f"{run} is not a run folder: missing config.json")
    name = json.loads(config_path.read_text(encoding="utf-8")).get("data", {}).get("name")
    if not name:
        raise RunFolderError(f"{config_path}: no data name; run without --data-dir")
    return load_dataset(name, data_dir, download=False)
