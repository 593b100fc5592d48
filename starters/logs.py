"""Structured JSON logs for the HTTP service.

Only identifiers are logged (deal, workflow, webhook and event ids, statuses, reasons):
never bodies, secrets, signatures, emails or names.
"""

from __future__ import annotations

import logging

import structlog


def configure_logging(level: int = logging.INFO) -> None:
    if structlog.is_configured():
        return
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Not cached, so structlog.testing.capture_logs() sees every logger (log hygiene tests).
        cache_logger_on_first_use=False,
    )


class _RedactCapabilities(logging.Filter):
    """uvicorn's access log prints each request's path; an unsubscribe link's token is a
    capability (whoever has it can unsubscribe that contact), so it is cut from the line, and
    so is the company name a staff member looked up (/support/find?name=...)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = args[2]
            if "/unsubscribe/" in path or "/support/find?" in path:
                record.args = (*args[:2], redact_path(path), *args[3:])
        return True


def redact_path(path: str) -> str:
    if "/unsubscribe/" in path:
        head, _, _ = path.partition("/unsubscribe/")
        return f"{head}/unsubscribe/<token>"
    if "/support/find?" in path:
        return path.partition("?")[0] + "?<name>"
    return path


def redact_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _RedactCapabilities) for f in access.filters):
        access.addFilter(_RedactCapabilities())
