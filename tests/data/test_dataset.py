"""The dataset type: id look-ups, subsets, and a from_frame/to_frame round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnrec.data import IdMap, from_frame, id_key
from attnrec.errors import DataError, UnknownUserError


def test_id_key_spellings() -> None:
    assert id_key(1) == id_key("1") == id_key(np.int64(1)) == id_key(1.0) == "1"
    assert id_key("u1") == "u1"


def test_idmap_lookup_and_collision() -> None:
    ids = IdMap([3, "x"])
    assert ids.index("3") == 0
    assert ids.get("y") is None
    assert "x" in ids
    with pytest.raises(DataError, match="collide"):
        IdMap([1, "1"])


def test_unknown_user() -> None:
    dataset = from_frame(pd.DataFrame({"user": [1], "item": [2], "rating": [3.0]}))
    with pytest.raises(UnknownUserError):
        dataset.user_index(9)


def test_from_frame_rejects_duplicates_and_zero() -> None:
    frame = pd.DataFrame({"user": [1, 1], "item": [2, 2], "rating": [3.0, 4.0]})
    with pytest.raises(DataError, match="duplicate"):
        from_frame(frame)
    with pytest.raises(DataError, match="positive"):
        from_frame(pd.DataFrame({"user": [1], "item": [2], "rating": [0.0]}))


def test_subset_keeps_timestamps_aligned() -> None:
    frame = pd.DataFrame(
        {
            "user": [1, 1, 2, 2, 3],
            "item": [10, 20, 10, 30, 20],
            "rating": [1.0, 2.0, 3.0, 4.0, 5.0],
            "timestamp": [100.0, 200.0, 300.0, 400.0, 500.0],
        }
    )
    subset = from_frame(frame).subset([2, 0], [1, 0])  # users 3, 1; items 20, 10
    back = subset.to_frame().set_index(["user", "item"])
    assert back.loc[(1, 20), "timestamp"] == 200.0
    assert back.loc[(3, 20), "timestamp"] == 500.0
    assert back.loc[(1, 10), "rating"] == 1.0


half_stars = st.integers(min_value=1, max_value=10).map(lambda n: n / 2)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        keys=st.tuples(st.integers(0, 30), st.integers(0, 30)),
        values=st.tuples(half_stars, st.integers(0, 10**9)),
        min_size=1,
        max_size=60,
    ),
    st.booleans(),
    st.booleans(),
)
def test_from_frame_to_frame_round_trip(
    cells: dict[tuple[int, int], tuple[float, int]], string_ids: bool, with_times: bool
) -> None:
    def user(u: int) -> object:
        return f"u{u}" if string_ids else u

    frame = pd.DataFrame(
        {
            "user": [user(u) for u, _ in cells],
            "item": [i for _, i in cells],
            "rating": [r for r, _ in cells.values()],
        }
    )
    if with_times:
        frame["timestamp"] = [float(t) for _, t in cells.values()]
    dataset = from_frame(frame)
    back = dataset.to_frame()
    # the same ratings (and timestamps), in any order
    key = ["user", "item"]
    expected = frame.sort_values(key).reset_index(drop=True)
    got = back.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert dataset.n_ratings == len(cells)
    assert dataset.rating_scale == (min(frame["rating"]), max(frame["rating"]))


def test_repr_is_one_line_of_counts_not_every_title() -> None:
    frame = pd.DataFrame({"user": [1, 1, 2], "item": ["a", "b", "a"], "rating": [5.0, 3.0, 4.0]})
    dataset = from_frame(frame)
    dataset.titles = {"a": "A film with a very long title " * 20, "b": "Another"}
    text = repr(dataset)
    assert text == f"<RatingDataset {dataset.describe()}>"
    assert "2 users, 2 items, 3 ratings" in text and "Another" not in text
