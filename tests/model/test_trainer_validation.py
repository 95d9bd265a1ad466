"""Early stopping's validation ratings: which held-out ratings count as relevant."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from attnrec.model.trainer import liked_ratings


def held_out() -> sp.csr_matrix:
    # scaled ratings of two users: 1/5 .. 5/5 stars
    return sp.csr_matrix(np.array([[0.2, 0.0, 0.8, 1.0], [0.6, 0.8, 0.0, 0.4]], dtype=np.float32))


def test_zero_keeps_every_held_out_rating() -> None:
    matrix = held_out()
    assert liked_ratings(matrix, 0.0) is matrix
    assert liked_ratings(None, 0.8) is None


def test_four_stars_and_up_are_the_liked_ones() -> None:
    matrix = held_out()
    liked = liked_ratings(matrix, 0.8)
    assert liked is not None
    assert liked.toarray().tolist() == [
        [0.0, 0.0, np.float32(0.8), 1.0],
        [0.0, np.float32(0.8), 0.0, 0.0],
    ]
    assert liked.nnz == 3
    # the caller's matrix is left as it was
    assert matrix.nnz == 6
