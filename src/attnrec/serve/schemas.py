"""Request and response bodies of the REST API (pydantic models, shown in the OpenAPI schema).

Raw ids are kept as the run folder stores them: integers or strings. Path and query ids are
strings, and ``"1"`` finds the user or item stored as ``1``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RawId = int | str

#: the biggest n of a recommendation list or a counterfactual list
MAX_N = 1000

#: the biggest number of permutations of one counterfactual request
MAX_PERMUTATIONS = 200

#: the biggest number of (item, rating) pairs in a posted profile
MAX_PROFILE = 1000

#: the most rows a search or a listing answers
MAX_RESULTS = 100

Family = Literal["recommendation", "similarity"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """Every error: a one-line message naming the bad value and what to do."""

    detail: str
    """What went wrong and what to do about it."""
    error: str
    """The error type, e.g. ``UnknownUserError``, ``ValidationError``, ``TooLarge``."""


class Health(BaseModel):
    """The served run: its data and model at a glance."""

    status: Literal["ok"] = "ok"
    attnrec_version: str
    dataset: str
    n_users: int
    n_items: int
    n_ratings: int
    rating_scale: list[float] = Field(min_length=2, max_length=2)
    """(lowest, highest) rating of the scale."""
    embedding_dim: int
    n_neighbours: int
    """K: how many similar users each user attends over (Trace A)."""
    limits: dict[str, int]
    """The server's bounds: max_n, max_permutations, max_profile, max_results."""


class UserSummary(BaseModel):
    """One known user."""

    user: RawId
    n_ratings: int


class UserList(BaseModel):
    """Known users whose id starts with a prefix."""

    users: list[UserSummary]
    total: int
    """How many users matched, of which ``users`` is the first ``limit``."""


class ItemSummary(BaseModel):
    """One catalogue item, as found by a title search."""

    item: RawId
    title: str | None
    n_ratings: int
    mean_rating: float | None


class ItemSearch(BaseModel):
    """Items whose title contains the query (case-insensitive), most rated first."""

    query: str
    items: list[ItemSummary]
    total: int
    """How many items matched, of which ``items`` is the first ``limit``."""


class Neighbour(BaseModel):
    """A similar user: their similarity coefficient and, for a supporter, their rating."""

    user: RawId
    attention: float
    """alpha_sim(u)[v]: the similarity coefficient of this neighbour (Trace A)."""
    cosine: float
    """Cosine similarity of the two users' rating vectors."""
    rating: float | None = None
    """The neighbour's rating of the recommended item (supporters only)."""


class AttendedItem(BaseModel):
    """One of the user's rated items with its recommendation coefficient."""

    item: RawId
    title: str | None
    rating: float
    attention: float
    """alpha_rec(u)[i] of the last graph-attention layer (Trace B)."""


class Recommendation(BaseModel):
    """One recommended item and why (the delta-rule)."""

    item: RawId
    title: str | None
    score: float
    """y^: the item's probability under the model."""
    rank: int
    """The item's rank by score among the user's unrated items (1 = best)."""
    explainable: bool
    """False only for a flagged fallback that no similar user supports."""
    sentence: str
    """The explanation in one plain-English sentence."""
    neighbour: Neighbour | None
    """The most attended similar user who rated the item highly."""
    other_neighbours: list[Neighbour]
    own_items: list[AttendedItem]
    """The user's own items with the highest recommendation coefficients."""


class DeltaValues(BaseModel):
    """The three thresholds of the delta-rule, each in [0, 1]."""

    score: float
    attention: float
    rating: float


class Recommendations(BaseModel):
    """A user's top-n explained recommendations."""

    user: RawId | None
    """The user, or None for a posted profile."""
    n: int
    deltas: DeltaValues
    fallback: bool
    recommendations: list[Recommendation]
    note: str | None = None
    """Set when fewer than n items could be explained."""


class SimilarUser(BaseModel):
    """One neighbour of the user by similarity coefficient."""

    user: RawId
    attention: float
    """alpha_sim(u)[v]."""
    cosine: float
    n_ratings: int | None
    """How many items the neighbour rated."""


class Attention(BaseModel):
    """Both coefficient families of a user, highest first."""

    user: RawId | None
    similar_users: list[SimilarUser]
    """Top similar users by alpha_sim (Trace A)."""
    rated_items: list[AttendedItem]
    """Top rated items by alpha_rec (Trace B)."""
    n_neighbours: int
    """How many neighbours the user attends over in all."""
    n_rated: int
    """How many items the user rated in all."""


class RankedItem(BaseModel):
    """An item of a ranking, with where it stood before the permutation."""

    item: RawId
    title: str | None
    score: float
    rank: int
    original_rank: int
    """Its rank by the original scores among the user's unrated items."""
    in_original: bool
    """Whether the item is in the original top-n."""


class FamilyCounterfactual(BaseModel):
    """What permuting one coefficient family does to the user's top-n."""

    family: Family
    example: list[RankedItem]
    """The top-n after the first permutation."""
    average: list[RankedItem]
    """The top-n by the mean score over all permutations."""
    mean_overlap: float
    """Mean share of the original top-n still in the permuted top-n (1 = unchanged)."""
    top1_changed: float
    """Share of permutations whose best item differs from the original."""
    tvd_median: float | None
    """Median total-variation distance between the original and permuted scores."""
    jsd_median: float | None
    """Median Jensen-Shannon divergence between the original and permuted scores."""
    kendall_tau_median: float | None
    """Median Kendall tau between the two rankings (None where undefined)."""


class Counterfactual(BaseModel):
    """A user's top-n by score before and after permuting each coefficient family.

    The lists rank the user's unrated items by y^ without the delta-rule, as the paper's
    counterfactual test does.
    """

    user: RawId | None
    n: int
    n_permutations: int
    seed: int
    original: list[RankedItem]
    families: list[FamilyCounterfactual]


class ProfileRating(_Strict):
    """One (item, rating) pair of a new user's profile."""

    item: RawId
    rating: float = Field(allow_inf_nan=False)


class ProfileRequest(_Strict):
    """A new user's ratings and what to compute for them."""

    ratings: list[ProfileRating] = Field(min_length=1)
    """The rated items: each item once, ratings inside the run's scale."""
    n: int = Field(10, ge=1, le=MAX_N)
    delta: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)
    delta_score: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)
    delta_attention: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)
    delta_rating: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)
    fallback: bool = False
    top: int = Field(10, ge=1, le=MAX_RESULTS)
    """How many similar users and rated items the attention part lists."""


class ProfileAnswer(BaseModel):
    """Recommendations and attention of a new user, computed without retraining."""

    recommendations: Recommendations
    attention: Attention


class ProfileCounterfactualRequest(_Strict):
    """A new user's ratings and the permutation test to run on them."""

    ratings: list[ProfileRating] = Field(min_length=1)
    n: int = Field(10, ge=1, le=MAX_N)
    permutations: int = Field(20, ge=1, le=MAX_PERMUTATIONS)
    seed: int = Field(0, ge=0, le=2**31 - 1)
