"""Small statistics for the report written out: quantiles, Wilson intervals for a rate and
Newcombe's for the difference of two, and the tests that say whether two variants differ
yet. Survival curves and the exact and log-rank tests come from SciPy (report/survival.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

_Z95 = NormalDist().inv_cdf(0.975)


def quantile(sorted_values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default, PostgreSQL's
    percentile_cont), so the report and a SQL query agree on the same data."""
    n = len(sorted_values)
    if n == 0:
        return None
    position = (n - 1) * q
    low = math.floor(position)
    high = min(low + 1, n - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def wilson(successes: int, n: int) -> tuple[float, float] | None:
    """95% Wilson score interval for a rate: honest at small n and near 0 or 1."""
    if n == 0:
        return None
    p = successes / n
    z2 = _Z95 * _Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(a_successes: int, a_n: int, b_successes: int, b_n: int) -> tuple[float, float] | None:
    """95% interval for the difference of two rates (a - b): Newcombe's hybrid score method
    (Newcombe 1998, method 10), built from each rate's Wilson interval; keeps to [-1, 1] and
    stays honest at small n, where the textbook Wald interval does not."""
    wilson_a, wilson_b = wilson(a_successes, a_n), wilson(b_successes, b_n)
    if wilson_a is None or wilson_b is None:
        return None
    p_a, p_b = a_successes / a_n, b_successes / b_n
    (low_a, high_a), (low_b, high_b) = wilson_a, wilson_b
    d = p_a - p_b
    return (
        d - math.sqrt((p_a - low_a) ** 2 + (high_b - p_b) ** 2),
        d + math.sqrt((high_a - p_a) ** 2 + (p_b - low_b) ** 2),
    )


def median_interval(sorted_values: Sequence[float]) -> tuple[float, float] | None:
    """Distribution-free 95% interval for a median: the order statistics whose ranks the
    binomial(n, 1/2) bounds (normal approximation); needs no resampling, so it is exact to
    reproduce."""
    n = len(sorted_values)
    if n == 0:
        return None
    half = _Z95 * math.sqrt(n) / 2
    low = max(0, math.floor(n / 2 - half))
    high = min(n - 1, math.ceil(n / 2 + half) - 1)
    return sorted_values[low], sorted_values[high]


def two_proportions_p(a_successes: int, a_n: int, b_successes: int, b_n: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test."""
    if a_n == 0 or b_n == 0:
        return None
    pooled = (a_successes + b_successes) / (a_n + b_n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / a_n + 1 / b_n))
    if se == 0:
        return 1.0
    z = (a_successes / a_n - b_successes / b_n) / se
    return 2 * (1 - NormalDist().cdf(abs(z)))


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation with tie
    correction): do the two distributions of times differ?"""
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return None
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks_a = 0.0
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        rank = (i + j) / 2 + 1
        count = j - i + 1
        ties += count**3 - count
        ranks_a += rank * sum(1 for k in range(i, j + 1) if pooled[k][1] == 0)
        i = j + 1
    u = ranks_a - n1 * (n1 + 1) / 2
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0
    if variance <= 0:
        return 1.0
    z = (u - n1 * n2 / 2) / math.sqrt(variance)
    return 2 * (1 - NormalDist().cdf(abs(z)))
