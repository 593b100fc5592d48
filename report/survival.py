"""Time to an event with customers still in flight: Kaplan-Meier curves from SciPy's
censored-data ECDF (`scipy.stats.ecdf` on `CensoredData`). A journey that has not reached the
moment is censored at its age: while it runs it counts for as long as it has run, neither
dropped nor a failure; one that ended without it (cancelled) stays among those not there
for its whole age, since it never will get there (the curve is then the cumulative
incidence, the cancel a competing outcome).

The curve is read as the share of journeys that got there by each hour (1 - S(t)), with
SciPy's pointwise 95% band (log-log, Greenwood's variance: never outside 0..1). From it:
the median (the first hour the share reaches a half), its interval (where the band crosses a
half, Brookmeyer-Crowley), and the share reached within a target with its interval."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import CensoredData, ecdf, logrank

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Curve:
    """A Kaplan-Meier curve as the share reached: at each time an event or a censoring
    happened (ascending), the share reached by then and its 95% band (None where the band is
    not defined: the share is 0 or 1)."""

    times: tuple[float, ...]
    reached: tuple[float, ...]
    low: tuple[float | None, ...]
    high: tuple[float | None, ...]

    def known_at(self, t: float) -> bool:
        """Whether the curve says anything at `t`: a journey was followed that long, or all
        of them got there before."""
        return not self.times or t <= self.times[-1] or self.reached[-1] >= 1.0

    def at(self, t: float) -> tuple[float, tuple[float, float] | None]:
        """The share reached by `t`, with its 95% interval (past the longest journey
        followed, the last share: ask `known_at` first)."""
        i = int(np.searchsorted(self.times, t, side="right")) - 1
        if i < 0:
            return 0.0, None
        low, high = self.low[i], self.high[i]
        return self.reached[i], None if low is None or high is None else (low, high)

    def median(self) -> float | None:
        """The first time half the journeys got there (None: not yet)."""
        return _first_at_least(self.times, self.reached, 0.5)

    def median_interval(self) -> tuple[float | None, float | None]:
        """Where the band crosses a half: the earliest time the band's upper side reaches it,
        the earliest its lower side does (None: not yet; the median could be later still)."""
        # where the band is not defined the share is 0 or 1: the band is the share itself
        high = [s if h is None else h for s, h in zip(self.reached, self.high, strict=True)]
        low = [s if lo is None else lo for s, lo in zip(self.reached, self.low, strict=True)]
        return _first_at_least(self.times, high, 0.5), _first_at_least(self.times, low, 0.5)


def kaplan_meier(reached: Sequence[float], not_yet: Sequence[float]) -> Curve | None:
    """The curve from the times of those that got there and the ages (or end times) of those
    that did not yet; None without any journey. Every time unit goes; the report uses hours."""
    if not reached and not not_yet:
        return None
    if not reached:  # nobody got there yet: the share is 0 throughout, no band
        times = tuple(sorted(set(not_yet)))
        return Curve(times, (0.0,) * len(times), (None,) * len(times), (None,) * len(times))
    result = ecdf(CensoredData(uncensored=np.asarray(reached, float), right=np.asarray(not_yet, float)))
    survival = result.sf
    with warnings.catch_warnings():
        # at S = 1 or 0 the log-log band is undefined (nan): said by None below
        warnings.simplefilter("ignore", RuntimeWarning)
        band = survival.confidence_interval(CONFIDENCE, method="log-log")
    times = tuple(float(t) for t in survival.quantiles)
    share = tuple(1.0 - float(s) for s in survival.probabilities)
    # the share's band is the survival band turned over: 1 - upper, 1 - lower
    low = tuple(_defined(1.0 - float(s)) for s in band.high.probabilities)
    high = tuple(_defined(1.0 - float(s)) for s in band.low.probabilities)
    return Curve(times, share, low, high)


def _defined(value: float) -> float | None:
    return None if math.isnan(value) else value


def _first_at_least(times: Sequence[float], values: Sequence[float | None], level: float) -> float | None:
    for t, v in zip(times, values, strict=True):
        if v is not None and v >= level - 1e-12:
            return t
    return None


def log_rank_p(a_reached: Sequence[float], a_not_yet: Sequence[float], b_reached: Sequence[float],
               b_not_yet: Sequence[float]) -> float | None:  # fmt: skip
    """Two-sided p-value of the log-rank test (SciPy): do the two curves differ? Those not
    there yet count as in the time-to-event data, so an arm where fewer act is not faster."""
    if not (a_reached or a_not_yet) or not (b_reached or b_not_yet) or not (a_reached or b_reached):
        return None
    result = logrank(
        CensoredData(uncensored=np.asarray(a_reached, float), right=np.asarray(a_not_yet, float)),
        CensoredData(uncensored=np.asarray(b_reached, float), right=np.asarray(b_not_yet, float)),
    )
    return float(result.pvalue)


def restricted_mean(reached: Sequence[float], not_yet: Sequence[float], within: float) -> tuple[float, float]:
    """The restricted mean time to the event within `within` (the area under the survival
    curve from 0 to it: the average hours a journey waits for it, counting at most `within`)
    and its variance (Klein & Moeschberger 2003, section 4.5: the sum over event times t_i <=
    `within` of A_i^2 d_i / (n_i (n_i - d_i)), A_i the area from t_i to `within`)."""
    events = np.asarray(reached, float)
    followed = np.concatenate([events, np.asarray(not_yet, float)])
    steps: list[tuple[float, float, int, int]] = []  # (event time, S just after it, at risk, events)
    s = 1.0
    for t in np.unique(events[events <= within]):
        at_risk, d = int(np.sum(followed >= t)), int(np.sum(events == t))
        s *= 1 - d / at_risk
        steps.append((float(t), s, at_risk, d))
    # area under the step curve from each event time to `within`
    edges = [t for t, _, _, _ in steps] + [within]
    pieces = [after * (edges[i + 1] - edges[i]) for i, (_, after, _, _) in enumerate(steps)]
    area_after = [sum(pieces[i:]) for i in range(len(steps))]
    mean = (edges[0] if steps else within) + sum(pieces)
    variance = sum(a * a * d / (n * (n - d)) for a, (_, _, n, d) in zip(area_after, steps, strict=True) if n > d)
    return mean, variance
