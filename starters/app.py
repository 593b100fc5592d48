"""The HTTP service: CRM webhooks start journeys, product events signal them.

Run it with `uvicorn starters.app:app --port 8000`; configuration comes from the
environment (starters.settings). OpenAPI at /docs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

from contracts.deal import DealClosed
from privacy.codec_server import create_codec_app
from privacy.converter import data_converter_for
from privacy.suppressions import FileSuppressionList
from privacy.unsubscribe import UnsubscribeSigner, parse_secrets
from records.database import Database
from starters import journeys, unsubscribe, vendors
from starters.delivery import deliver
from starters.intake import parse_json, read_body, require_json, validate, validate_adapter
from starters.logs import configure_logging, redact_access_log
from starters.models import (
    DealAccepted,
    EventAccepted,
    Health,
    HubSpotAccepted,
    HubSpotBatch,
    HubSpotEvent,
    ProductEvent,
)
from starters.problems import Problem, problem_responses, validation_problem
from starters.settings import StarterSettings
from starters.signatures import SignatureError, StandardWebhookVerifier, verify_hubspot_v3
from starters.temporal import TemporalGateway, TemporalUnavailable

log = structlog.get_logger("starters.app")


class Service:
    """Everything a request needs, built once from the settings."""

    def __init__(self, settings: StarterSettings) -> None:
        self.settings = settings
        # Encrypted payloads (privacy.keys); no key configured stops the service here.
        self.converter = data_converter_for(settings.codec_keys())
        self.temporal = TemporalGateway(settings, self.converter)
        self.codec_app = create_codec_app(
            self.converter.payload_codec,  # type: ignore[arg-type]
            [t.get_secret_value() for t in settings.onboarding_codec_token],
            settings.onboarding_codec_ui_origins,
            settings.temporal_namespace,
        )
        self.suppressions = FileSuppressionList.in_data_dir(settings.onboarding_data_dir)
        unsubscribe_secrets = parse_secrets([s.get_secret_value() for s in settings.onboarding_unsubscribe_secret])
        self.unsubscribe = UnsubscribeSigner(unsubscribe_secrets) if unsubscribe_secrets else None
        self.verifier = StandardWebhookVerifier([s.get_secret_value() for s in settings.onboarding_webhook_secret])
        self.hubspot_secret = (
            settings.hubspot_client_secret.get_secret_value() if settings.hubspot_client_secret else None
        )
        self.closed_won = set(settings.hubspot_closed_won_stages)
        self.target = journeys.Target(settings.onboarding_task_queue, self.temporal.rpc_timeout)

    def closes_deal(self, event: HubSpotEvent) -> bool:
        """A deal moved to a closed-won stage: the only HubSpot event that starts a journey."""
        return (
            event.subscriptionType == "deal.propertyChange"
            and event.propertyName == "dealstage"
            and event.propertyValue in self.closed_won
        )


def _service(request: Request) -> Service:
    return request.app.state.service


def _unauthorized(err: SignatureError) -> Problem:
    return Problem(401, "invalid-signature", "Signature verification failed", err.reason)


def create_app(settings: StarterSettings | None = None) -> FastAPI:
    """Build the app. Without `settings`, they are read from the environment at startup."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging()
        redact_access_log()
        if getattr(app.state, "service", None) is None:
            app.state.service = Service(StarterSettings())
        service: Service = app.state.service
        if not service.settings.onboarding_webhook_secret:
            log.warning("no_webhook_secret", detail="ONBOARDING_WEBHOOK_SECRET is empty: signed endpoints answer 401")
        if not service.hubspot_secret:
            log.warning("no_hubspot_secret", detail="HUBSPOT_CLIENT_SECRET is empty: /webhooks/hubspot answers 401")
        if not service.settings.salesforce_org_ids:
            log.warning("no_salesforce_org_ids", detail="SALESFORCE_ORG_IDS is empty: /webhooks/salesforce answers 401")
        if not (service.settings.pipedrive_webhook_user and service.settings.pipedrive_webhook_password):
            log.warning(
                "no_pipedrive_credentials",
                detail="PIPEDRIVE_WEBHOOK_USER/PASSWORD are empty: /webhooks/pipedrive answers 401",
            )
        if not service.settings.segment_shared_secret:
            log.warning("no_segment_secret", detail="SEGMENT_SHARED_SECRET is empty: /events/segment answers 401")
        elif not service.settings.segment_mapping.rules:
            log.warning("no_segment_rules", detail="SEGMENT_MAPPING has no rules: every Segment call is ignored")
        if service.unsubscribe is None:
            log.warning(
                "no_unsubscribe_secret", detail="ONBOARDING_UNSUBSCRIBE_SECRET is empty: unsubscribe links answer 404"
            )
        if not service.settings.onboarding_codec_token:
            log.warning("no_codec_token", detail="ONBOARDING_CODEC_TOKEN is empty: /codec answers 401")
        # The records' schema is brought up to date before the first request, as the worker does.
        records = Database.from_settings(service.settings.onboarding_database_url, service.settings.onboarding_data_dir)
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
        app.state.service = Service(settings)

    _install_error_handlers(app)
    app.include_router(unsubscribe.router)
    app.include_router(vendors.router)
    # The codec server for the Web UI (privacy.codec_server), built with the settings.
    app.mount("/codec", _CodecServer(app))

    @app.get("/healthz", response_model=Health, responses={503: {"description": "Temporal unreachable"}})
    async def healthz(request: Request) -> JSONResponse:
        service = _service(request)
        ok, detail = await service.temporal.healthy()
        if ok:
            return JSONResponse({"status": "ok", "temporal": detail})
        return JSONResponse(
            {"status": "degraded", "temporal": detail},
            status_code=503,
            headers={"Retry-After": str(service.settings.retry_after_seconds)},
        )

    @app.post(
        "/webhooks/deal-closed",
        status_code=202,
        response_model=DealAccepted,
        responses=problem_responses(400, 401, 413, 415, 422, 503),
        openapi_extra=_body_doc("DealClosed"),
        summary="A deal closed (Standard Webhooks signature)",
    )
    async def deal_closed(request: Request) -> JSONResponse:
        service = _service(request)
        require_json(request)
        body = await read_body(request, service.settings.max_body_bytes)
        try:
            webhook_id = service.verifier.verify(body, request.headers)
        except SignatureError as err:
            raise _unauthorized(err) from None
        deal = validate(DealClosed, parse_json(body))
        first_signal = await unsubscribe.suppressed_at_start(service.suppressions, deal)
        async with service.temporal.calls() as client:
            outcome = await journeys.start_with_deal(client, deal, service.target, first_signal)
        log.info(
            "deal_closed_accepted",
            webhook_id=webhook_id,
            deal_id=deal.deal_id,
            workflow_id=outcome.workflow_id,
            created=outcome.created,
            running=outcome.running,
            suppressed=first_signal is not None,
        )
        return JSONResponse({"workflow_id": outcome.workflow_id, "created": outcome.created}, status_code=202)

    @app.post(
        "/webhooks/hubspot",
        status_code=202,
        response_model=HubSpotAccepted,
        responses=problem_responses(400, 401, 413, 415, 422, 503),
        openapi_extra=_body_doc("HubSpotEvents"),
        summary="HubSpot webhook events (signature v3)",
    )
    async def hubspot(request: Request) -> JSONResponse:
        service = _service(request)
        require_json(request)
        body = await read_body(request, service.settings.max_body_bytes)
        try:
            verify_hubspot_v3(
                secret=service.hubspot_secret,
                method=request.method,
                uri=_public_uri(request, service.settings.public_base_url),
                body=body,
                headers=request.headers,
            )
        except SignatureError as err:
            raise _unauthorized(err) from None
        events: list[HubSpotEvent] = validate_adapter(HubSpotBatch, parse_json(body))
        closing = [e for e in events if service.closes_deal(e)]
        deal_ids = list(dict.fromkeys(str(e.objectId) for e in closing))
        ignored = len(events) - len(closing)
        async with service.temporal.calls() as client:
            outcomes = await asyncio.gather(
                *(journeys.start_from_crm(client, d, "hubspot", service.target) for d in deal_ids)
            )
        for outcome in outcomes:
            log.info("hubspot_deal_accepted", workflow_id=outcome.workflow_id, created=outcome.created)
        if ignored:
            log.info("hubspot_events_ignored", count=ignored)
        return JSONResponse(
            {
                "journeys": [{"workflow_id": o.workflow_id, "created": o.created} for o in outcomes],
                "ignored": ignored,
            },
            status_code=202,
        )

    @app.post(
        "/events",
        status_code=202,
        response_model=EventAccepted,
        responses=problem_responses(400, 401, 404, 413, 415, 422, 503),
        openapi_extra=_body_doc("ProductEvent"),
        summary="A product event (Standard Webhooks signature)",
    )
    async def events(request: Request) -> JSONResponse:
        service = _service(request)
        require_json(request)
        body = await read_body(request, service.settings.max_body_bytes)
        try:
            webhook_id = service.verifier.verify(body, request.headers)
        except SignatureError as err:
            raise _unauthorized(err) from None
        event = validate(ProductEvent, parse_json(body))
        signal, _ = event.signal()
        async with service.temporal.calls() as client:
            deliveries = await deliver(
                client,
                event,
                service.target,
                service.settings.unknown_account_retry_after_seconds,
                webhook_id=webhook_id,
            )
        for delivery in deliveries:
            log.info(
                "event_accepted",
                webhook_id=webhook_id,
                event_id=event.event_id,
                signal=signal,
                workflow_id=delivery.workflow_id,
                outcome=delivery.outcome,
            )
        return JSONResponse(
            {
                "event_id": event.event_id,
                "signal": signal,
                "deliveries": [{"workflow_id": d.workflow_id, "outcome": d.outcome} for d in deliveries],
            },
            status_code=202,
        )

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


class _CodecServer:
    """ASGI hand-off to the service's codec app, which exists once the settings are read."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app.state.service.codec_app(scope, receive, send)


def _public_uri(request: Request, public_base_url: str | None) -> str:
    if not public_base_url:
        return str(request.url)
    query = request.url.query
    return public_base_url + request.url.path + (f"?{query}" if query else "")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        # Problem details carry field names and reasons, never submitted values.
        log.info("request_refused", path=request.url.path, status=exc.status, problem=exc.slug, reason=exc.detail)
        return exc.response()

    @app.exception_handler(TemporalUnavailable)
    async def _unavailable(request: Request, exc: TemporalUnavailable) -> JSONResponse:
        service = _service(request)
        log.warning("temporal_unavailable", path=request.url.path, reason=str(exc))
        return Problem(
            503,
            "temporal-unavailable",
            "Temporal is unavailable",
            f"{exc}; nothing was started or signalled, deliver again after Retry-After seconds",
            headers={"Retry-After": str(service.settings.retry_after_seconds)},
        ).response()

    @app.exception_handler(RPCError)
    async def _rpc_error(request: Request, exc: RPCError) -> JSONResponse:
        # A non-transient refusal (e.g. a search attribute not registered) is an operator
        # problem, not the sender's: 503 keeps the delivery coming until it is fixed.
        service = _service(request)
        log.error(
            "temporal_refused",
            path=request.url.path,
            status=exc.status.name if exc.status else None,
            message=exc.message,
        )
        return Problem(
            503,
            "temporal-refused",
            "Temporal refused the request",
            f"Temporal answered {exc.status.name if exc.status else 'an error'}; deliver again later",
            headers={"Retry-After": str(service.settings.retry_after_seconds)},
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
        log.error("unexpected_error", path=request.url.path, error=type(exc).__name__)
        return Problem(500, "internal", "Internal error", "an unexpected error occurred").response()


def _body_doc(name: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    }


def _openapi(app: FastAPI) -> dict[str, Any]:
    # The bodies are read raw (their signature covers the exact bytes), so FastAPI does not
    # see their models; add their schemas to the document by hand.
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    _, defs = models_json_schema(
        [(DealClosed, "validation"), (ProductEvent, "validation"), (HubSpotEvent, "validation")],
        ref_template="#/components/schemas/{model}",
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(defs.get("$defs", {}))
    components["HubSpotEvents"] = {
        "type": "array",
        "items": {"$ref": "#/components/schemas/HubSpotEvent"},
        "minItems": 1,
        "maxItems": 1000,
    }
    app.openapi_schema = schema
    return schema


# `uvicorn starters.app:app`: settings come from the environment when the server starts.
app = create_app()
