"""Metrics: hand-computed values, ties, ideal-DCG truncation, and a cross-check against ranx."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnrec.errors import DataError
from attnrec.evaluation import metrics as m

LOG3 = np.log2(3.0)


def _metrics(scores, relevant, ks, excluded=()):
    ranking = m.rank_scores(
        np.asarray(scores, dtype=float),
        np.asarray(excluded, dtype=np.int64),
        np.asarray(relevant, dtype=np.int64),
        max(ks),
        np.random.default_rng(0),
    )
    return m.user_metrics(ranking, len(relevant), ks)


def test_hand_computed_values_without_ties():
    # ranking 0 1 2 3 4 5; relevant items 1 (rank 2) and 3 (rank 4)
    out = _metrics([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 3], (1, 3))
    assert out["precision@1"] == 0 and out["ndcg@1"] == 0 and out["mrr@1"] == 0
    assert out["hit_rate@1"] == 0
    assert out["precision@3"] == pytest.approx(1 / 3)
    assert out["recall@3"] == pytest.approx(1 / 2)
    assert out["capped_recall@3"] == pytest.approx(1 / 2)
    assert out["ndcg@3"] == pytest.approx((1 / LOG3) / (1 + 1 / LOG3))
    assert out["hit_rate@3"] == 1.0
    assert out["mrr@3"] == pytest.approx(1 / 2)


def test_excluded_items_are_not_ranked():
    # item 0 is a training item: item 1 moves to rank 1
    out = _metrics([0.9, 0.8, 0.7], [1], (1,), excluded=[0])
    assert out["ndcg@1"] == 1.0 and out["mrr@1"] == 1.0


def test_ideal_dcg_is_truncated_at_k():
    # four relevant items, the first two ranks hold relevant ones: a perfect top-2
    out = _metrics([0.9, 0.8, 0.7, 0.6, 0.5], [0, 1, 2, 3], (2,))
    assert out["ndcg@2"] == pytest.approx(1.0)
    assert out["recall@2"] == pytest.approx(2 / 4)
    assert out["capped_recall@2"] == pytest.approx(1.0)
    assert out["precision@2"] == pytest.approx(1.0)


def test_constant_scores_give_the_expected_value_of_a_random_order():
    # 4 tied candidates, one relevant: each position holds it with probability 1/4
    out = _metrics([1.0, 1.0, 1.0, 1.0], [2], (1, 2))
    assert out["precision@1"] == pytest.approx(1 / 4)
    assert out["ndcg@1"] == pytest.approx(1 / 4)
    assert out["hit_rate@1"] == pytest.approx(1 / 4)
    assert out["mrr@1"] == pytest.approx(1 / 4)
    assert out["recall@2"] == pytest.approx(1 / 2)
    assert out["ndcg@2"] == pytest.approx(1 / 4 + 1 / 4 / LOG3)
    # P(hit in 2 draws) = 1 - 3/4 x 2/3; E[RR@2] = 1/4 x 1 + (3/4 x 1/3) x 1/2
    assert out["hit_rate@2"] == pytest.approx(1 / 2)
    assert out["mrr@2"] == pytest.approx(1 / 4 + 1 / 8)


def test_a_tie_group_straddling_k():
    # item 0 first, then items 1 and 2 tied for ranks 2-3; item 2 is relevant
    out = _metrics([0.9, 0.5, 0.5, 0.1], [2], (2,))
    assert out["precision@2"] == pytest.approx(0.25)
    assert out["ndcg@2"] == pytest.approx(0.5 / LOG3)
    assert out["mrr@2"] == pytest.approx(0.25)
    assert out["hit_rate@2"] == pytest.approx(0.5)


def test_a_user_without_relevant_items_has_no_metric():
    ranking = m.rank_list(np.array([0, 1]), np.array([], dtype=np.int64))
    with pytest.raises(DataError, match="without relevant"):
        m.user_metrics(ranking, 0, (1,))


def test_a_short_explicit_list_counts_empty_slots_as_misses():
    ranking = m.rank_list(np.array([3]), np.array([3, 4]))
    out = m.user_metrics(ranking, 2, (1, 5))
    assert out["precision@5"] == pytest.approx(1 / 5)
    assert out["recall@5"] == pytest.approx(1 / 2)
    assert out["ndcg@1"] == 1.0


def test_coverage_counts_distinct_items_in_the_top_k():
    tops = [np.array([0, 1, 2]), np.array([0, 3, 4])]
    assert m.coverage(tops, 10, (1, 3)) == {"coverage@1": 0.1, "coverage@3": 0.5}


@st.composite
def tied_inputs(draw):
    n = draw(st.integers(2, 5))
    scores = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    relevant = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    k = draw(st.integers(1, n))
    return np.array(scores, dtype=float), np.array(sorted(relevant)), k


@settings(max_examples=60, deadline=None)
@given(tied_inputs(), st.randoms(use_true_random=False))
def test_metrics_do_not_depend_on_the_order_of_the_input(data, random):
    scores, relevant, k = data
    permutation = np.array(random.sample(range(len(scores)), len(scores)))
    # relabel item i as permutation[i]: the same scores and relevance, another input order
    moved = np.empty_like(scores)
    moved[permutation] = scores
    assert _metrics(moved, np.sort(permutation[relevant]), (k,)) == pytest.approx(
        _metrics(scores, relevant, (k,))
    )


@settings(max_examples=60, deadline=None)
@given(tied_inputs())
def test_tie_aware_metrics_equal_the_mean_over_all_orders(data):
    scores, relevant, k = data
    expected: dict[str, list[float]] = {}
    # every ordering consistent with the scores, each as an explicit list
    for order in itertools.permutations(range(len(scores))):
        values = scores[list(order)]
        if np.all(np.diff(values) <= 0):
            out = m.user_metrics(m.rank_list(np.array(order), relevant), len(relevant), (k,))
            for name, value in out.items():
                expected.setdefault(name, []).append(value)
    got = _metrics(scores, relevant, (k,))
    assert got == pytest.approx({name: np.mean(v) for name, v in expected.items()})


@pytest.mark.slow  # ranx compiles its metrics with numba on first use (tens of seconds)
def test_metrics_match_ranx_on_random_inputs():
    ranx = pytest.importorskip("ranx")
    rng = np.random.default_rng(7)
    n_users, n_items, ks = 25, 40, (1, 5, 10)
    qrels, run, ours = {}, {}, []
    for user in range(n_users):
        scores = rng.random(n_items)
        excluded = rng.choice(n_items, 5, replace=False)
        candidates = np.setdiff1d(np.arange(n_items), excluded)
        relevant = np.sort(rng.choice(candidates, rng.integers(1, 12), replace=False))
        qrels[f"q{user}"] = {f"d{i}": 1 for i in relevant}
        run[f"q{user}"] = {f"d{i}": float(scores[i]) for i in candidates}
        ours.append(_metrics(scores, relevant, ks, excluded))
    names = {"ndcg": "ndcg", "precision": "precision", "recall": "recall"}
    names |= {"hit_rate": "hit_rate", "mrr": "mrr"}
    qrels_obj, run_obj = ranx.Qrels(qrels), ranx.Run(run)
    for k in ks:
        for ours_name, ranx_name in names.items():
            metric = f"{ranx_name}@{k}"
            ranx.evaluate(qrels_obj, run_obj, metric)
            theirs = [run_obj.scores[metric][f"q{u}"] for u in range(n_users)]
            mine = [row[f"{ours_name}@{k}"] for row in ours]
            assert mine == pytest.approx(theirs, abs=1e-9), metric
