"""EASE's closed-form item-item weights (Steck, WWW 2019), for the item-item term of the model
and for the EASE baseline.

B = I - P / diag(P) with P = (X'X + lambda I)^-1 on the binarised ratings X: column j of B
regresses item j on every other item, with a zero diagonal so that no item predicts itself.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from attnrec.errors import ConfigError


def ease_closed_form(ratings: sp.csr_matrix, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """EASE weights over the items that have a rating.

    Args:
        ratings: users x items; every stored value counts as 1.
        lam: L2 regularisation added to the diagonal of X'X (> 0).

    Returns:
        (used, weights): the indices of the items with at least one rating, and the
        (len(used), len(used)) float32 matrix B over them. Items without a rating are left
        out of the inversion (their rows and columns of B are zero).
    """
    if lam <= 0:
        raise ConfigError(f"EASE lambda={lam} must be positive")
    matrix = binarise(ratings)
    used = np.flatnonzero(np.diff(matrix.tocsc().indptr) > 0)
    part = matrix[:, used]
    gram = np.asarray((part.T @ part).todense(), dtype=np.float64)
    gram[np.diag_indices_from(gram)] += lam

    # P = G^-1 through Cholesky; B = -P / diag(P) column-wise, zero diagonal
    inverse = _spd_inverse(gram)
    weights = inverse / (-np.diag(inverse))
    weights[np.diag_indices_from(weights)] = 0.0
    return used, weights.astype(np.float32)


def ease_weights(ratings: sp.csr_matrix, lam: float) -> np.ndarray:
    """EASE's B over all items: (items, items) float32, zero for items without a rating."""
    used, weights = ease_closed_form(ratings, lam)
    n_items = ratings.shape[1]
    full = np.zeros((n_items, n_items), dtype=np.float32)
    full[np.ix_(used, used)] = weights
    return full


def binarise(ratings: sp.csr_matrix) -> sp.csr_matrix:
    """Every stored rating becomes 1.0 (float32); explicit zeros are dropped."""
    out = ratings.tocsr().astype(np.float32, copy=True)
    out.eliminate_zeros()
    out.data[:] = 1.0
    return out


def _spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive-definite matrix via LAPACK potrf/potri."""
    factor, info = scipy.linalg.lapack.dpotrf(matrix, lower=False, clean=True)
    if info != 0:
        raise ConfigError(f"EASE: X'X + lambda I is not positive definite (info {info})")
    upper, info = scipy.linalg.lapack.dpotri(factor, lower=False)
    if info != 0:
        raise ConfigError(f"EASE: inversion failed (LAPACK info {info})")
    upper = np.triu(upper)
    return upper + np.triu(upper, 1).T
