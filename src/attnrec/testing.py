"""Small seeded data for tests and examples (shipped so downstream tests can use it too)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def random_ratings(
    n_users: int = 40, n_items: int = 25, density: float = 0.3, seed: int = 0
) -> pd.DataFrame:
    """A seeded long frame (user, item, rating 1-5, timestamp); every user rates something.

    Users are numbered from 1 and items from 101, so raw ids differ from indices.
    """
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    mask[:, 0] |= ~mask.any(axis=1)
    users, items = np.nonzero(mask)
    return pd.DataFrame(
        {
            "user": users + 1,
            "item": items + 101,
            "rating": rng.integers(1, 6, len(users)).astype(float),
            "timestamp": rng.integers(0, 10_000, len(users)),
        }
    )
