"""TVD, JSD, Kendall tau and the Wilcoxon helpers on values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnrec.explain.measures import jensen_shannon, total_variation
from attnrec.faithfulness.eraser import rationale_size
from attnrec.faithfulness.measures import (
    candidate_probs,
    group_jsd,
    jsd,
    tau_or_nan,
    top1_changed,
    top_k_overlap,
    tvd,
)
from attnrec.faithfulness.stats import holm, rank_biserial, wilcoxon_one_sample, wilcoxon_paired


def t(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_tvd_by_hand() -> None:
    # |0.5-0| + |0.5-0.5| + |0-0.5| = 1, halved
    assert tvd(t([0.5, 0.5, 0.0]), t([0.0, 0.5, 0.5])).item() == pytest.approx(0.5)
    assert tvd(t([1.0, 0.0]), t([0.0, 1.0])).item() == pytest.approx(1.0)
    assert tvd(t([0.2, 0.8]), t([0.2, 0.8])).item() == 0.0


def test_jsd_by_hand() -> None:
    # disjoint supports: 1 bit
    assert jsd(t([1.0, 0.0]), t([0.0, 1.0])).item() == pytest.approx(1.0)
    # p = (1/2, 1/2), q = (1, 0), m = (3/4, 1/4):
    # KL(p||m) = 1/2 log2(2/3) + 1/2 log2(2) = 0.2075187, KL(q||m) = log2(4/3) = 0.4150375
    expected = 0.5 * (0.5 * math.log2(2 / 3) + 0.5 + math.log2(4 / 3))
    assert expected == pytest.approx(0.3112781, abs=1e-7)
    assert jsd(t([0.5, 0.5]), t([1.0, 0.0])).item() == pytest.approx(expected)


def test_group_jsd_matches_row_jsd() -> None:
    # two groups: (1/2, 1/2) vs (1, 0), and (1, 0, 0) vs (0, 0, 1)
    p = t([0.5, 0.5, 1.0, 0.0, 0.0])
    q = t([1.0, 0.0, 0.0, 0.0, 1.0])
    groups = torch.tensor([0, 0, 1, 1, 1])
    result = group_jsd(p, q, groups, 2)
    assert result[0].item() == pytest.approx(0.3112781, abs=1e-7)
    assert result[1].item() == pytest.approx(1.0)


def test_kendall_tau_by_hand() -> None:
    # 6 pairs, only (2, 3) discordant: (5 - 1) / 6
    assert tau_or_nan(np.array([1, 2, 3, 4]), np.array([1, 3, 2, 4])) == pytest.approx(2 / 3)
    assert tau_or_nan(np.array([1, 2, 3]), np.array([3, 2, 1])) == pytest.approx(-1.0)
    # undefined: constant vector or a single value
    assert math.isnan(tau_or_nan(np.array([1, 2, 3]), np.array([5, 5, 5])))
    assert math.isnan(tau_or_nan(np.array([1.0]), np.array([2.0])))


def test_overlap_top1_and_candidates() -> None:
    p = t([[0.4, 0.3, 0.2, 0.1]])
    q = t([[0.1, 0.3, 0.2, 0.4]])
    # top-2 {0, 1} vs {3, 1}
    assert top_k_overlap(p, q, 2).item() == pytest.approx(0.5)
    assert top1_changed(p, q).item() == 1.0
    # rated items get probability 0, the rest renormalised
    probs = candidate_probs(torch.log(p), torch.tensor([[False, True, True, False]]))
    assert probs[0].tolist() == pytest.approx([0.0, 0.6, 0.4, 0.0])


distributions = st.lists(st.floats(0.01, 1.0), min_size=2, max_size=12)


@settings(max_examples=60, deadline=None)
@given(distributions, st.randoms(use_true_random=False))
def test_batched_measures_agree_with_explain_measures(raw: list[float], rnd) -> None:  # type: ignore[no-untyped-def]
    p = np.array(raw) / sum(raw)
    q = np.array(rnd.sample(raw, len(raw))) / sum(raw)
    assert tvd(t(p.tolist()), t(q.tolist())).item() == pytest.approx(total_variation(p, q))
    value = jsd(t(p.tolist()), t(q.tolist())).item()
    assert value == pytest.approx(jensen_shannon(p, q), abs=1e-9)
    assert -1e-12 <= value <= 1 + 1e-12
    assert value == pytest.approx(jsd(t(q.tolist()), t(p.tolist())).item())


def test_rank_biserial_by_hand() -> None:
    # ranks of |d|: 1, 2, 3; R+ = 1 + 2, R- = 3
    assert rank_biserial(np.array([1.0, 2.0, -3.0])) == pytest.approx(0.0)
    assert rank_biserial(np.array([1.0, 2.0, 3.0])) == pytest.approx(1.0)
    # R+ = 3, R- = 1 + 2 + ... : d = (-1, -2, 3): R+ = 3, R- = 3 -> 0; (-1, 2, 3): (5 - 1) / 6
    assert rank_biserial(np.array([-1.0, 2.0, 3.0])) == pytest.approx(4 / 6)


def test_wilcoxon_all_positive_exact_p() -> None:
    # 10 positive differences: one-sided exact p = 1 / 2^10
    test = wilcoxon_paired(np.arange(1, 11) + 0.5, np.zeros(10), "a > b", "a - b")
    assert test.p_value == pytest.approx(1 / 1024)
    assert test.effect_size == 1.0
    assert test.n == 10
    none = wilcoxon_one_sample(np.zeros(5), 0.0, "x > 0", "x")
    assert none.p_value == 1.0


def test_holm_by_hand() -> None:
    tests = [wilcoxon_one_sample(np.ones(3), 0.0, s, s, "greater") for s in ("a", "b", "c")]
    for test, p in zip(tests, (0.01, 0.04, 0.03), strict=True):
        test.p_value = p
    holm(tests)
    # sorted 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 -> max(0.06, 0.04)
    assert [x.p_holm for x in tests] == pytest.approx([0.03, 0.06, 0.06])
    assert [x.supported for x in tests] == [True, False, False]


@pytest.mark.parametrize(
    ("level", "n_rated", "size"), [(1, 20, 1), (5, 20, 1), (10, 20, 2), (50, 20, 10), (50, 2, 1)]
)
def test_rationale_size(level: float, n_rated: int, size: int) -> None:
    assert rationale_size(level, n_rated) == size
