"""Intervals and paired tests on values whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from attnrec.errors import ConfigError, DataError
from attnrec.evaluation.stats import confidence_interval, paired_test


def test_t_interval_by_hand():
    # mean 2, sample sd 1, n 3: half-width t(0.975, 2) x 1 / sqrt(3)
    interval = confidence_interval(np.array([1.0, 2.0, 3.0]))
    half = sps.t.ppf(0.975, 2) / np.sqrt(3)
    assert (interval.mean, interval.low, interval.high) == pytest.approx((2, 2 - half, 2 + half))


def test_bootstrap_interval_is_seeded_and_covers_the_mean():
    values = np.random.default_rng(0).random(200)
    a = confidence_interval(values, method="bootstrap", seed=4)
    assert a == confidence_interval(values, method="bootstrap", seed=4)
    assert a.low < a.mean < a.high


def test_constant_values_and_nan():
    interval = confidence_interval(np.array([0.5, 0.5, np.nan]))
    assert (interval.mean, interval.low, interval.high, interval.n) == (0.5, 0.5, 0.5, 2)
    with pytest.raises(DataError):
        confidence_interval(np.array([np.nan]))
    one = confidence_interval(np.array([0.7, np.nan]))  # one user: a mean, no interval
    assert one.mean == 0.7 and one.n == 1 and np.isnan(one.low) and np.isnan(one.high)
    with pytest.raises(ConfigError):
        confidence_interval(np.array([1.0, 2.0]), method="magic")


def test_paired_tests_pair_on_users():
    a = pd.Series([0.5, 0.6, 0.7, 0.8, 0.9, 1.0], index=list("abcdef"))
    b = pd.Series([0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.0], index=list("abcdefg"))
    result = paired_test(a, b, "ndcg@10", ("x", "y"))
    assert result.n == 6
    assert result.mean_difference == pytest.approx(0.1)
    assert result.p_value == pytest.approx(sps.wilcoxon(a.to_numpy(), b.iloc[:6].to_numpy()).pvalue)
    same = paired_test(a, a, test="t")
    assert same.p_value == 1.0 and same.mean_difference == 0.0
