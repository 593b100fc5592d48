"""Refused deliveries kept for a human, and their retry after a mapping fix.

A delivery the service cannot use (a closed-won Salesforce notification without a contact
email, a Segment call whose mapped fields are invalid, a HubSpot batch, Pipedrive delivery or
deal-closed body that does not validate) is kept in the records
(records/refusals.py) with its reason in ids and field names; the delivery itself is
stored as the payload codec encodes it (privacy/: encrypted), never in plain text. Staff list
and retry them with `onboarding intake` (starters/refusals_cli.py, docs/http.md "Refused
deliveries"): a retry maps the kept delivery again with today's settings (SALESFORCE_FIELDS,
SEGMENT_MAPPING, HUBSPOT_CLOSED_WON_STAGES; today's contracts) and delivers it as the endpoint would have. A journey starts once however
often it is retried: its workflow id comes from the deal."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import DataConverter

from contracts.deal import DealClosed
from privacy.suppressions import SuppressionList
from records.accounts import AccountDirectory
from records.refusals import Refusal, RefusalStore
from starters import journeys, metrics
from starters.delivery import deliver
from starters.hubspot import closes_deal
from starters.intake import validate
from starters.models import HubSpotEvent
from starters.pipedrive import deal_change  # the endpoint's own check
from starters.problems import FieldError, Problem
from starters.salesforce import RefusedNotification, deal_errors
from starters.segment import Rejected, SegmentCall, map_calls
from starters.settings import StarterSettings

T = TypeVar("T")

SALESFORCE = "salesforce"
SEGMENT = "segment"
HUBSPOT = "hubspot"
PIPEDRIVE = "pipedrive"
DEAL_CLOSED = "deal-closed"
SOURCES = [SALESFORCE, SEGMENT, HUBSPOT, PIPEDRIVE, DEAL_CLOSED]


@dataclass(frozen=True)
class RefusedBody:
    """A whole delivery that failed validation (its 422's `errors`), with the parsed JSON the
    endpoint kept before answering (keep_body)."""

    problem: Problem
    raw: Any

    @property
    def errors(self) -> list[FieldError]:
        return self.problem.errors or []


def refusing(validate: Callable[[Any], T]) -> Callable[[Any], T | RefusedBody]:
    """`validate`, but a 422 becomes a RefusedBody for the endpoint to keep, then refuse."""

    def check(data: Any) -> T | RefusedBody:
        try:
            return validate(data)
        except Problem as problem:
            if problem.status != 422:
                raise
            return RefusedBody(problem, data)

    return check


def digest(raw: Any) -> str:
    """A delivery without an id of its own is known by its content (the same one, the same row)."""
    return "sha256-" + hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:32]


async def keep_body(
    store: RefusalStore,
    converter: DataConverter,
    source: str,
    ref: str | None,
    refused: RefusedBody,
    deal_id: str | None = None,
) -> Problem:
    """Keep a refused HubSpot, Pipedrive or deal-closed delivery; the 422 to answer with.
    Their senders give up on a 4xx (HubSpot) or after a few attempts (Pipedrive, Standard
    Webhooks senders), and a body that does not validate fails every attempt alike."""
    await store.keep(
        source=source,
        ref=ref or digest(refused.raw),
        deal_id=deal_id[:128] if deal_id else None,
        reason=_reason(refused.errors),
        fields=_field_names(refused.errors),
        payload=await seal(converter, {"body": refused.raw}),
        at=datetime.now(UTC),
    )
    metrics.KEPT_FOR_STAFF.labels(source).inc()
    return refused.problem


async def seal(converter: DataConverter, value: Any) -> bytes:
    """The value as the codec stores it (a serialized, encrypted Payload)."""
    [payload] = await converter.encode([value])
    return payload.SerializeToString()


async def unseal(converter: DataConverter, data: bytes) -> Any:
    [value] = await converter.decode([Payload.FromString(data)], [dict])
    return value


def _field_names(errors: list[FieldError]) -> list[str]:
    return list(dict.fromkeys(e.field for e in errors))


def _reason(errors: list[FieldError]) -> str:
    return "invalid field(s): " + ", ".join(f"{e.field} ({e.type})" for e in errors)


async def keep_salesforce(
    store: RefusalStore, converter: DataConverter, organization: str, refused: RefusedNotification
) -> Refusal:
    kept = await store.keep(
        source=SALESFORCE,
        ref=f"{organization[:15]}:{refused.notification_id}",
        deal_id=refused.opportunity_id,
        reason=_reason(refused.errors),
        fields=_field_names(refused.errors),
        payload=await seal(converter, {"organization_id": organization, "sObject": refused.values}),
        at=datetime.now(UTC),
    )
    metrics.KEPT_FOR_STAFF.labels(SALESFORCE).inc()
    return kept


async def keep_segment(store: RefusalStore, converter: DataConverter, rejected: Rejected) -> Refusal:
    """A Segment call refused (422 for one call, named in a batch's answer): Segment does not
    deliver it again, so the records are the only place it is left."""
    raw = rejected.raw if rejected.raw is not None else {}
    # a call without a messageId is known by its content's digest (the same call, the same row)
    ref = (
        rejected.message_id
        or "sha256-" + hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:32]
    )
    kept = await store.keep(
        source=SEGMENT,
        ref=ref,
        reason=_reason(rejected.errors),
        fields=_field_names(rejected.errors),
        payload=await seal(converter, {"call": raw}),
        at=datetime.now(UTC),
    )
    metrics.KEPT_FOR_STAFF.labels(SEGMENT).inc()
    return kept


@dataclass(frozen=True)
class RetryResult:
    """`delivered`: the outcome to record (workflow ids, never content). Otherwise `errors`
    name what still keeps the delivery from being used."""

    delivered: str | None = None
    deal_id: str | None = None
    errors: list[FieldError] | None = None


async def retry(
    kept: Refusal,
    content: dict[str, Any],
    *,
    settings: StarterSettings,
    client: Client,
    suppressions: SuppressionList,
    target: journeys.Target,
    accounts: AccountDirectory | None = None,
) -> RetryResult:
    """Map the kept delivery with today's settings and deliver it as its endpoint would
    (recording a started journey's account in `accounts`, as the endpoint does)."""
    if kept.source == SALESFORCE:
        found = deal_errors(content.get("sObject") or {}, settings.salesforce_fields, prefix="sObject.")
        if isinstance(found, list):
            return RetryResult(errors=found)
        first_signal = await journeys.suppressed_at_start(suppressions, found)
        if accounts is not None:
            await accounts.record_deal(found)
        outcome = await journeys.start_with_deal(client, found, target, first_signal)
        what = "started" if outcome.created else ("handed to" if outcome.running else "already finished:")
        return RetryResult(f"{what} {outcome.workflow_id}", found.deal_id)
    if kept.source == SEGMENT:
        try:
            call = SegmentCall.model_validate(content.get("call"))
        except ValueError:
            error = FieldError(field="(call)", message="not a Segment call", type="invalid")
            return RetryResult(errors=[error])
        mapped = map_calls([call], settings.segment_mapping, False)
        if mapped.rejected:
            return RetryResult(errors=[e for r in mapped.rejected for e in r.errors])
        if not mapped.events:
            error = FieldError(field="event", message="no SEGMENT_MAPPING rule maps this call", type="unmapped")
            return RetryResult(errors=[error])
        event = mapped.events[0]
        try:
            deliveries = await deliver(client, event, target, settings.unknown_account_retry_after_seconds)
        except Problem as problem:
            error = FieldError(field="userId", message=problem.detail or problem.title, type=problem.slug)
            return RetryResult(errors=[error])
        signalled = ", ".join(f"{d.outcome} {d.workflow_id}" for d in deliveries)
        return RetryResult(f"signalled: {signalled}", event.deal_id)
    if kept.source in (HUBSPOT, PIPEDRIVE, DEAL_CLOSED):
        return await _retry_body(kept.source, content.get("body"), settings, client, suppressions, target, accounts)
    raise ValueError(f"a refused delivery from {kept.source!r} cannot be retried here")


async def _retry_body(
    source: str,
    body: Any,
    settings: StarterSettings,
    client: Client,
    suppressions: SuppressionList,
    target: journeys.Target,
    accounts: AccountDirectory | None,
) -> RetryResult:
    """Validate a kept body with today's code and settings and start as its endpoint would."""
    try:
        if source == DEAL_CLOSED:
            deal = validate(DealClosed, body)
            first_signal = await journeys.suppressed_at_start(suppressions, deal)
            if accounts is not None:
                await accounts.record_deal(deal)
            outcome = await journeys.start_with_deal(client, deal, target, first_signal)
            return RetryResult(_started(outcome), deal.deal_id)
        if source == PIPEDRIVE:
            event, found = deal_change(body)
            if found is None or not event.becomes_won(found):
                error = FieldError(field="data.status", message="not a deal that became won", type="not_won")
                return RetryResult(errors=[error])
            outcome = await journeys.start_from_crm(client, str(found.id), "pipedrive", target)
            return RetryResult(_started(outcome), str(found.id))
        return await _retry_hubspot(body, settings, client, target)
    except Problem as problem:
        return RetryResult(
            errors=problem.errors or [FieldError(field="(body)", message=problem.title, type=problem.slug)]
        )


async def _retry_hubspot(body: Any, settings: StarterSettings, client: Client, target: journeys.Target) -> RetryResult:
    """Entry by entry: one malformed entry refused the whole batch at the endpoint, but it
    must not hold back the deals the batch's valid entries close."""

    entries = body if isinstance(body, list) else [body]
    events: list[HubSpotEvent] = []
    invalid: list[FieldError] = []
    for index, entry in enumerate(entries):
        try:
            events.append(validate(HubSpotEvent, entry))
        except Problem as problem:
            invalid += [e.model_copy(update={"field": f"{index}.{e.field}"}) for e in problem.errors or []]
    closing = [e for e in events if closes_deal(e, settings.hubspot_closed_won_stages)]
    deal_ids = list(dict.fromkeys(str(e.objectId) for e in closing))
    if not deal_ids:
        not_won = FieldError(
            field="propertyValue", message="no entry moves a deal to a closed-won stage", type="not_won"
        )
        return RetryResult(errors=invalid or [not_won])
    outcomes = [await journeys.start_from_crm(client, d, "hubspot", target) for d in deal_ids]
    started = ", ".join(_started(o) for o in outcomes)
    if invalid:
        started += f" (left out, invalid: {', '.join(dict.fromkeys(e.field for e in invalid))})"
    return RetryResult(started, ", ".join(deal_ids))


def _started(outcome: journeys.StartOutcome) -> str:
    what = "started" if outcome.created else ("handed to" if outcome.running else "already finished:")
    return f"{what} {outcome.workflow_id}"


def reason_of(errors: list[FieldError]) -> tuple[str, list[str]]:
    return _reason(errors), _field_names(errors)
