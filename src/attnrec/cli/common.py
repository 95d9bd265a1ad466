"""Options and helpers shared by the subcommands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# the column mapping of a ratings file (MovieLens names and folders need none)
USER_COL = typer.Option("user", "--user-col", help="Ratings file: user column.")
ITEM_COL = typer.Option("item", "--item-col", help="Ratings file: item column.")
RATING_COL = typer.Option("rating", "--rating-col", help="Ratings file: rating column.")
TIMESTAMP_COL = typer.Option(
    None, "--timestamp-col", help="Ratings file: timestamp column (for temporal splits)."
)
SEP = typer.Option(None, "--sep", help="Ratings file separator (detected).")
ENCODING = typer.Option("utf-8", "--encoding", help="Ratings file: text encoding.")


def file_mapping(dataset: str, **columns: str | None) -> dict[str, Any]:
    """The loader's keyword arguments for ``dataset`` when it is a ratings file, else none:
    a MovieLens name or folder has a known layout."""
    return dict(columns) if Path(dataset).is_file() else {}
