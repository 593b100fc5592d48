"""How a failed request is answered: always application/problem+json (RFC 9457), and a 503 with
Retry-After when Temporal or the records cannot take the request (nothing was started or
signalled)."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

from starters import metrics
from starters.deps import get_service
from starters.logs import redact_path
from starters.problems import Problem, validation_problem
from starters.temporal import TemporalUnavailable

# The service's own log lines keep the logger name they have always had.
log = structlog.get_logger("starters.app")


def logged_path(request: Request) -> str:
    """The request's path for a log line: an unsubscribe link's token is cut from it."""
    path = request.url.path
    return redact_path(path) if "/unsubscribe/" in path else path


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        # Problem details carry field names and reasons, never submitted values.
        log.info("request_refused", path=logged_path(request), status=exc.status, problem=exc.slug, reason=exc.detail)
        if exc.slug in metrics.SIGNATURE_PROBLEMS:
            metrics.SIGNATURE_FAILURES.labels(metrics.source_of(metrics.route_of(request.scope))).inc()
        return exc.response()

    @app.exception_handler(TemporalUnavailable)
    async def _unavailable(request: Request, exc: TemporalUnavailable) -> JSONResponse:
        settings = get_service(request).settings
        log.warning("temporal_unavailable", path=logged_path(request), reason=str(exc))
        metrics.TEMPORAL_UNAVAILABLE.labels(metrics.route_of(request.scope)).inc()
        return Problem(
            503,
            "temporal-unavailable",
            "Temporal is unavailable",
            f"{exc}; nothing was started or signalled, deliver again after Retry-After seconds",
            headers={"Retry-After": str(settings.retry_after_seconds)},
        ).response()

    @app.exception_handler(SQLAlchemyError)
    async def _records_unavailable(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        # the records keep what was refused and which events were delivered: without them
        # nothing is taken, and the sender delivers again
        settings = get_service(request).settings
        log.error("records_unavailable", path=logged_path(request), error=type(exc).__name__)
        return Problem(
            503,
            "records-unavailable",
            "The records database is unavailable",
            "nothing was started or signalled; deliver again after Retry-After seconds",
            headers={"Retry-After": str(settings.retry_after_seconds)},
        ).response()

    @app.exception_handler(RPCError)
    async def _rpc_error(request: Request, exc: RPCError) -> JSONResponse:
        # A non-transient refusal (e.g. a search attribute not registered) is an operator
        # problem, not the sender's: 503 keeps the delivery coming until it is fixed.
        settings = get_service(request).settings
        log.error(
            "temporal_refused",
            path=logged_path(request),
            status=exc.status.name if exc.status else None,
            message=exc.message,
        )
        return Problem(
            503,
            "temporal-refused",
            "Temporal refused the request",
            f"Temporal answered {exc.status.name if exc.status else 'an error'}; deliver again later",
            headers={"Retry-After": str(settings.retry_after_seconds)},
        ).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return Problem(
            exc.status_code, "http-error", str(exc.detail), str(exc.detail), headers=dict(exc.headers or {})
        ).response()

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(list(exc.errors())).response()

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected_error", path=logged_path(request), error=type(exc).__name__)
        return Problem(500, "internal", "Internal error", "an unexpected error occurred").response()
