"""Confidence intervals of mean per-user metrics and paired tests between two models.

The unit of analysis is the user: a model's metric is the mean of its per-user values, its
95% interval comes from Student's t (or a seeded percentile bootstrap), and two models are
compared on the users both were evaluated on, with the Wilcoxon signed-rank test (default) or
the paired t-test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from attnrec.errors import ConfigError, DataError

CI_METHODS: tuple[str, ...] = ("t", "bootstrap")
TESTS: tuple[str, ...] = ("wilcoxon", "t")


@dataclass(frozen=True)
class Interval:
    """A mean with its confidence interval."""

    mean: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class PairedTest:
    """Model a minus model b over the users both were evaluated on."""

    metric: str
    model_a: str
    model_b: str
    mean_difference: float
    difference_low: float
    difference_high: float
    statistic: float
    p_value: float
    test: str
    n: int


def confidence_interval(
    values: np.ndarray,
    level: float = 0.95,
    method: str = "t",
    n_resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """Mean of ``values`` with a two-sided interval at ``level``.

    Args:
        values: per-user values (NaN are dropped).
        level: confidence level in (0, 1).
        method: "t" (Student) or "bootstrap" (seeded percentile bootstrap of the mean).
        n_resamples: bootstrap resamples.
        seed: bootstrap seed.
    """
    if not 0.0 < level < 1.0:
        raise ConfigError(f"confidence level {level!r} must lie strictly between 0 and 1")
    data = np.asarray(values, dtype=np.float64)
    data = data[~np.isnan(data)]
    if len(data) == 0:
        raise DataError("no values to average: the interval needs at least one user")
    mean = float(data.mean())
    if len(data) == 1:  # one user: no spread to estimate, so no interval (NaN bounds)
        return Interval(mean, float("nan"), float("nan"), 1)
    if np.all(data == data[0]):
        return Interval(mean, mean, mean, len(data))

    # Student's t on the standard error, or percentiles of resampled means
    if method == "t":
        half = float(sps.t.ppf(0.5 + level / 2, len(data) - 1) * sps.sem(data))
        return Interval(mean, mean - half, mean + half, len(data))
    if method == "bootstrap":
        rng = np.random.default_rng(seed)
        means = data[rng.integers(0, len(data), (n_resamples, len(data)))].mean(axis=1)
        tail = (1 - level) / 2 * 100
        low, high = np.percentile(means, [tail, 100 - tail])
        return Interval(mean, float(low), float(high), len(data))
    raise ConfigError(f"interval method {method!r} is unknown; use one of {', '.join(CI_METHODS)}")


def paired_test(
    a: pd.Series,
    b: pd.Series,
    metric: str = "",
    names: tuple[str, str] = ("a", "b"),
    test: str = "wilcoxon",
    level: float = 0.95,
) -> PairedTest:
    """Compare two models' per-user values of one metric, paired on the user index.

    Args:
        a, b: per-user values indexed by user; only users present (and not NaN) in both count.
        metric: the metric's name, for the report.
        names: the two models' names.
        test: "wilcoxon" (signed-rank, two-sided, zero differences dropped) or "t" (paired t).
        level: level of the interval of the mean difference (Student's t).
    """
    if test not in TESTS:
        raise ConfigError(f"paired test {test!r} is unknown; use one of {', '.join(TESTS)}")
    joined = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
    if len(joined) < 2:
        raise DataError(
            f"{names[0]} vs {names[1]}: {len(joined)} shared users; a paired test needs two or more"
        )
    diff = (joined["a"] - joined["b"]).to_numpy()
    interval = confidence_interval(diff, level)

    # identical values everywhere: no evidence of a difference
    if np.all(diff == 0):
        statistic, p_value = 0.0, 1.0
    elif test == "wilcoxon":
        result = sps.wilcoxon(joined["a"], joined["b"], zero_method="wilcox")
        statistic, p_value = float(result.statistic), float(result.pvalue)
    else:
        result = sps.ttest_rel(joined["a"], joined["b"])
        statistic, p_value = float(result.statistic), float(result.pvalue)
    return PairedTest(
        metric,
        names[0],
        names[1],
        interval.mean,
        interval.low,
        interval.high,
        statistic,
        p_value,
        test,
        len(joined),
    )
