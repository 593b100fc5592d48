"""What the endpoints share, as FastAPI dependencies.

The service (built once from the settings) and its parts: settings, clock, suppression list,
the lazily connected Temporal gateway and where journeys run. Then the request's body, bounded
in size, and the intake every webhook runs before anything reaches Temporal, in this order:
content type (415), size (413), the sender's proof over the raw bytes (401), JSON (400),
schema (422). A refused request has started and signalled nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar, cast

from fastapi import Depends, Request
from pydantic import BaseModel, TypeAdapter
from pydantic_settings import BaseSettings
from temporalio.client import Interceptor

from privacy.codec import EncryptionCodec
from privacy.codec_server import CodecAccess, create_codec_app
from privacy.converter import data_converter_for
from privacy.suppressions import FileSuppressionList, SuppressionList
from privacy.unsubscribe import UnsubscribeSigner, parse_secrets
from records.accounts import AccountDirectory
from records.database import Database
from records.intake_events import EventLedger
from records.refusals import RefusalStore
from starters import journeys
from starters.flood import JourneyRateLimiter
from starters.intake import parse_json, read_body, require_json, validate, validate_adapter
from starters.problems import Problem
from starters.settings import StarterSettings
from starters.signatures import Clock, SignatureError, StandardWebhookVerifier
from starters.temporal import TemporalGateway

T = TypeVar("T")
# The staff pages (starters/routes/support.py), signed in to with the codec server's session.
STAFF_PAGES = "/support"
S = TypeVar("S", bound=BaseSettings)


class Service:
    """Everything a request needs, built once from the settings. `clock` (Unix seconds) is
    what signature windows and link expiries are checked against: the real one unless a test
    freezes it."""

    def __init__(
        self, settings: StarterSettings, clock: Clock = time.time, interceptors: Sequence[Interceptor] = ()
    ) -> None:
        """`interceptors`: the Temporal client's (the service's tracing)."""
        self.settings = settings
        self.clock = clock
        # Encrypted payloads (privacy.keys); no key configured stops the service here.
        self.converter = data_converter_for(settings.codec_keys())
        self.temporal = TemporalGateway(settings, self.converter, interceptors)
        codec = self.converter.payload_codec  # data_converter_for's: an EncryptionCodec or None
        self.codec_app = create_codec_app(
            codec if isinstance(codec, EncryptionCodec) else None,
            [t.get_secret_value() for t in settings.onboarding_codec_token],
            settings.onboarding_codec_ui_origins,
            settings.temporal_namespace,
            also_for=[STAFF_PAGES],
        )
        # Who may use the staff pages that show customer names: the codec server's staff.
        self.staff_access = CodecAccess([t.get_secret_value() for t in settings.onboarding_codec_token])
        self.suppressions = FileSuppressionList.in_data_dir(settings.onboarding_data_dir)
        unsubscribe_secrets = parse_secrets([s.get_secret_value() for s in settings.onboarding_unsubscribe_secret])
        self.unsubscribe = UnsubscribeSigner(unsubscribe_secrets) if unsubscribe_secrets else None
        self.verifier = StandardWebhookVerifier(
            [s.get_secret_value() for s in settings.onboarding_webhook_secret], clock=clock
        )
        self.target = journeys.Target(settings.onboarding_task_queue, self.temporal.rpc_timeout)
        self.limiter = JourneyRateLimiter(settings.journey_event_rate, settings.journey_event_burst)
        self._own_settings: dict[type[BaseSettings], BaseSettings] = {}

    def settings_of(self, kind: type[S]) -> S:
        """Settings a source declares for itself (a pydantic-settings class in its router module,
        e.g. a CRM's webhook credentials), read from the environment on first use."""
        found = self._own_settings.get(kind)
        if found is None:
            found = self._own_settings[kind] = kind()
        return cast(S, found)  # the map holds each kind's own instance under its class

    def configure(self, *own: BaseSettings) -> None:
        """Give `settings_of` these instead of reading the environment (tests, embedding)."""
        for settings in own:
            self._own_settings[type(settings)] = settings


# --- the service and its parts ----------------------------------------------------------------


def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


def get_settings(service: ServiceDep) -> StarterSettings:
    return service.settings


def get_clock(service: ServiceDep) -> Clock:
    return service.clock


def get_suppressions(service: ServiceDep) -> SuppressionList:
    return service.suppressions


def get_temporal(service: ServiceDep) -> TemporalGateway:
    """The gateway, not a client: it connects on its first call, so a request refused before it
    needs Temporal is answered while Temporal is down (`async with temporal.calls() as client`)."""
    return service.temporal


def get_target(service: ServiceDep) -> journeys.Target:
    return service.target


def get_records(request: Request, service: ServiceDep) -> Database:
    """The records' database, migrated at startup (starters.app's lifespan); opened here on
    first use when the app runs without its lifespan (an embedding, a test client)."""
    state = request.app.state
    records = getattr(state, "records", None)
    if records is None:
        settings = service.settings
        records = state.records = Database.from_settings(settings.onboarding_database_url, settings.onboarding_data_dir)
    return cast(Database, records)


def get_accounts(records: Annotated[Database, Depends(get_records)]) -> AccountDirectory:
    return AccountDirectory(records)


def get_refusals(records: Annotated[Database, Depends(get_records)]) -> RefusalStore:
    return RefusalStore(records)


def get_event_ledger(records: Annotated[Database, Depends(get_records)]) -> EventLedger:
    return EventLedger(records)


SettingsDep = Annotated[StarterSettings, Depends(get_settings)]
RecordsDep = Annotated[Database, Depends(get_records)]
RefusalsDep = Annotated[RefusalStore, Depends(get_refusals)]
AccountsDep = Annotated[AccountDirectory, Depends(get_accounts)]
EventLedgerDep = Annotated[EventLedger, Depends(get_event_ledger)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SuppressionsDep = Annotated[SuppressionList, Depends(get_suppressions)]
TemporalDep = Annotated[TemporalGateway, Depends(get_temporal)]
TargetDep = Annotated[journeys.Target, Depends(get_target)]


# --- the body ------------------------------------------------------------------------------------


async def bounded_body(request: Request, settings: SettingsDep) -> bytes:
    """The raw body, at most `max_body_bytes` (413, on Content-Length and while reading)."""
    return await read_body(request, settings.max_body_bytes)


Body = Annotated[bytes, Depends(bounded_body)]


def json_content(request: Request) -> None:
    require_json(request)


# --- the intake: verify -> parse -> validate ----------------------------------------------------

# Checks the sender's proof over the raw bytes, raising SignatureError; answers the delivery's
# id where the sender signs one (Standard Webhooks' `webhook-id`), for the logs.
Verify = Callable[[Request, Service, bytes], str | None]


@dataclass(frozen=True)
class Verified(Generic[T]):
    """A request's body, verified and validated."""

    value: T
    delivery_id: str | None = None


class SignedJson:
    """Dependency: the verified, parsed and validated JSON body of a request.

    `schema` is a model, a TypeAdapter, or a function of the parsed JSON that raises a Problem
    (422) when it does not fit. A failed verification is 401 with `title` and `headers` (e.g.
    a basic-auth challenge)."""

    def __init__(
        self,
        verify: Verify,
        schema: type[BaseModel] | TypeAdapter[Any] | Callable[[Any], Any],
        *,
        title: str = "Signature verification failed",
        headers: Mapping[str, str] | None = None,
        max_body: Callable[[StarterSettings], int] | None = None,
    ) -> None:
        self._verify = verify
        self._validate = _validator(schema)
        self._title = title
        self._headers = dict(headers or {})
        self._max_body = max_body

    async def __call__(
        self, request: Request, service: ServiceDep, _json: Annotated[None, Depends(json_content)]
    ) -> Verified[Any]:
        """`max_body`: the source's own limit (e.g. Segment's large batches), else `max_body_bytes`."""
        settings = service.settings
        body = await read_body(request, self._max_body(settings) if self._max_body else settings.max_body_bytes)
        try:
            delivery_id = self._verify(request, service, body)
        except SignatureError as err:
            raise Problem(401, "invalid-signature", self._title, err.reason, headers=dict(self._headers)) from None
        return Verified(self._validate(parse_json(body)), delivery_id)


def _validator(schema: type[BaseModel] | TypeAdapter[Any] | Callable[[Any], Any]) -> Callable[[Any], Any]:
    if isinstance(schema, TypeAdapter):
        return lambda data: validate_adapter(schema, data)
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        model = schema
        return lambda data: validate(model, data)
    return schema


def standard_webhook(request: Request, service: Service, body: bytes) -> str:
    """Standard Webhooks signature (any of the configured secrets); the delivery's webhook-id."""
    return service.verifier.verify(body, request.headers)
