"""``DualAttentionRecommender``: the scikit-learn style facade over the network, in raw ids.

It keeps the torch module, the trainer and the configs apart from what a user sees: raw user
and item ids in, scores and explained recommendations out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from pydantic import ValidationError

from attnrec.data.dataset import RatingDataset
from attnrec.errors import ConfigError, DataError, NotFittedError, UnknownItemError
from attnrec.explain.counterfactual import (
    CounterfactualResult,
    UserCounterfactual,
    compare,
    permute_within,
)
from attnrec.explain.delta_rule import Candidate, Deltas, apply_delta_rule, top_n_unconstrained
from attnrec.explain.explanation import (
    AttendedItem,
    NeighbourSupport,
    Recommendation,
    sentence_for,
)
from attnrec.model.batching import Batch, build_batch
from attnrec.model.config import ModelConfig, TrainConfig
from attnrec.model.item_item import ease_weights
from attnrec.model.neighbours import Neighbours, top_k_cosine, user_neighbours
from attnrec.model.network import DualAttentionNet, Output
from attnrec.model.trainer import TrainResult, holdout_split, resolve_device, train

logger = logging.getLogger(__name__)

#: how many of the user's own items, by recommendation coefficient, an explanation lists
OWN_ITEMS_SHOWN = 3


@dataclass
class Profile:
    """One user as the network sees it: scaled ratings and top-K neighbours (indices)."""

    row: sp.csr_matrix
    neighbours: Neighbours


@dataclass
class UserAttention:
    """Both coefficient families of one user, keyed by raw ids, highest first."""

    similarity: list[NeighbourSupport]
    """alpha_sim over the user's neighbours (``rating`` is unused there and set to 0)."""
    recommendation: list[AttendedItem]
    """alpha_rec over the items the user rated."""


class DualAttentionRecommender:
    """The dual-attention recommender of Matamoros Aragon, Zoppis and Manzoni (xAI 2023).

    Args:
        model: architecture and loss settings (defaults: ``ModelConfig()``).
        train: optimisation settings (defaults: ``TrainConfig()``).
        progress: show a progress bar while training (only on a terminal).
        **params: any field of ModelConfig or TrainConfig, e.g. ``embedding_dim=32, epochs=10``.

    Fitted attributes end in ``_``: ``dataset_``, ``users_``, ``items_``, ``network_``,
    ``neighbours_``, ``history_``.
    """

    def __init__(
        self,
        model: ModelConfig | None = None,
        train: TrainConfig | None = None,
        progress: bool = True,
        **params: Any,
    ) -> None:
        model_fields = dict(model.model_dump() if model else {})
        train_fields = dict(train.model_dump() if train else {})
        for name, value in params.items():
            if name in ModelConfig.model_fields:
                model_fields[name] = value
            elif name in TrainConfig.model_fields:
                train_fields[name] = value
            else:
                known = sorted([*ModelConfig.model_fields, *TrainConfig.model_fields])
                raise ConfigError(f"unknown parameter {name!r}; known: {', '.join(known)}")
        try:
            self.model_config = ModelConfig(**model_fields)
            self.train_config = TrainConfig(**train_fields)
        except ValueError as error:
            raise ConfigError(_config_message(error)) from None
        self.progress = progress
        self.run_config_: dict[str, Any] | None = None

    # ----------------------------------------------------------------------------------------
    # fitting

    def fit(
        self,
        ratings: pd.DataFrame | RatingDataset,
        rating_scale: tuple[float, float] | None = None,
    ) -> DualAttentionRecommender:
        """Train on ratings: a DataFrame with columns user, item, rating [, timestamp], or a
        RatingDataset. Duplicate (user, item) pairs in a DataFrame keep the latest rating.

        Returns:
            self
        """
        dataset = (
            ratings if isinstance(ratings, RatingDataset) else _frame_dataset(ratings, rating_scale)
        )
        config, settings = self.model_config, self.train_config
        torch.manual_seed(settings.seed)
        device = resolve_device(settings.device)
        scaled = scaled_ratings(dataset)
        k = None if config.n_neighbours == "all" else int(config.n_neighbours)

        # a seeded per-user holdout chooses the epoch; neighbours come from the rest
        if settings.validation_fraction > 0:
            fit_part, held_out = holdout_split(scaled, settings.validation_fraction, settings.seed)
        else:
            fit_part, held_out = scaled, None
        neighbours = user_neighbours(fit_part, k, device=device)

        network = DualAttentionNet(dataset.n_items, config)
        set_item_item(network, fit_part)
        self.history_: TrainResult = train(
            network, fit_part, neighbours, config, settings, held_out, progress=self.progress
        )

        # inference uses every rating, the held-out ones included
        neighbours = user_neighbours(scaled, k, device=device)
        if held_out is not None:
            set_item_item(network, scaled)  # B again, with the held-out ratings
        self._set_fitted(dataset, network.to(device).eval(), neighbours)
        return self

    def _set_fitted(
        self, dataset: RatingDataset, network: DualAttentionNet, neighbours: Neighbours
    ) -> None:
        self.dataset_ = dataset
        self.users_ = list(dataset.users.raw_ids)
        self.items_ = list(dataset.items.raw_ids)
        self.network_ = network
        self.neighbours_ = neighbours
        self.scaled_ = scaled_ratings(dataset)
        self.rating_max_ = float(dataset.rating_scale[1])

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise NotFittedError("this DualAttentionRecommender is not fitted yet: call fit first")

    # ----------------------------------------------------------------------------------------
    # forward passes

    @property
    def device(self) -> torch.device:
        self._check_fitted()
        return next(self.network_.parameters()).device

    def _profile_of_user(self, user: Any) -> Profile:
        index = self.dataset_.user_index(user)
        return Profile(self.scaled_[[index]], self.neighbours_.rows(np.array([index])))

    def profile_from_ratings(self, ratings: Iterable[tuple[Any, float]]) -> Profile:
        """A new user's profile from (raw item, rating) pairs; unknown items raise
        UnknownItemError, ratings outside the scale raise DataError."""
        self._check_fitted()
        low, high = self.dataset_.rating_scale
        items, values = [], []
        for position, (item, rating) in enumerate(ratings, start=1):
            try:
                value = float(rating)
            except (TypeError, ValueError):
                raise DataError(
                    f"profile entry {position}: rating {rating!r} is not a number"
                ) from None
            if not low <= value <= high:
                raise DataError(
                    f"profile entry {position}: rating {value:g} of item {item!r} is outside "
                    f"the scale {low:g}-{high:g}"
                )
            items.append(self.dataset_.item_index(item))
            values.append(value / high)
        if not items:
            raise DataError("the profile is empty: give at least one (item, rating) pair")
        if len(set(items)) != len(items):
            raise DataError("the profile rates the same item twice: keep one rating per item")
        order = np.argsort(items)
        row = sp.csr_matrix(
            (
                np.asarray(values, dtype=np.float32)[order],
                np.asarray(items)[order],
                [0, len(items)],
            ),
            shape=(1, self.dataset_.n_items),
        )
        k = None if self.model_config.n_neighbours == "all" else int(self.model_config.n_neighbours)
        return Profile(row, top_k_cosine(row, self.scaled_, k, device=self.device))

    def _forward(self, profiles: sp.csr_matrix, neighbours: Neighbours) -> tuple[Batch, Output]:
        batch = build_batch(profiles, neighbours, self.scaled_).to(self.device)
        with torch.no_grad():
            return batch, self.network_(batch)

    def _user_rows(self, users: Sequence[Any] | None) -> np.ndarray:
        if users is None:
            return np.arange(self.dataset_.n_users)
        return np.array([self.dataset_.user_index(u) for u in users], dtype=np.int64)

    def score_indices(self, rows: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """(len(rows), n_items) y^ of training users given by index, in batches."""
        self._check_fitted()
        out = np.empty((len(rows), self.dataset_.n_items), dtype=np.float32)
        for start in range(0, len(rows), batch_size):
            part = rows[start : start + batch_size]
            _, output = self._forward(self.scaled_[part], self.neighbours_.rows(part))
            out[start : start + len(part)] = torch.softmax(output.logits, -1).cpu().numpy()
        return out

    def score(self, users: Sequence[Any] | None = None) -> pd.DataFrame:
        """y^ for each user: one row per user (raw ids), one column per item of ``items_``.

        Builds a dense block of len(users) x items: pass users in slices on large data.
        """
        self._check_fitted()
        rows = self._user_rows(users)
        index = pd.Index([self.users_[r] for r in rows], name="user")
        columns = pd.Index(self.items_, name="item")
        return pd.DataFrame(self.score_indices(rows), index=index, columns=columns)

    # ----------------------------------------------------------------------------------------
    # recommendations and explanations

    def recommend(
        self,
        user: Any,
        n: int = 10,
        delta: float | None = None,
        *,
        delta_score: float | None = None,
        delta_attention: float | None = None,
        delta_rating: float | None = None,
        fallback: bool = False,
        explainable_only: bool = True,
    ) -> list[Recommendation]:
        """Top-n unrated items of a known user, each with its explanation.

        Args:
            user: raw user id ("1" and 1 are the same user).
            n: number of items.
            delta: one threshold in [0, 1] for the three normalised quantities (default 0.8).
            delta_score, delta_attention, delta_rating: per-quantity overrides.
            fallback: fill up to n with unexplained items, flagged ``explainable=False``.
            explainable_only: False returns the unconstrained top-n, each still carrying a
                supporter when one passes the rule.
        """
        self._check_fitted()
        return self.recommend_profile_of(
            self._profile_of_user(user),
            n,
            Deltas.resolve(delta, delta_score, delta_attention, delta_rating),
            fallback,
            explainable_only,
        )

    def recommend_profile(
        self,
        ratings: Iterable[tuple[Any, float]],
        n: int = 10,
        delta: float | None = None,
        *,
        delta_score: float | None = None,
        delta_attention: float | None = None,
        delta_rating: float | None = None,
        fallback: bool = False,
    ) -> list[Recommendation]:
        """Recommendations for a new user's (item, rating) pairs, without retraining."""
        profile = self.profile_from_ratings(ratings)
        deltas = Deltas.resolve(delta, delta_score, delta_attention, delta_rating)
        return self.recommend_profile_of(profile, n, deltas, fallback, True)

    def recommend_profile_of(
        self,
        profile: Profile,
        n: int,
        deltas: Deltas,
        fallback: bool = False,
        explainable_only: bool = True,
        output: tuple[Batch, Output] | None = None,
    ) -> list[Recommendation]:
        """Recommendations for a Profile; ``output`` reuses a forward pass already made."""
        if n < 1:
            raise ConfigError(f"n={n} must be at least 1")
        _batch, out = output or self._forward(profile.row, profile.neighbours)
        if explainable_only:
            chosen = self._delta_rule(profile, out, n, deltas, fallback)
        else:
            scores = torch.softmax(out.logits[0], -1).cpu().numpy()
            chosen = top_n_unconstrained(scores, profile.row.indices, n)
            everything = Deltas(score=0.0, attention=deltas.attention, rating=deltas.rating)
            supported = self._delta_rule(profile, out, len(scores), everything)
            by_item = {c.item: c.supporters for c in supported}
            chosen = [Candidate(c.item, c.score, c.rank, by_item.get(c.item, [])) for c in chosen]
        own = self._attended_items(profile, out.rec_attention.cpu().numpy(), OWN_ITEMS_SHOWN)
        return [self._recommendation(c, own) for c in chosen]

    def explain(
        self,
        user: Any,
        item: Any,
        delta: float | None = None,
        *,
        delta_attention: float | None = None,
        delta_rating: float | None = None,
    ) -> Recommendation:
        """The explanation of one item for one known user, whatever its rank.

        The score threshold is not applied: the answer says who among the user's most attended
        neighbours rated the item highly (``explainable=False`` when nobody did). An item the
        user already rated raises DataError.
        """
        self._check_fitted()
        profile = self._profile_of_user(user)
        index = self.dataset_.item_index(item)
        if index in set(profile.row.indices.tolist()):
            raise DataError(f"user {user!r} already rated item {item!r}; explain an unrated item")
        deltas = Deltas.resolve(delta, 0.0, delta_attention, delta_rating)
        _, out = self._forward(profile.row, profile.neighbours)
        everything = self._delta_rule(profile, out, self.dataset_.n_items, deltas, fallback=True)
        candidate = next(c for c in everything if c.item == index)
        own = self._attended_items(profile, out.rec_attention.cpu().numpy(), OWN_ITEMS_SHOWN)
        return self._recommendation(candidate, own)

    def _delta_rule(
        self, profile: Profile, out: Output, n: int, deltas: Deltas, fallback: bool = False
    ) -> list[Candidate]:
        """The delta-rule on one profile's forward pass (batch of one)."""
        return apply_delta_rule(
            torch.softmax(out.logits[0], -1).cpu().numpy(),
            profile.row.indices,
            profile.neighbours.index[0],
            profile.neighbours.similarity[0],
            out.sim_attention[0].cpu().numpy(),
            self.dataset_.ratings,
            self.rating_max_,
            n,
            deltas,
            fallback,
        )

    def _recommendation(self, candidate: Candidate, own: list[AttendedItem]) -> Recommendation:
        item = self.items_[candidate.item]
        title = self.dataset_.title(item)
        supports = [
            NeighbourSupport(self.users_[s.neighbour], s.rating, s.attention, s.cosine)
            for s in candidate.supporters
        ]
        best = supports[0] if supports else None
        return Recommendation(
            item=item,
            title=title,
            score=candidate.score,
            rank=candidate.rank,
            explainable=candidate.explainable,
            sentence=sentence_for(
                title, item, best, len(supports) - 1 if supports else 0, self.rating_max_
            ),
            neighbour=best,
            other_neighbours=supports[1:],
            own_items=own,
        )

    def _attended_items(
        self, profile: Profile, alpha_rec: np.ndarray, limit: int | None = None
    ) -> list[AttendedItem]:
        """The profile's rated items by recommendation coefficient, highest first."""
        order = np.argsort(-alpha_rec, kind="stable")[:limit]
        items = profile.row.indices
        values = profile.row.data * self.rating_max_
        return [
            AttendedItem(
                self.items_[items[i]],
                self.dataset_.title(self.items_[items[i]]),
                float(values[i]),
                float(alpha_rec[i]),
            )
            for i in order
        ]

    def attention(self, user: Any) -> UserAttention:
        """Both coefficient vectors of a known user, keyed by raw ids, highest first."""
        self._check_fitted()
        return self.attention_of(self._profile_of_user(user))

    def attention_of(self, profile: Profile) -> UserAttention:
        """Both coefficient vectors of a Profile (a known or a new user)."""
        _, out = self._forward(profile.row, profile.neighbours)
        alpha_sim = out.sim_attention[0].cpu().numpy()
        index, cosine = profile.neighbours.index[0], profile.neighbours.similarity[0]
        valid = np.flatnonzero(index >= 0)
        valid = valid[np.argsort(-alpha_sim[valid], kind="stable")]
        similarity = [
            NeighbourSupport(self.users_[index[s]], 0.0, float(alpha_sim[s]), float(cosine[s]))
            for s in valid
        ]
        return UserAttention(
            similarity, self._attended_items(profile, out.rec_attention.cpu().numpy())
        )

    # ----------------------------------------------------------------------------------------
    # counterfactual test

    def counterfactual(
        self,
        users: Sequence[Any] | None = None,
        n_permutations: int = 100,
        seed: int = 0,
        batch_size: int = 256,
    ) -> dict[str, CounterfactualResult]:
        """Permute each coefficient family at inference and measure how y^ moves.

        Returns:
            {"recommendation": ..., "similarity": ...}, per-user medians over permutations.
        """
        self._check_fitted()
        if n_permutations < 1:
            raise ConfigError(f"n_permutations={n_permutations} must be at least 1")
        rows = self._user_rows(users)
        results = {
            f: CounterfactualResult(f, n_permutations) for f in ("recommendation", "similarity")
        }
        generator = torch.Generator().manual_seed(seed)
        for start in range(0, len(rows), batch_size):
            part = rows[start : start + batch_size]
            original, permuted = self.permuted_scores(part, n_permutations, generator)
            for family, scores in permuted.items():
                for position, user in enumerate(part):
                    candidates = np.setdiff1d(
                        np.arange(self.dataset_.n_items), self.scaled_[user].indices
                    )
                    per_perm = [
                        compare(original[position], scores[p, position], candidates)
                        for p in range(n_permutations)
                    ]
                    medians = {k: float(np.median([m[k] for m in per_perm])) for k in per_perm[0]}
                    results[family].users.append(UserCounterfactual(self.users_[user], **medians))
        return results

    def permuted_scores(
        self, rows: np.ndarray, n_permutations: int, generator: torch.Generator
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """y^ of users (indices) before, and after each of n random permutations.

        Returns:
            original (B, n) and {family: (P, B, n)} for "recommendation" and "similarity".
        """
        self._check_fitted()
        forward = self._forward(self.scaled_[rows], self.neighbours_.rows(rows))
        return self._permuted(*forward, n_permutations, generator)

    def permuted_scores_of(
        self, profile: Profile, n_permutations: int, generator: torch.Generator
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``permuted_scores`` for one Profile (a known or a new user): (1, n) and (P, 1, n)."""
        self._check_fitted()
        forward = self._forward(profile.row, profile.neighbours)
        return self._permuted(*forward, n_permutations, generator)

    def _permuted(
        self, batch: Batch, out: Output, n_permutations: int, generator: torch.Generator
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        original = torch.softmax(out.logits, -1).cpu().numpy()
        mask = batch.neighbour_local >= 0
        sim_groups = torch.nonzero(mask)[:, 0]
        permuted: dict[str, list[np.ndarray]] = {"recommendation": [], "similarity": []}
        with torch.no_grad():
            for _ in range(n_permutations):
                # recommendation coefficients shuffled over each user's rated items N(u)
                order = permute_within(batch.edge_user.cpu(), generator).to(self.device)
                rec = self.network_(batch, rec_attention=out.rec_attention[order])
                permuted["recommendation"].append(torch.softmax(rec.logits, -1).cpu().numpy())

                # similarity coefficients shuffled over each user's neighbours
                order = permute_within(sim_groups.cpu(), generator).to(self.device)
                alpha = out.sim_attention.clone()
                alpha[mask] = out.sim_attention[mask][order]
                sim = self.network_(batch, sim_attention=alpha)
                permuted["similarity"].append(torch.softmax(sim.logits, -1).cpu().numpy())
        return original, {f: np.stack(v) for f, v in permuted.items()}


def set_item_item(network: DualAttentionNet, scaled: sp.csr_matrix) -> None:
    """Give ``network``'s item-item term, if it has one, EASE's B on these ratings."""
    if network.item_item:
        lam = network.config.item_item_lambda
        network.set_item_weights(torch.from_numpy(ease_weights(scaled, lam)))


def scaled_ratings(dataset: RatingDataset) -> sp.csr_matrix:
    """Ratings divided by the top of the scale: (0, 1], the input of both traces."""
    scaled = dataset.ratings.astype(np.float32).copy()
    scaled.data /= np.float32(dataset.rating_scale[1])
    return scaled


def _frame_dataset(frame: pd.DataFrame, rating_scale: tuple[float, float] | None) -> RatingDataset:
    """A validated dataset from a DataFrame (columns user, item, rating [, timestamp])."""
    from attnrec.data import loaders

    return loaders.dataset_from_frame(frame, rating_scale=rating_scale, source="DataFrame")


def _config_message(error: ValueError) -> str:
    """pydantic's first complaint as one line: the field, the value given, what is wrong."""
    if not isinstance(error, ValidationError) or not error.errors():
        return str(error).splitlines()[0]
    first = error.errors()[0]
    field = first["loc"][0] if first["loc"] else "config"
    return f"{field}={first.get('input')!r}: {first['msg']}"


__all__ = ["DualAttentionRecommender", "Profile", "UnknownItemError", "UserAttention"]
