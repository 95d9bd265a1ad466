"""The one dataset type: raw ids <-> indices, a sparse users x items rating matrix, the scale.

Raw ids are kept as given (int or str). Look-ups accept either spelling of the same id, so
``dataset.user_index("1")`` finds user ``1`` and ``dataset.user_index(1)`` finds user ``"1"``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from attnrec.errors import DataError, UnknownItemError, UnknownUserError

RawId = Hashable


def id_key(raw: Any) -> str:
    """Canonical lookup key of a raw id, so that 1, "1", np.int64(1) and 1.0 are one id."""
    if isinstance(raw, (float, np.floating)) and float(raw).is_integer():
        raw = int(raw)
    if isinstance(raw, np.generic):
        raw = raw.item()
    return str(raw).strip()


class IdMap:
    """A bijection between raw ids (as given) and contiguous indices 0..n-1."""

    def __init__(self, raw_ids: Sequence[RawId]) -> None:
        self.raw_ids: list[RawId] = [_plain(r) for r in raw_ids]
        self._index: dict[str, int] = {}
        for i, raw in enumerate(self.raw_ids):
            key = id_key(raw)
            if key in self._index:
                raise DataError(f"ids {raw!r} and {self.raw_ids[self._index[key]]!r} collide")
            self._index[key] = i

    def __len__(self) -> int:
        return len(self.raw_ids)

    def __contains__(self, raw: object) -> bool:
        return id_key(raw) in self._index

    def get(self, raw: object) -> int | None:
        """Index of ``raw``, or None when unknown."""
        return self._index.get(id_key(raw))

    def index(self, raw: object) -> int:
        """Index of ``raw``; raises KeyError when unknown."""
        return self._index[id_key(raw)]

    def raw(self, index: int) -> RawId:
        return self.raw_ids[int(index)]

    def to_json(self) -> list[Any]:
        return list(self.raw_ids)


def _plain(raw: Any) -> RawId:
    """numpy scalars -> Python scalars, so ids serialise to JSON as given."""
    return raw.item() if isinstance(raw, np.generic) else raw


@dataclass
class RatingDataset:
    """Explicit ratings of users on items.

    Attributes:
        users: raw user id <-> row index.
        items: raw item id <-> column index.
        ratings: users x items CSR matrix of ratings; 0 means unrated (ratings are > 0).
        rating_scale: (lowest, highest) rating of the scale, detected or declared.
        titles: raw item id key (``id_key``) -> title, when known.
        timestamps: timestamp of each stored rating, aligned with ``ratings.data``, if known.
        name: a short name of the source, for reports.
    """

    users: IdMap
    items: IdMap
    ratings: sp.csr_matrix
    rating_scale: tuple[float, float]
    titles: dict[str, str] = field(default_factory=dict)
    timestamps: np.ndarray | None = None
    name: str = "ratings"

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_ratings(self) -> int:
        return int(self.ratings.nnz)

    def user_index(self, raw: object) -> int:
        index = self.users.get(raw)
        if index is None:
            raise UnknownUserError(raw)
        return index

    def item_index(self, raw: object) -> int:
        index = self.items.get(raw)
        if index is None:
            raise UnknownItemError(raw)
        return index

    def title(self, raw_item: object) -> str | None:
        return self.titles.get(id_key(raw_item))

    def to_frame(self) -> pd.DataFrame:
        """Long format: columns user, item, rating (and timestamp when known)."""
        coo = self.ratings.tocoo()
        frame = pd.DataFrame(
            {
                "user": [self.users.raw(i) for i in coo.row],
                "item": [self.items.raw(j) for j in coo.col],
                "rating": coo.data.astype(float),
            }
        )
        if self.timestamps is not None:
            frame["timestamp"] = self.timestamps  # CSR order equals COO order of a sorted CSR
        return frame

    def subset(self, user_rows: Iterable[int], item_cols: Iterable[int]) -> RatingDataset:
        """The ratings of some users on some items (indices), with ids and titles kept."""
        rows = np.asarray(list(user_rows), dtype=np.int64)
        cols = np.asarray(list(item_cols), dtype=np.int64)
        ratings = self.ratings[rows][:, cols].tocsr()
        stamps = None
        if self.timestamps is not None:
            # carry timestamps through the same slicing by storing their positions + 1
            positions = self.ratings.copy()
            positions.data = np.arange(1, positions.nnz + 1, dtype=np.float64)
            picked = positions[rows][:, cols].tocsr()
            picked.sort_indices()
            stamps = self.timestamps[picked.data.astype(np.int64) - 1]
        ratings.sort_indices()
        items = IdMap([self.items.raw(j) for j in cols])
        titles = {
            id_key(r): self.titles[id_key(r)] for r in items.raw_ids if id_key(r) in self.titles
        }
        return RatingDataset(
            users=IdMap([self.users.raw(i) for i in rows]),
            items=items,
            ratings=ratings,
            rating_scale=self.rating_scale,
            titles=titles,
            timestamps=stamps,
            name=self.name,
        )

    def __repr__(self) -> str:
        # the dataclass default would print every title and timestamp
        return f"<RatingDataset {self.describe()}>"

    def describe(self) -> str:
        density = self.n_ratings / max(1, self.n_users * self.n_items)
        low, high = self.rating_scale
        return (
            f"{self.name}: {self.n_users:,} users, {self.n_items:,} items, "
            f"{self.n_ratings:,} ratings (density {density:.2%}), scale {low:g}-{high:g}"
        )


def from_frame(
    frame: pd.DataFrame,
    rating_scale: tuple[float, float] | None = None,
    titles: dict[str, str] | None = None,
    name: str = "ratings",
) -> RatingDataset:
    """Build a dataset from a long frame with columns user, item, rating [, timestamp].

    The frame must already be validated and free of duplicate (user, item) pairs; users and
    items are indexed in order of first appearance after a stable sort by raw id.
    """
    for column in ("user", "item", "rating"):
        if column not in frame.columns:
            raise DataError(f"ratings frame: missing column {column!r} (need user, item, rating)")
    if frame.empty:
        raise DataError("ratings frame: no ratings")
    ratings = frame["rating"].to_numpy(dtype=np.float64)
    if not np.isfinite(ratings).all() or (ratings <= 0).any():
        bad = int(np.flatnonzero(~np.isfinite(ratings) | (ratings <= 0))[0])
        raise DataError(
            f"ratings frame: row {bad}, field 'rating': {ratings[bad]!r} is not a positive number "
            "(0 means 'unrated' in the sparse matrix; shift the scale to start above 0)"
        )
    user_codes, user_ids = _factorize(frame["user"])
    item_codes, item_ids = _factorize(frame["item"])
    order = np.lexsort((item_codes, user_codes))
    user_codes, item_codes = user_codes[order], item_codes[order]
    if len(order) > 1:
        same = (np.diff(user_codes) == 0) & (np.diff(item_codes) == 0)
        if same.any():
            raise DataError(
                "ratings frame: duplicate (user, item) pairs; resolve them before from_frame"
            )
    indptr = np.zeros(len(user_ids) + 1, dtype=np.int64)
    np.add.at(indptr, user_codes + 1, 1)
    matrix = sp.csr_matrix(
        (ratings[order].astype(np.float32), item_codes, np.cumsum(indptr)),
        shape=(len(user_ids), len(item_ids)),
    )
    stamps = None
    if "timestamp" in frame.columns and frame["timestamp"].notna().all():
        stamps = frame["timestamp"].to_numpy(dtype=np.float64)[order]
    scale = rating_scale or (float(ratings.min()), float(ratings.max()))
    return RatingDataset(
        users=IdMap(list(user_ids)),
        items=IdMap(list(item_ids)),
        ratings=matrix,
        rating_scale=scale,
        titles=dict(titles or {}),
        timestamps=stamps,
        name=name,
    )


def _factorize(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes and sorted unique raw ids (numeric order for numbers, lexical for strings)."""
    codes, uniques = pd.factorize(column, sort=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)
