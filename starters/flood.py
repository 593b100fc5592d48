"""Floods stop at the edge: what keeps a product that resends or floods events from growing a
journey's history without bound (docs/http.md "Floods stop at the edge").

- **The same event again** (same `event_id`, same Segment `messageId`) is answered from the
  records (records/intake_events.py) with the first delivery's answer, and not signalled.
- **Too many events for one journey**: a token bucket per journey (per deal, or per account
  for events by account), `JOURNEY_EVENT_RATE` per second with bursts of
  `JOURNEY_EVENT_BURST`; beyond, 429 with Retry-After (every sender retries a 429). A
  Segment batch, already accepted, is paced instead: its intake waits for each journey's
  next token (starters/fanout.py).
- **Temporal's own per-run signal limit** ("exceeded workflow execution limit for signal
  events", INVALID_ARGUMENT, which the SDK would make a final error): 429 with Retry-After,
  since the journey takes events again once it has continued as new."""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from temporalio.service import RPCError, RPCStatusCode

from starters.problems import Problem

# Buckets kept; the least recently used go first (a journey idle that long has a full bucket).
MAX_JOURNEYS = 100_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class JourneyRateLimiter:
    """A token bucket per journey key, in this process. `take(key)` is None when the event
    may go on, else the seconds until it may."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @classmethod
    def from_env(cls) -> JourneyRateLimiter:
        """JOURNEY_EVENT_RATE and JOURNEY_EVENT_BURST as the HTTP service reads them (the
        worker's intake paces batches with them)."""
        return cls(float(os.environ.get("JOURNEY_EVENT_RATE") or 2.0), int(os.environ.get("JOURNEY_EVENT_BURST") or 30))

    async def wait(self, key: str) -> None:
        """Until this journey may take its next event (the intake's pace for a batch)."""
        while (delay := self.take(key)) is not None:
            await asyncio.sleep(delay)

    def take(self, key: str) -> float | None:
        now = self._clock()
        bucket = self._buckets.pop(key, None) or _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        self._buckets[key] = bucket
        if len(self._buckets) > MAX_JOURNEYS:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / self.rate


def journey_key(deal_id: str | None, account_id: str | None) -> str:
    return f"deal:{deal_id}" if deal_id is not None else f"account:{account_id}"


def too_many(key: str, wait: float, rate: float) -> Problem:
    """`key`: the event's, for the caller's logs (not echoed: it holds the deal id)."""
    return Problem(
        429,
        "journey-rate-limited",
        "Too many events for this journey",
        f"this journey takes at most {rate:g} events per second (JOURNEY_EVENT_RATE) beyond a short burst; "
        "the event was not applied, deliver it again after Retry-After seconds",
        headers={"Retry-After": str(max(1, math.ceil(wait)))},
    )


def is_signal_limit(err: BaseException) -> bool:
    """Temporal's per-run signal limit (history.maximumSignalsPerExecution)."""
    return (
        isinstance(err, RPCError)
        and err.status == RPCStatusCode.INVALID_ARGUMENT
        and "limit for signal" in (err.message or "").lower()
    )


def signal_limit(retry_after: int) -> Problem:
    return Problem(
        429,
        "journey-signal-limit",
        "The journey takes no more events in this run",
        "Temporal refused the signal: the journey's run reached its limit of signals; the event was not "
        "applied, deliver it again after Retry-After seconds, once the journey has continued as new",
        headers={"Retry-After": str(retry_after)},
    )


def in_flight(retry_after: int) -> Problem:
    return Problem(
        503,
        "event-in-flight",
        "This event is being delivered",
        "an earlier delivery of the same event id is still on its way; deliver again after Retry-After seconds "
        "to get its answer",
        headers={"Retry-After": str(retry_after)},
    )
