"""Options and helpers shared by the subcommands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer


@dataclass
class _State:
    quiet: bool = False


STATE = _State()

DATA_DIR = typer.Option(
    None,
    "--data-dir",
    envvar="ATTNREC_DATA_DIR",
    help="An extracted data folder (or a folder holding it) to use instead of downloading.",
    show_default=False,
)
OUT = typer.Option(..., "--out", "-o", help="Run folder to write (must be new or empty).")
OVERWRITE = typer.Option(False, "--overwrite", help="Replace an existing run folder.")
RUN = typer.Argument(..., help="A run folder written by `attnrec paper` or `attnrec train`.")


def optional_path(value: Path | None) -> Path | None:
    return None if value is None else Path(value)
