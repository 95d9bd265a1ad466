"""Small seeded rating data for model tests."""

from __future__ import annotations

import pandas as pd
import pytest

from attnrec.testing import random_ratings


@pytest.fixture(scope="session")
def small_ratings() -> pd.DataFrame:
    return random_ratings()


@pytest.fixture(scope="session")
def fitted(small_ratings: pd.DataFrame):
    from attnrec import DualAttentionRecommender

    model = DualAttentionRecommender(
        embedding_dim=8, n_neighbours=10, epochs=3, batch_size=16, progress=False
    )
    return model.fit(small_ratings)
