"""The delta-rule and the explanation it names, on a hand-made example."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from attnrec.errors import ConfigError
from attnrec.explain.delta_rule import Deltas, apply_delta_rule, percentile

# users 1-3 are the neighbours of user 0; columns are items 0-4; scale 1-5
RATINGS = sp.csr_matrix(
    np.array(
        [
            [3, 0, 0, 0, 0],  # user 0, the target: rated item 0
            [0, 5, 2, 0, 0],  # user 1 (attention 0.6): item 1 at 5/5, item 2 at 2/5
            [0, 4, 0, 4, 0],  # user 2 (attention 0.3): item 1 at 4/5, item 3 at 4/5
            [0, 0, 0, 0, 5],  # user 3 (attention 0.1): item 4 at 5/5
        ],
        dtype=np.float32,
    )
)
SCORES = np.array([0.1, 0.3, 0.25, 0.2, 0.15])
NEIGHBOURS = np.array([1, 2, 3])
COSINE = np.array([0.9, 0.8, 0.7])
ATTENTION = np.array([0.6, 0.3, 0.1])


def run(deltas: Deltas, n: int = 5, fallback: bool = False):
    return apply_delta_rule(
        SCORES, np.array([0]), NEIGHBOURS, COSINE, ATTENTION, RATINGS, 5.0, n, deltas, fallback
    )


def test_percentiles_by_hand() -> None:
    np.testing.assert_allclose(percentile(np.array([0.6, 0.3, 0.1])), [1.0, 0.5, 0.0])
    np.testing.assert_allclose(percentile(np.array([2.0, 2.0, 1.0])), [0.5, 0.5, 0.0])
    np.testing.assert_allclose(percentile(np.array([7.0])), [1.0])


def test_filtering_by_hand() -> None:
    # attention percentiles: user 1 -> 1, user 2 -> 0.5, user 3 -> 0 (fails 0.5)
    # item 1 (5/5 by user 1, 4/5 by user 2) and item 3 (4/5 by user 2) pass rating 0.8;
    # item 2 (2/5) fails; item 4 is supported only by user 3, whose attention fails
    chosen = run(Deltas(score=0.0, attention=0.5, rating=0.8))
    assert [c.item for c in chosen] == [1, 3]
    # score percentiles among the candidates 1-4: item 1 -> 1, item 3 -> 1/3
    chosen = run(Deltas(score=0.5, attention=0.5, rating=0.8))
    assert [c.item for c in chosen] == [1]


def test_explanation_names_the_most_attended_supporter() -> None:
    chosen = run(Deltas(score=0.0, attention=0.5, rating=0.8))
    supporters = chosen[0].supporters
    assert [s.neighbour for s in supporters] == [1, 2]
    assert (supporters[0].rating, supporters[0].attention, supporters[0].cosine) == (5.0, 0.6, 0.9)


def test_rated_items_are_never_recommended() -> None:
    chosen = run(Deltas(score=0.0, attention=0.0, rating=0.0))
    assert 0 not in [c.item for c in chosen]
    assert [c.item for c in chosen] == [1, 2, 3, 4]


def test_fallback_is_flagged_and_fills_by_score() -> None:
    chosen = run(Deltas(score=0.5, attention=0.5, rating=0.8), n=3, fallback=True)
    assert [(c.item, c.explainable) for c in chosen] == [(1, True), (2, False), (3, False)]
    assert len(run(Deltas(score=0.5, attention=0.5, rating=0.8), n=3)) == 1


def test_ranks_are_positions_among_all_candidates() -> None:
    chosen = run(Deltas(score=0.0, attention=0.5, rating=0.8))
    assert [c.rank for c in chosen] == [1, 3]


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_deltas_outside_unit_interval_are_refused(bad: float) -> None:
    with pytest.raises(ConfigError, match="outside"):
        Deltas.resolve(bad)
    with pytest.raises(ConfigError, match="delta_rating"):
        Deltas.resolve(0.5, rating=bad)


def test_one_delta_with_overrides() -> None:
    assert Deltas.resolve(0.6, attention=0.2) == Deltas(score=0.6, attention=0.2, rating=0.6)
