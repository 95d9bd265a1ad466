"""``attnrec synth``: write a seeded synthetic ratings file of MovieLens's shape."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import typer

from attnrec.cli import app
from attnrec.errors import ConfigError

logger = logging.getLogger(__name__)


OUT = typer.Option(..., "--out", "-o", help="File to write: .parquet or .csv.")
SHAPE = typer.Option(None, "--shape", help='A named shape: "ml-100k", "ml-1m" or "ml-20m".')
USERS = typer.Option(None, "--users", help="Number of users (without --shape).")
ITEMS = typer.Option(None, "--items", help="Number of items (without --shape).")
RATINGS = typer.Option(None, "--ratings", help="Exact number of ratings (without --shape).")
SEED = typer.Option(0, "--seed", help="Seed of every draw.")
OVERWRITE = typer.Option(False, "--overwrite", help="Replace an existing file.")


@app.command("synth")
def synth(
    out: Path = OUT,
    shape: str | None = SHAPE,
    users: int | None = USERS,
    items: int | None = ITEMS,
    ratings: int | None = RATINGS,
    seed: int = SEED,
    overwrite: bool = OVERWRITE,
) -> None:
    """Write synthetic ratings (columns user, item, rating) with power-law activity and
    popularity and MovieLens's star shares; the same seed writes the same file."""
    from attnrec.data.synthetic import generate, preset

    # the shape: a preset, or all three sizes
    if shape is not None:
        if any(v is not None for v in (users, items, ratings)):
            raise ConfigError("give either --shape or --users/--items/--ratings, not both")
        size = preset(shape)
        users, items, ratings = size.n_users, size.n_items, size.n_ratings
    if users is None or items is None or ratings is None:
        raise ConfigError("give --shape, or all of --users, --items and --ratings")
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise ConfigError(f"--out {out}: use a .parquet or .csv file name")
    if out.exists() and not overwrite:
        raise ConfigError(f"--out {out} exists; pass --overwrite to replace it")

    # generate, then write long format with int32 ids and float32 ratings
    dataset = generate(users, items, ratings, seed=seed)
    matrix = dataset.ratings
    frame = pd.DataFrame(
        {
            "user": np.repeat(np.arange(1, users + 1, dtype=np.int32), np.diff(matrix.indptr)),
            "item": matrix.indices.astype(np.int32) + 1,
            "rating": matrix.data.astype(np.float32),
        }
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        frame.to_csv(out, index=False)
    logger.info("wrote %s: %s", out, dataset.describe())
