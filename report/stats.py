"""Small statistics for the report written out: quantiles, Wilson intervals for a rate and
Newcombe's for the difference of two, and the tests that say whether two variants differ
yet. Survival curves and the exact and log-rank tests come from SciPy (report/survival.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

from scipy.stats import fisher_exact

Z95 = NormalDist().inv_cdf(0.975)


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
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
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


def fisher_p(a_successes: int, a_n: int, b_successes: int, b_n: int) -> float | None:
    """Two-sided p-value of Fisher's exact test (SciPy) on two rates: exact at any n."""
    if a_n == 0 or b_n == 0:
        return None
    table = [[a_successes, a_n - a_successes], [b_successes, b_n - b_successes]]
    return float(fisher_exact(table).pvalue)


POWER = 0.8


def journeys_per_arm(p_a: float, p_b: float, *, alpha: float = 0.05, power: float = POWER) -> int | None:
    """Journeys each arm needs for a two-sided test at `alpha` to show the difference between
    rates `p_a` and `p_b` with probability `power` (Fleiss, Statistical Methods for Rates and
    Proportions, normal approximation without continuity correction); None if they are equal."""
    if p_a == p_b:
        return None
    z_alpha, z_beta = NormalDist().inv_cdf(1 - alpha / 2), NormalDist().inv_cdf(power)
    mean = (p_a + p_b) / 2
    root = z_alpha * math.sqrt(2 * mean * (1 - mean)) + z_beta * math.sqrt(p_a * (1 - p_a) + p_b * (1 - p_b))
    # Near 0% or 100% the normal approximation asks for fewer journeys than the exact test
    # could ever call significant: never less than that.
    return max(math.ceil(root * root / (p_a - p_b) ** 2), _exact_minimum(p_a, p_b, alpha))


def _exact_minimum(p_a: float, p_b: float, alpha: float) -> int:
    """The fewest journeys per arm at which these very rates would pass Fisher's exact test."""

    def passes(n: int) -> bool:
        p = fisher_p(round(p_a * n), n, round(p_b * n), n)
        return p is not None and p < alpha

    high = 2
    while not passes(high) and high < 1 << 20:
        high *= 2
    low = high // 2
    while low + 1 < high:  # the first n that passes, between the last doubling's ends
        middle = (low + high) // 2
        low, high = (low, middle) if passes(middle) else (middle, high)
    return high
