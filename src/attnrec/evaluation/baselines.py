"""Standard top-n baselines, scored under the same protocol as attnrec.

Every baseline trains on binarised data (each training rating becomes 1) and scores users from
a profile (their training row, or their fold-in row in the strong-generalisation split):

* ``MostPopular``: the number of training users of each item.
* ``UserKNN``: cosine between users; an item's score is the sum of the similarities of the k
  most similar users who have it (implicit scoring).
* ``ItemKNN``: cosine between items, each item keeping its k most similar items; a user's score
  of an item is the sum of its similarities to the user's items.
* ``EASE``: Steck's closed form B = I - P diag(1/diag(P)), P = (X'X + lambda I)^-1 (WWW 2019).
* ``ALS``: implicit's AlternatingLeastSquares (Hu, Koren, Volinsky 2008), one thread and a
  fixed seed, so that it is deterministic.
"""

from __future__ import annotations

import logging
import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from attnrec.data.dataset import RatingDataset
from attnrec.errors import ConfigError, NotFittedError
from attnrec.model.item_item import binarise, ease_closed_form

logger = logging.getLogger(__name__)

#: target items per chunk of the item-item similarity (bounds memory to items x chunk floats)
ITEM_CHUNK = 1024


@dataclass
class Variant:
    """A second ranking produced from the same forward pass (e.g. explainable items only).

    Attributes:
        name: the name it is reported under.
        lists: one ranked list of item indices per scored user (possibly shorter than k).
        extras: per-user extra columns (e.g. the number of explainable items).
    """

    name: str
    lists: list[np.ndarray]
    extras: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Prediction:
    """Scores of a batch of users, with optional per-user extras and variant rankings."""

    scores: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    variants: list[Variant] = field(default_factory=list)


class Recommender(ABC):
    """What the protocol needs from a model: fit on a dataset, score users from profiles."""

    name: str = "model"

    @abstractmethod
    def fit(self, train: RatingDataset) -> Recommender:
        """Fit on the training ratings (raw values; binarise inside when needed)."""

    @abstractmethod
    def score(
        self, rows: np.ndarray, profiles: sp.csr_matrix, new_users: bool = False
    ) -> np.ndarray:
        """(len(rows), n_items) scores; higher is better.

        Args:
            rows: user indices being scored.
            profiles: (len(rows), n_items) their raw ratings as the model may see them.
            new_users: True when the users were not in training (strong generalisation).
        """

    def predict(
        self, rows: np.ndarray, profiles: sp.csr_matrix, new_users: bool, depth: int
    ) -> Prediction:
        """Scores plus any variant rankings down to ``depth`` (default: scores only)."""
        return Prediction(self.score(rows, profiles, new_users))

    def _check_fitted(self, attribute: str) -> None:
        if not hasattr(self, attribute):
            raise NotFittedError(f"{self.name} is not fitted yet: call fit first")


def _row_normalise(matrix: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ matrix, dtype=np.float32)


class MostPopular(Recommender):
    """The same ranking for everybody: items by number of training users."""

    name = "most-popular"

    def fit(self, train: RatingDataset) -> MostPopular:
        self.popularity_ = np.asarray(binarise(train.ratings).sum(axis=0)).ravel()
        return self

    def score(
        self, rows: np.ndarray, profiles: sp.csr_matrix, new_users: bool = False
    ) -> np.ndarray:
        self._check_fitted("popularity_")
        return np.tile(self.popularity_.astype(np.float32), (len(rows), 1))


class UserKNN(Recommender):
    """User-based kNN with cosine similarity and implicit (sum of similarities) scoring.

    Args:
        k: neighbours per user.
    """

    name = "user-knn"

    def __init__(self, k: int = 50) -> None:
        if k < 1:
            raise ConfigError(f"user-knn k={k} must be at least 1")
        self.k = k

    def fit(self, train: RatingDataset) -> UserKNN:
        self.matrix_ = binarise(train.ratings)
        self.normalised_ = _row_normalise(self.matrix_)
        return self

    def score(
        self, rows: np.ndarray, profiles: sp.csr_matrix, new_users: bool = False
    ) -> np.ndarray:
        self._check_fitted("matrix_")
        # cosine of each profile with every training user, the user itself excluded
        sims = np.asarray((_row_normalise(binarise(profiles)) @ self.normalised_.T).todense())
        sims[np.arange(len(rows)), rows] = 0.0

        # keep the k most similar users (positive similarities only) and sum their items
        k = min(self.k, sims.shape[1])
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        values = np.take_along_axis(sims, top, axis=1)
        values[values < 0] = 0.0
        weights = sp.csr_matrix(
            (values.ravel(), top.ravel(), np.arange(0, top.size + 1, k)), shape=sims.shape
        )
        return np.asarray((weights @ self.matrix_).todense(), dtype=np.float32)


class ItemKNN(Recommender):
    """Item-based kNN: cosine between items, each item keeping its k most similar items.

    Args:
        k: neighbours kept per target item.
    """

    name = "item-knn"

    def __init__(self, k: int = 100) -> None:
        if k < 1:
            raise ConfigError(f"item-knn k={k} must be at least 1")
        self.k = k

    def fit(self, train: RatingDataset) -> ItemKNN:
        # column-normalised binary matrix: X'X is then the item-item cosine
        matrix = binarise(train.ratings)
        columns = _row_normalise(matrix.T.tocsr()).T.tocsr()
        n_items = matrix.shape[1]
        k = min(self.k, max(1, n_items - 1))

        # for each chunk of target items j: similarities sim(i, j), keep the top k per j
        blocks = []
        for start in range(0, n_items, ITEM_CHUNK):
            stop = min(start + ITEM_CHUNK, n_items)
            sims = np.asarray((columns.T @ columns[:, start:stop]).todense())
            sims[np.arange(start, stop), np.arange(stop - start)] = 0.0
            top = np.argpartition(-sims, k - 1, axis=0)[:k]
            values = np.take_along_axis(sims, top, axis=0)
            cols = np.broadcast_to(np.arange(start, stop), top.shape)
            blocks.append((values.ravel(), top.ravel(), cols.ravel()))
        values, item_rows, item_cols = (np.concatenate(part) for part in zip(*blocks, strict=True))
        keep = values > 0
        self.similarity_ = sp.csr_matrix(
            (values[keep], (item_rows[keep], item_cols[keep])), shape=(n_items, n_items)
        )
        return self

    def score(
        self, rows: np.ndarray, profiles: sp.csr_matrix, new_users: bool = False
    ) -> np.ndarray:
        self._check_fitted("similarity_")
        return np.asarray((binarise(profiles) @ self.similarity_).todense(), dtype=np.float32)


class EASE(Recommender):
    """Embarrassingly Shallow Autoencoder (Steck, WWW 2019), closed form.

    Args:
        lam: L2 regularisation lambda added to the diagonal of X'X.
    """

    name = "ease"

    def __init__(self, lam: float = 500.0) -> None:
        if not math.isfinite(lam) or lam <= 0:
            raise ConfigError(f"EASE lambda={lam} must be a positive, finite number")
        self.lam = lam

    def fit(self, train: RatingDataset) -> EASE:
        # only items with a training rating enter the inversion; the others score 0
        self.used_, self.weights_ = ease_closed_form(train.ratings, self.lam)
        self.n_items_ = train.ratings.shape[1]
        return self

    def score(
        self, rows: np.ndarray, profiles: sp.csr_matrix, new_users: bool = False
    ) -> np.ndarray:
        self._check_fitted("weights_")
        out = np.zeros((len(rows), self.n_items_), dtype=np.float32)
        out[:, self.used_] = binarise(profiles)[:, self.used_] @ self.weights_
        return out


class ALS(Recommender):
    """implicit's AlternatingLeastSquares on binarised data, one thread, seeded.

    Args:
        factors: latent dimensions.
        regularization: L2 penalty.
        alpha: confidence of an observed interaction (C = alpha x 1).
        iterations: ALS sweeps.
        seed: initialisation seed.
    """

    name = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 2.0,
        iterations: int = 15,
        seed: int = 0,
    ) -> None:
        self.factors, self.regularization, self.alpha = factors, regularization, alpha
        self.iterations, self.seed = iterations, seed

    def fit(self, train: RatingDataset) -> ALS:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        started = time.perf_counter()
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                num_threads=1,
                random_state=self.seed,
            )
            model.fit(binarise(train.ratings), show_progress=False)
        logger.debug("ALS fitted in %.1fs", time.perf_counter() - started)
        self.model_ = model
        return self

    def score(
        self, rows: np.ndarray, profiles: sp.csr_matrix, new_users: bool = False
    ) -> np.ndarray:
        self._check_fitted("model_")
        if new_users:
            with _one_blas_thread():
                factors = self.model_.recalculate_user(rows, binarise(profiles))
        else:
            factors = self.model_.user_factors[rows]
        return np.asarray(factors @ self.model_.item_factors.T, dtype=np.float32)


def _one_blas_thread():  # type: ignore[no-untyped-def]
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, "blas")
