"""Wilcoxon signed-rank tests with an effect size, for every statement of the report.

Each statement is a one-sided hypothesis about per-user values: paired (learned against
permuted, attention against random) or against a fixed value (tau > 0). The effect size is the
matched-pairs rank-biserial correlation r = (R+ - R-) / (R+ + R-) over the non-zero
differences (Kerby, 2014): +1 when every difference favours the hypothesis's direction, -1 when
every one goes against "greater". p-values are also given Holm-adjusted over a report's
statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy.stats import rankdata, wilcoxon

Alternative = Literal["greater", "less", "two-sided"]

#: significance level of the "supported" column
ALPHA = 0.05


@dataclass
class StatTest:
    """One statement and the test behind it.

    Attributes:
        statement: the hypothesis in words, e.g. "permuting alpha_rec moves y^ more than ...".
        comparison: what was compared, e.g. "tvd(permuted) - 0".
        n: users with a finite difference (zero differences are then dropped by the test, as
            in Wilcoxon's original method).
        median_difference: median of the paired differences (or of x - mu).
        statistic: the Wilcoxon statistic (sum of positive ranks).
        p_value: one- or two-sided p-value as stated by ``alternative``.
        p_holm: p-value Holm-adjusted over the statements of the report (set by ``holm``).
        effect_size: matched-pairs rank-biserial correlation, in [-1, 1].
        alternative: "greater", "less" or "two-sided" (of difference vs 0).
        supported: p_holm < ALPHA.
    """

    statement: str
    comparison: str
    n: int
    median_difference: float
    statistic: float
    p_value: float
    effect_size: float
    alternative: str
    p_holm: float = float("nan")
    supported: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rank_biserial(differences: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation of differences (zeros dropped); NaN if none."""
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d) & (d != 0)]
    if len(d) == 0:
        return float("nan")
    ranks = rankdata(np.abs(d))
    positive, negative = ranks[d > 0].sum(), ranks[d < 0].sum()
    return float((positive - negative) / (positive + negative))


def wilcoxon_paired(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    statement: str,
    comparison: str,
    alternative: Alternative = "greater",
) -> StatTest:
    """Wilcoxon signed-rank test of a - b over the pairs where both are finite."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    return _test(a[keep] - b[keep], statement, comparison, alternative)


def wilcoxon_one_sample(
    x: Sequence[float] | np.ndarray,
    mu: float,
    statement: str,
    comparison: str,
    alternative: Alternative = "greater",
) -> StatTest:
    """Wilcoxon signed-rank test of x - mu over the finite values."""
    x = np.asarray(x, dtype=float)
    return _test(x[np.isfinite(x)] - mu, statement, comparison, alternative)


def _test(d: np.ndarray, statement: str, comparison: str, alternative: Alternative) -> StatTest:
    """The test on finite differences; without any non-zero difference p is 1."""
    nonzero = d[d != 0]
    median = float(np.median(d)) if len(d) else float("nan")
    if len(nonzero) == 0:
        return StatTest(statement, comparison, len(d), median, 0.0, 1.0, float("nan"), alternative)
    result = wilcoxon(nonzero, alternative=alternative, zero_method="wilcox")
    ranks = rankdata(np.abs(nonzero))
    return StatTest(
        statement=statement,
        comparison=comparison,
        n=len(d),
        median_difference=median,
        statistic=float(ranks[nonzero > 0].sum()),
        p_value=float(result.pvalue),
        effect_size=rank_biserial(nonzero),
        alternative=alternative,
    )


def holm(tests: list[StatTest], alpha: float = ALPHA) -> list[StatTest]:
    """Set ``p_holm`` (Holm-Bonferroni over all tests) and ``supported`` in place."""
    order = np.argsort([t.p_value for t in tests], kind="stable")
    running = 0.0
    m = len(tests)
    for position, index in enumerate(order):
        adjusted = min(1.0, (m - position) * tests[index].p_value)
        running = max(running, adjusted)
        tests[index].p_holm = running
        tests[index].supported = running < alpha
    return tests
