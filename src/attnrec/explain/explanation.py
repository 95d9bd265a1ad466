"""Recommendations with their explanations, in raw ids, ready to print or serialise."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class NeighbourSupport:
    """A similar user who rated the recommended item highly."""

    user: Any
    rating: float
    attention: float
    """alpha_sim(u)[v]: the similarity coefficient of this neighbour for the target user."""
    cosine: float
    """Cosine similarity of the two users' rating vectors."""


@dataclass
class AttendedItem:
    """One of the target user's own rated items, with its recommendation coefficient."""

    item: Any
    title: str | None
    rating: float
    attention: float
    """alpha_rec(u)[i] of the last graph-attention layer."""


@dataclass
class Recommendation:
    """One recommended item and why.

    ``explainable`` is False only for a flagged fallback: an item shown to fill the list
    although no similar user passed the delta-rule for it.
    """

    item: Any
    title: str | None
    score: float
    rank: int
    explainable: bool
    sentence: str
    neighbour: NeighbourSupport | None = None
    other_neighbours: list[NeighbourSupport] = field(default_factory=list)
    own_items: list[AttendedItem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sentence_for(
    title: str | None,
    item: Any,
    neighbour: NeighbourSupport | None,
    n_others: int,
    rating_max: float,
) -> str:
    """One plain-English sentence naming the neighbour and the rating."""
    name = f'"{title}"' if title else f"item {item}"
    if neighbour is None:
        return (
            f"{name} is a fallback: none of your most similar users rated it highly, "
            "so it has no attention-based explanation."
        )
    others = ""
    if n_others:
        others = (
            f" ({n_others} other similar user{'s' if n_others > 1 else ''} rated it highly too)"
        )
    return (
        f"Recommended {name} because user {neighbour.user}, among the users most similar to you "
        f"(attention {neighbour.attention:.3f}, cosine {neighbour.cosine:.2f}), "
        f"rated it {neighbour.rating:g}/{rating_max:g}{others}."
    )
