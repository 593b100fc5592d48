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
