"""Tiny synthetic datasets for the evaluation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attnrec.data.dataset import RatingDataset, from_frame


def synthetic_frame(n_users: int = 30, n_items: int = 25, seed: int = 0) -> pd.DataFrame:
    """Random 1-5 ratings, ~40% density, every user with at least 5 ratings, integer times."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        items = rng.choice(n_items, rng.integers(5, int(0.6 * n_items)), replace=False)
        for item in items:
            rows.append((user + 1, item + 1, float(rng.integers(1, 6)), int(rng.integers(0, 50))))
    return pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"])


@pytest.fixture
def tiny() -> RatingDataset:
    return from_frame(synthetic_frame(), rating_scale=(1.0, 5.0), name="tiny")
