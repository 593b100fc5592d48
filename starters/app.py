"""The HTTP service: CRM webhooks start journeys, product events signal them.

Run it with `uvicorn starters.app:app --port 8000`; configuration comes from the
environment (starters.settings). OpenAPI at /docs.

One router per source (starters/routes/; the CRMs' are listed in contracts/crms.py), the
dependencies they share in starters/deps.py, the problem+json answers in starters/handlers.py.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI

from contracts import crms
from records.database import Database
from starters import openapi
from starters.deps import Service
from starters.handlers import install_error_handlers
from starters.logs import configure_logging, redact_access_log
from starters.metrics import RequestMetrics
from starters.routes import deals, events, health, metrics, segment, support, unsubscribe
from starters.settings import StarterSettings
from starters.signatures import Clock
from telemetry.tracing import Tracing

log = structlog.get_logger("starters.app")


def routers() -> list[APIRouter]:
    """Every source's router; the CRMs' are those of the registry."""
    return [
        health.router,
        metrics.router,
        deals.router,
        *(crms.resolve(crm.routes).router for crm in crms.CRMS),
        events.router,
        segment.router,
        unsubscribe.router,
        support.router,
    ]


def create_app(
    settings: StarterSettings | None = None, *, clock: Clock = time.time, tracing: Tracing | None = None
) -> FastAPI:
    """Build the app. Without `settings`, they are read from the environment at startup.
    `clock`: see Service. `tracing`: as the OTEL_* variables say unless given (telemetry/tracing.py)."""
    tracing = tracing or Tracing.from_env("onboarding-webhook")
    interceptors = tracing.interceptors()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging()
        redact_access_log()
        if getattr(app.state, "service", None) is None:
            app.state.service = Service(StarterSettings(), clock, interceptors)
        warn_unconfigured(app.state.service)
        # The records' schema is brought up to date before the first request, as the worker does.
        settings = app.state.service.settings
        records = Database.from_settings(settings.onboarding_database_url, settings.onboarding_data_dir)
        await records.ready()
        app.state.records = records
        try:
            yield
        finally:
            await records.dispose()

    app = FastAPI(
        title="Onboarding starters",
        version="1.0",
        description="CRM webhooks start onboarding journeys; product events move them. "
        "Errors are RFC 9457 application/problem+json.",
        lifespan=lifespan,
    )
    if settings is not None:
        app.state.service = Service(settings, clock, interceptors)
    install_error_handlers(app)
    for router in routers():
        app.include_router(router)
    # The codec server for the Web UI (privacy.codec_server), built with the settings.
    app.mount("/codec", _CodecServer(app))
    # FastAPI's documented way to replace the schema; its stubs declare openapi a method
    app.openapi = lambda: openapi.document(app)  # type: ignore[method-assign]
    # outermost: every request counted with the status it was answered with
    app.add_middleware(RequestMetrics)
    tracing.instrument(app)
    return app


def warn_unconfigured(service: Service) -> None:
    """One warning per endpoint that will refuse everything for want of its settings."""
    settings = service.settings
    if not settings.onboarding_webhook_secret:
        log.warning("no_webhook_secret", detail="ONBOARDING_WEBHOOK_SECRET is empty: signed endpoints answer 401")
    for crm in crms.CRMS:
        missing = crms.resolve(crm.routes).unconfigured(service)
        if missing is not None:
            event, detail = missing
            log.warning(event, detail=detail)
    if not settings.segment_shared_secret:
        log.warning("no_segment_secret", detail="SEGMENT_SHARED_SECRET is empty: /events/segment answers 401")
    elif not settings.segment_mapping.rules:
        log.warning("no_segment_rules", detail="SEGMENT_MAPPING has no rules: every Segment call is ignored")
    if service.unsubscribe is None:
        log.warning(
            "no_unsubscribe_secret", detail="ONBOARDING_UNSUBSCRIBE_SECRET is empty: unsubscribe links answer 404"
        )
    if not settings.onboarding_codec_token:
        log.warning("no_codec_token", detail="ONBOARDING_CODEC_TOKEN is empty: /codec answers 401")


class _CodecServer:
    """ASGI hand-off to the service's codec app, which exists once the settings are read."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app.state.service.codec_app(scope, receive, send)


# `uvicorn starters.app:app`: settings come from the environment when the server starts.
app = create_app()
