"""Typed configuration of the dual-attention model and of its training.

A config written to a run folder (``model_dump``) loads back to an equal object.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

#: "auto" turns the item-item term on up to this many items (B is items x items float32)
ITEM_ITEM_MAX_ITEMS = 20_000


class ModelConfig(BaseModel):
    """Architecture and loss of the dual-attention recommender (paper section 2.1)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    embedding_dim: int = Field(256, ge=1, le=4096)
    """Size d of the user, neighbour and item embeddings (rows of W_A, W_B)."""

    n_neighbours: Annotated[int, Field(ge=1)] | Literal["all"] = 50
    """K of the top-K cosine neighbours each user attends over (Trace A); "all" keeps every
    user with a positive similarity, which needs memory O(users^2): small data only."""

    n_layers: int = Field(1, ge=1, le=8)
    """Number of graph-attention layers K of Trace B."""

    alignment_lambda: float = Field(10.0, ge=0.0)
    """lambda: weight of the cross-entropy between observed ratings and recommendation
    coefficients (the loss's second term). 0 trains attention for accuracy only; the paper
    uses 1. 10 (default) was chosen by the validation tuning in docs/evaluation.md (seventh
    run), and its attention also passes the faithfulness suite's leave-one-out and ERASER
    checks that lambda 1 fails (docs/faithfulness.md)."""

    corruption: float = Field(0.8, ge=0.0, lt=1.0)
    """Probability of dropping each rated item from the input profile during training
    (denoising); the target keeps every rating. 0.8: docs/evaluation.md, seventh run."""

    negative_slope: float = Field(0.2, ge=0.0, lt=1.0)
    """Slope of the LeakyReLU in both attention traces."""

    attention_uses_rating: bool = True
    """u's rating of i enters e(u, i) as an edge feature, so alpha_rec can follow each user's
    own ratings (an extension of Trace B, Eq. 2, chosen by the tuning run in
    docs/evaluation.md); False gives the paper's equation exactly."""

    output_layer: Literal["dense", "tied"] = "dense"
    """F_Theta, the linear layer from both context vectors to the item scores: "dense"
    (default, as in the paper) learns its own weights; "tied" uses the item embeddings
    [W_A; W_B]^T as its weights, plus a bias, so every rating of an item trains its output
    weights too. Tied helped without the item-item term (+16% validation NDCG@10 on
    ml-latest-small), dense helps with it (docs/evaluation.md, fourth tuning run)."""

    item_item: Literal["auto", "on", "off"] = "auto"
    """An item-item path from the recommendation coefficients to the scores (an extension of
    the paper): item j's logit gains gamma x sum_i |N(u)| alpha_rec(u, i) B[i, j], where B is
    EASE's closed-form item-item matrix on the training ratings (fixed, zero diagonal) and
    gamma is learned. With uniform attention this is exactly EASE's score, so the attention
    re-weights which of the user's items vote. "auto" (default) turns it on for catalogues of
    at most ITEM_ITEM_MAX_ITEMS items, since B holds items^2 floats (1.6 GB at 20,000 items);
    chosen by the validation tuning in docs/evaluation.md."""

    item_item_lambda: float = Field(500.0, gt=0.0)
    """EASE's L2 regularisation lambda for B."""

    item_item_gain: float = Field(10.0, gt=0.0)
    """Initial gamma (learned from there): large enough that B's votes rank the items from
    the first step, while F_Theta learns its corrections."""

    vote_rating_power: float = Field(2.0, ge=0.0)
    """p: each of u's items votes in the item-item term with |N(u)| alpha_rec(u, i) times
    r(u, i)^p over the mean of u's r^p, so the attention and the rating both decide how loud
    an item votes; 0 leaves the attention alone. 2 (default) was chosen by the validation
    tuning in docs/evaluation.md (sixth run: 1 over 0; seventh run: 2 over 1), as EASE on
    rating-weighted inputs suggested."""

    target_rating_power: float = Field(2.0, ge=0.0)
    """q: the accuracy term's target ybar weights each of u's ratings by r^q over the sum of
    u's r^q, so q > 1 leans the score distribution towards u's best-rated items; 1 is ybar as
    in the paper (ratings normalised to sum to 1), 0 counts every rating alike. 2 (default):
    docs/evaluation.md, seventh run. Training only: scores do not depend on it."""

    use_similarity_trace: bool = True
    """Ablation switch: drop Trace A (similarity context) from the dense layer's input."""

    use_recommendation_trace: bool = True
    """Ablation switch: drop Trace B (graph-attention context) from the dense layer's input."""


class TrainConfig(BaseModel):
    """Optimisation of the model: Adam over mini-batches of users, early stopping."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    epochs: int = Field(20, ge=1)
    """Passes over the training users (at most, with early stopping)."""

    batch_size: int = Field(32, ge=1)
    """Users per mini-batch (32: more steps per epoch help data sets with few users; chosen by
    the validation tuning in docs/evaluation.md)."""

    learning_rate: float = Field(3e-3, gt=0.0)
    """Adam's step size."""

    weight_decay: float = Field(0.0, ge=0.0)
    """Adam's L2 penalty."""

    lr_schedule: Literal["constant", "cosine"] = "cosine"
    """"cosine" (default) anneals the step size to 0 over ``epochs``, so the last epoch's
    weights have settled; "constant" keeps it."""

    patience: int = Field(8, ge=1)
    """Epochs without a better validation NDCG before training stops (with a validation
    share only)."""

    validation_fraction: float = Field(0.0, ge=0.0, lt=1.0)
    """Share of each user's ratings held out (seeded) to choose the best epoch by early
    stopping; 0 (default) trains on every rating for exactly ``epochs`` epochs. On
    ml-latest-small a 10% holdout chose the epoch almost at random (docs/evaluation.md, sixth
    tuning run), while 20 cosine-annealed epochs on all ratings did better on both data sets."""

    validation_k: int = Field(10, ge=1)
    """Cut-off of the validation NDCG."""

    validation_relevance: float = Field(0.0, ge=0.0, le=1.0)
    """Held-out ratings at or above this share of the scale's top (0.8: 4 of 5 stars) are the
    relevant ones of the validation NDCG; 0 counts every held-out rating."""

    seed: int = Field(0, ge=0, lt=2**63)
    """Seed of every random draw: validation split, initialisation, batches, corruption."""

    mixed_precision: bool = True
    """bfloat16 autocast while training on CUDA (ignored on CPU)."""

    device: str = "auto"
    """"auto" (CUDA when available), "cpu", or a torch device string such as "cuda:1"."""


def uses_item_item(config: ModelConfig, n_items: int) -> bool:
    """Whether a model of ``config`` over ``n_items`` items has the item-item term."""
    if config.item_item == "auto":
        return n_items <= ITEM_ITEM_MAX_ITEMS
    return config.item_item == "on"
