"""The paper's subset: deterministic "top", seeded "random", size checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attnrec.data import RatingDataset, from_frame, load_dataset, paper_subset
from attnrec.errors import ConfigError


def small_dataset() -> RatingDataset:
    """Items a..d rated 4, 3, 3, 1 times; users 1..4 with 1..4 ratings (each on a)."""
    rows = [
        (1, "a"),
        (2, "a"),
        (2, "b"),
        (3, "a"),
        (3, "b"),
        (3, "c"),
        (4, "a"),
        (4, "c"),
        (4, "d"),
        (5, "b"),
        (5, "c"),
    ]
    frame = pd.DataFrame(rows, columns=["user", "item"])
    frame["rating"] = 3.0
    frame["timestamp"] = np.arange(len(frame), dtype=float)
    return from_frame(frame, rating_scale=(1, 5), titles={"a": "A"}, name="small")


def test_top_items_then_top_users_with_ties_by_index() -> None:
    subset = paper_subset(small_dataset(), n_users=2, n_items=2)
    # items: a (4), then b and c tie at 3 -> b (smaller index)
    assert subset.items.raw_ids == ["a", "b"]
    # users on {a, b}: 1:1, 2:2, 3:2, 4:1, 5:1 -> 2 and 3
    assert subset.users.raw_ids == [2, 3]
    assert subset.n_ratings == 4
    assert subset.rating_scale == (1.0, 5.0)
    assert subset.title("a") == "A"
    assert subset.timestamps is not None
    assert len(subset.timestamps) == subset.n_ratings


def test_random_is_seeded_and_sized() -> None:
    dataset = small_dataset()
    first = paper_subset(dataset, n_users=3, n_items=3, method="random", seed=7)
    second = paper_subset(dataset, n_users=3, n_items=3, method="random", seed=7)
    assert first.users.raw_ids == second.users.raw_ids
    assert first.items.raw_ids == second.items.raw_ids
    assert (first.n_users, first.n_items) == (3, 3)
    # fewer than 3 users have 5 ratings on 3 items: the draw falls back to users with >= 1
    counts = np.diff(first.ratings.indptr)
    assert (counts >= 1).all()


def test_random_differs_across_seeds() -> None:
    rng_ids = {
        tuple(paper_subset(small_dataset(), 2, 2, method="random", seed=s).items.raw_ids)
        for s in range(10)
    }
    assert len(rng_ids) > 1


@pytest.mark.parametrize(("n_users", "n_items"), [(6, 2), (2, 5), (0, 2), (2, 0)])
def test_sizes_beyond_the_dataset(n_users: int, n_items: int) -> None:
    with pytest.raises(ConfigError, match="the dataset has"):
        paper_subset(small_dataset(), n_users=n_users, n_items=n_items)


def test_unknown_method() -> None:
    with pytest.raises(ConfigError, match="method='best'"):
        paper_subset(small_dataset(), 2, 2, method="best")  # type: ignore[arg-type]


@pytest.mark.realdata
def test_paper_subset_of_ml100k(data_root: Path) -> None:
    if not (data_root / "ml-100k").is_dir():
        pytest.skip("ml-100k missing")
    dataset = load_dataset("ml-100k", data_dir=data_root)
    subset = paper_subset(dataset)
    assert (subset.n_users, subset.n_items) == (20, 250)
    # the 250 most-rated items include Star Wars (item 50, the most rated of all)
    assert 50 in subset.items
    assert subset.n_ratings > 0.5 * 20 * 250
    drawn = paper_subset(dataset, method="random", seed=0)
    assert (drawn.n_users, drawn.n_items) == (20, 250)
