"""The HTTP service's metrics, served at `GET /metrics` (starters/routes/metrics.py) in
Prometheus' text format: requests by route and status, signature failures by source,
duplicates answered at the edge, deliveries kept for staff, Temporal unavailability, the
records database's state (docs/operations.md "Metrics").

The counters are the process's (prometheus_client's default registry, with its process
metrics): one service per process. Labels are route templates and source names, never a
path as requested (an unsubscribe token, a deal id) or anything from a body."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import Counter, Gauge

from contracts import metrics

REQUESTS = Counter(metrics.HTTP_REQUESTS.name, metrics.HTTP_REQUESTS.description, ["method", "route", "status"])
SIGNATURE_FAILURES = Counter(metrics.SIGNATURE_FAILURES.name, metrics.SIGNATURE_FAILURES.description, ["source"])
EDGE_DUPLICATES = Counter(metrics.EDGE_DUPLICATES.name, metrics.EDGE_DUPLICATES.description, ["source"])
KEPT_FOR_STAFF = Counter(metrics.KEPT_FOR_STAFF.name, metrics.KEPT_FOR_STAFF.description, ["source"])
TEMPORAL_UNAVAILABLE = Counter(metrics.TEMPORAL_UNAVAILABLE.name, metrics.TEMPORAL_UNAVAILABLE.description, ["route"])
RECORDS_UP = Gauge(metrics.RECORDS_UP.name, metrics.RECORDS_UP.description)

# a request no route matched (a scan, a typo): one label value, not one per path tried
UNMATCHED = "unmatched"
# the problems (starters/problems.py) that mean "the sender's proof did not hold"
SIGNATURE_PROBLEMS = frozenset({"invalid-signature", "unknown-organization"})

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def route_of(scope: Scope) -> str:
    """The matched route's template (`/unsubscribe/{token}`), the mount's prefix (`/codec`),
    or `unmatched`."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    root = scope.get("root_path") or ""
    return root if root else UNMATCHED


def source_of(route: str) -> str:
    """The sender a webhook route serves: `/webhooks/hubspot` -> hubspot, `/events/segment` ->
    segment, `/events` -> events."""
    return route.rstrip("/").rsplit("/", 1)[-1] or UNMATCHED


class RequestMetrics:
    """ASGI middleware: every HTTP request counted once, with the status it was answered with
    (500 when the app raised before answering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            REQUESTS.labels(scope["method"], route_of(scope), str(status)).inc()
