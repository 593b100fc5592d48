"""Read a journey's history (every run of it) into a record of what happened: each message
with its subject, its text, its one call to action and its recipient, owner assignments, escalations
and their level, what the customer and staff did, and every change of state.

Built only on the journey's public contract (activity, signal and update names, search
attributes), so it reads a history from production, from a dev server or from the lab
alike. A customer message counts as a reply when the workflow task that sent it was woken
by the customer's own signal (directly, or through the activities that task started), and
as proactive otherwise (a timer, the start, the owner, staff)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.messaging import RenderedMessage, render, render_request
from contracts import moments
from contracts.crms import CRMS
from contracts.messages import MessageRequest, MessageTemplate
from contracts.playbook import PlaybookSnapshot
from lab.world import milestone_of

CUSTOMER_SIGNALS = ("action_taken", "action_failed", "help_requested")
FOLLOW_UPS = tuple(t.value for t in moments.FOLLOW_UPS)
_URL = re.compile(r"https?://\S+")
# Plain ints: the protobuf enum wrapper's attribute lookup is slow in a loop over events.
_E = SimpleNamespace(**dict(EventType.items()))
_UTC = UTC
# Events a workflow task's commands write (besides activities and search attributes).
_COMMANDS = (
    _E.EVENT_TYPE_TIMER_STARTED,
    _E.EVENT_TYPE_TIMER_CANCELED,
    _E.EVENT_TYPE_MARKER_RECORDED,
    _E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    _E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
    _E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
)

# The activities that read a deal from a CRM (workflows/effects.py `fetch_deal`: fetch_<crm>_deal).
CRM_FETCHES = tuple(crm.fetch_activity for crm in CRMS if crm.fetch_activity)


class Touch(BaseModel):
    at: datetime
    lane: Literal["customer", "owner", "system"]
    what: Literal["message", "customer", "owner", "escalation", "staff", "state", "crm", "activity"]
    kind: str = ""  # message kind, customer event (taken|failed|help), staff update, state
    milestone: str = ""
    subject: str = ""
    body: str = ""  # a message's text as the reader gets it (rendered, in their language)
    cta: str = ""
    to: str = ""
    proactive: bool | None = None
    level: int = 0
    detail: str = ""
    ok: bool = True  # False: a message that could not render, an activity that failed
    # A customer's action: when the product says it happened (`occurred_at`), if it says so.
    occurred_at: datetime | None = None
    # What woke the journey to do this: the customer's own signal, staff, the owner, or the
    # journey itself (a timer, its start).
    cause: Literal["customer", "staff", "owner", "journey"] = "journey"


class JourneyRecord(BaseModel):
    workflow_id: str
    started_at: datetime
    closed_at: datetime | None = None
    status: str = "RUNNING"  # of the last run: RUNNING, COMPLETED, FAILED, TERMINATED, ...
    failure: str = ""
    timezone: str = "UTC"
    deal: dict[str, Any] | None = None
    journey_input: dict[str, Any] = Field(default_factory=dict)
    playbook: PlaybookSnapshot | None = None
    owners: list[dict[str, Any]] = Field(default_factory=list)  # assign_owner results, in order
    touches: list[Touch] = Field(default_factory=list)
    runs: int = 0
    events: int = 0

    @property
    def customer_messages(self) -> list[Touch]:
        return [t for t in self.touches if t.what == "message" and t.lane == "customer"]

    @property
    def escalations(self) -> list[Touch]:
        return [t for t in self.touches if t.what == "escalation"]


def _decode(payloads: Any) -> list[Any]:
    try:
        return list(pydantic_data_converter.payload_converter.from_payloads(list(payloads.payloads)))
    except Exception:  # an undecodable payload is shown as missing, not fatal
        return []


def _first(payloads: Any) -> Any:
    values = _decode(payloads)
    return values[0] if values else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _root_cause(failure: Any) -> str:
    """'Activity task failed' says little: the innermost cause says why."""
    while failure.HasField("cause"):
        failure = failure.cause
    return failure.message


def _moment(value: Any) -> datetime | None:
    """An ISO 8601 moment from a payload; None when absent or not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=_UTC)


def _short(text: Any, limit: int = 120) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Validating a playbook parses every template (Jinja2): the same few playbooks and templates
# recur across thousands of histories, so each is validated once.
@functools.lru_cache(maxsize=64)
def _snapshot_from(text: str) -> PlaybookSnapshot | None:
    try:
        return PlaybookSnapshot.model_validate_json(text)
    except ValidationError:
        return None  # an older or newer schema: messages still render


def _snapshot(result: dict[str, Any]) -> PlaybookSnapshot | None:
    return _snapshot_from(json.dumps(result, sort_keys=True))


@functools.lru_cache(maxsize=512)
def _template_from(subject: str, body: str) -> MessageTemplate:
    return MessageTemplate(subject=subject, body=body)


def _template(value: Any) -> MessageTemplate:
    value = _dict(value)
    try:
        return _template_from(str(value.get("subject")), str(value.get("body")))
    except TypeError:
        return MessageTemplate.model_validate(value)


def _rendered(body: dict[str, Any], context: dict[str, Any], audience: str) -> RenderedMessage:
    """The message as its reader got it (their language, their locale's dates and amounts);
    a request of a shape this code does not read is rendered from its template and context."""
    try:
        request = MessageRequest.model_validate(body)
    except ValidationError:
        return render(_template(body.get("template")), context, audience)
    return render_request(request)


class _Reader:
    def __init__(self, workflow_id: str) -> None:
        self.record: JourneyRecord | None = None
        self.workflow_id = workflow_id
        self.pending: set[str] = set()  # what woke the next workflow task
        self.current: set[str] = set()  # what woke the last completed one
        self.activity_cause: dict[int, set[str]] = {}
        # A signal that arrives while the journey awaits an activity wakes a task that can do
        # nothing yet: its effect comes with the activity's result. Kept per activity.
        self.woken_meanwhile: dict[int, set[str]] = {}
        self.commands = 0  # commands of the last completed workflow task so far
        self.activity_type: dict[int, str] = {}
        self.activity_input: dict[int, Any] = {}
        self.attributes: dict[str, Any] = {}

    # one run after another; event ids restart at 1 in each run
    def run(self, history: WorkflowHistory) -> None:
        self.activity_cause.clear()
        self.woken_meanwhile.clear()
        self.activity_type.clear()
        self.activity_input.clear()
        for event in history.events:
            self.event(event)
        assert self.record is not None
        self.record.runs += 1
        self.record.events += len(history.events)

    def touch(self, **fields: Any) -> None:
        assert self.record is not None
        self.record.touches.append(Touch(**fields))

    def event(self, e: HistoryEvent) -> None:
        at = e.event_time.ToDatetime().replace(tzinfo=_UTC)
        t = e.event_type
        if t == _E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            self.started(e, at)
        elif self.record is None:
            raise ValueError(f"{self.workflow_id}: history does not begin with its start")
        elif t == _E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            self.signaled(e, at)
        elif t == _E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            self.update(e, at)
        elif t == _E.EVENT_TYPE_TIMER_FIRED:
            self.pending.add("timer")
        elif t in _COMMANDS:
            self.commands += 1
        elif t == _E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            self.idle_task_waits()
            self.current, self.pending, self.commands = self.pending, set(), 0
        elif t == _E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            self.scheduled(e, at)
        elif t == _E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            a = e.activity_task_completed_event_attributes
            self.completed(a.scheduled_event_id, _first(a.result), at)
        elif t in (_E.EVENT_TYPE_ACTIVITY_TASK_FAILED, _E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT):
            ended = (
                e.activity_task_failed_event_attributes
                if t == _E.EVENT_TYPE_ACTIVITY_TASK_FAILED
                else e.activity_task_timed_out_event_attributes
            )
            self.failed(ended.scheduled_event_id, _root_cause(ended.failure), at)
        elif t == _E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            self.commands += 1
            self.attributes_changed(e.upsert_workflow_search_attributes_event_attributes.search_attributes, at)
        elif t == _E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            self.closed(at, "COMPLETED")
        elif t == _E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            self.closed(at, "FAILED", _root_cause(e.workflow_execution_failed_event_attributes.failure))
        elif t == _E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            self.closed(at, "TERMINATED", e.workflow_execution_terminated_event_attributes.reason)
        elif t == _E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
            self.closed(at, "CANCELED")
        elif t == _E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
            self.closed(at, "TIMED_OUT")
        elif t == _E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            self.pending = {"continue"}

    # ------------------------------------------------------------------ events

    def started(self, e: HistoryEvent, at: datetime) -> None:
        attrs = e.workflow_execution_started_event_attributes
        if self.record is None:
            journey_input = _dict(_first(attrs.input))
            deal = journey_input.get("deal") or _dict(journey_input.get("carried")).get("deal")
            self.record = JourneyRecord(
                workflow_id=self.workflow_id, started_at=at, journey_input=journey_input, deal=deal
            )
            if deal:
                self.record.timezone = _dict(deal.get("account")).get("timezone", "UTC")
            self.pending = {"start"}
            self.attributes_changed(attrs.search_attributes, at, quiet=True)
        self.record.status, self.record.closed_at = "RUNNING", None

    def signaled(self, e: HistoryEvent, at: datetime) -> None:
        attrs = e.workflow_execution_signaled_event_attributes
        name, body = attrs.signal_name, _dict(_first(attrs.input))
        self.pending.add(f"signal:{name}")
        if name == "action_taken":
            detail, occurred = str(body.get("action", "")), _moment(body.get("occurred_at"))
            self.touch(at=at, lane="customer", what="customer", kind="taken", detail=detail, occurred_at=occurred)
        elif name == "action_failed":
            detail = f"{body.get('action', '')}: {_short(body.get('reason'), 80)}"
            self.touch(at=at, lane="customer", what="customer", kind="failed", detail=detail)
        elif name == "help_requested":
            self.touch(at=at, lane="customer", what="customer", kind="help", detail=_short(body.get("message"), 80))
        elif name == "owner_acknowledged":
            self.touch(at=at, lane="owner", what="owner", kind="acknowledged", detail=str(body.get("by", "")))
        elif name == "deal_closed" and self.record and not self.record.deal:
            self.record.deal = _dict(body.get("deal")) or None
            self.touch(at=at, lane="system", what="crm", kind=name, detail="deal details")
        else:
            self.touch(at=at, lane="system", what="crm", kind=name, detail=_short(body.get("reason") or body, 80))

    def update(self, e: HistoryEvent, at: datetime) -> None:
        request = e.workflow_execution_update_accepted_event_attributes.accepted_request
        name, body = request.input.name, _dict(_first(request.input.args))
        self.current.add(f"update:{name}")  # accepted by the task that just completed
        detail = " ".join(f"{k}={_short(v, 60)}" for k, v in body.items() if k != "note" and v not in (None, ""))
        self.touch(at=at, lane="owner", what="staff", kind=name, detail=detail)

    def scheduled(self, e: HistoryEvent, at: datetime) -> None:
        a = e.activity_task_scheduled_event_attributes
        kind, body = a.activity_type.name, _first(a.input)
        self.commands += 1
        self.activity_cause[e.event_id] = set(self.current)
        self.woken_meanwhile[e.event_id] = set()
        self.activity_type[e.event_id] = kind
        self.activity_input[e.event_id] = body
        body = _dict(body)
        if kind == "send_message":
            self.message(body, at)
        elif kind == "create_escalation_task":
            assignee = _dict(body.get("assignee"))
            self.touch(
                at=at,
                lane="owner",
                what="escalation",
                kind=str(body.get("level_name", "")),
                milestone=str(body.get("milestone", "")),
                level=int(body.get("level", 1) or 1),
                to=str(assignee.get("name") or assignee.get("id", "")),
                detail=_short(body.get("reason"), 100),
                cause=self.cause(),
            )
        elif kind not in ("snapshot_playbook", "assign_owner", *CRM_FETCHES):
            self.touch(at=at, lane="system", what="activity", kind=kind, detail=_short(body, 100), cause=self.cause())

    def message(self, body: dict[str, Any], at: datetime) -> None:
        assert self.record is not None
        audience = body.get("audience", "customer")
        to = _dict(body.get("to"))
        context = _dict(body.get("context"))
        subject, text, cta, ok = "", "", "", True
        try:
            rendered = _rendered(body, context, audience)
            subject, text = rendered.subject, rendered.body
            links = _URL.findall(rendered.body)
            cta = links[0] if len(links) == 1 else ""
        except (ValidationError, Exception) as err:  # shown, and counted as not sent
            subject, ok = f"(cannot render: {_short(getattr(err, 'message', err), 80)})", False
        playbook = self.record.playbook.playbook if self.record.playbook else None
        milestone = milestone_of(str(body.get("key", "")), str(context.get("milestone_title", "")), playbook)
        cause = self.cause()
        self.touch(
            at=at,
            lane="customer" if audience == "customer" else "owner",
            what="message",
            kind=str(body.get("kind", "")),
            milestone=milestone,
            subject=subject,
            body=text,
            cta=cta,
            to=f"{to.get('name', '')} <{to.get('email', '')}>".strip(),
            proactive=cause != "customer" if audience == "customer" else None,
            ok=ok,
            cause=cause,
        )

    def idle_task_waits(self) -> None:
        """The last task issued no command: whatever woke it waits on the activities in flight."""
        if self.commands == 0:
            for waiting in self.woken_meanwhile.values():
                waiting |= self.current

    def resumed_by(self, scheduled_id: int) -> None:
        self.idle_task_waits()
        self.pending |= self.activity_cause.get(scheduled_id, set()) | self.woken_meanwhile.pop(scheduled_id, set())

    def completed(self, scheduled_id: int, result: Any, at: datetime) -> None:
        self.resumed_by(scheduled_id)
        kind = self.activity_type.get(scheduled_id, "")
        assert self.record is not None
        if kind == "snapshot_playbook" and isinstance(result, dict):
            self.record.playbook = _snapshot(result)
        elif kind == "assign_owner" and isinstance(result, dict):
            self.record.owners.append(result)
            owner = _dict(result.get("owner"))
            request = _dict(self.activity_input.get(scheduled_id))
            why = "reassigned" if request.get("preferred") else ("replaced" if request.get("exclude") else "assigned")
            self.touch(
                at=at, lane="owner", what="owner", kind=why, detail=f"{owner.get('name', '')} ({owner.get('id', '')})"
            )
        elif kind in CRM_FETCHES and isinstance(result, dict):
            self.record.deal = result
            self.record.timezone = _dict(result.get("account")).get("timezone", self.record.timezone)

    def failed(self, scheduled_id: int, message: str, at: datetime) -> None:
        self.resumed_by(scheduled_id)
        kind = self.activity_type.get(scheduled_id, "activity")
        self.touch(at=at, lane="system", what="activity", kind=kind, detail=f"failed: {_short(message, 100)}", ok=False)

    def attributes_changed(self, proto: Any, at: datetime, quiet: bool = False) -> None:
        before = dict(self.attributes)
        for name, payload in proto.indexed_fields.items():
            # Read as plain JSON: servers differ in how they hand back datetimes, and only
            # keywords and the level matter here.
            try:
                value = json.loads(payload.data) if payload.data else None
            except ValueError:
                continue
            self.attributes[name] = value[0] if isinstance(value, list) and len(value) == 1 else value
        watched = ("OnboardingState", "OnboardingStage", "EscalationLevel", "OnboardingOwner")
        if quiet or all(before.get(k) == self.attributes.get(k) for k in watched):
            return
        a = self.attributes
        self.touch(
            at=at,
            lane="system",
            what="state",
            kind=str(a.get("OnboardingState", "")),
            milestone=str(a.get("OnboardingStage", "")),
            level=int(a.get("EscalationLevel", 0) or 0),
            detail=f"owner {a.get('OnboardingOwner', '')}",
            cause=self.cause(),
        )

    def cause(self) -> Literal["customer", "staff", "owner", "journey"]:
        if any(c in self.current for c in (f"signal:{s}" for s in CUSTOMER_SIGNALS)):
            return "customer"
        if any(c.startswith("update:") for c in self.current):
            return "staff"
        if "signal:owner_acknowledged" in self.current:
            return "owner"
        return "journey"

    def closed(self, at: datetime, status: str, failure: str = "") -> None:
        assert self.record is not None
        self.record.status, self.record.closed_at, self.record.failure = status, at, failure


def read_journey(workflow_id: str, runs: Iterable[WorkflowHistory]) -> JourneyRecord:
    """The record of one journey from its runs' histories, first run first."""
    reader = _Reader(workflow_id)
    for history in runs:
        reader.run(history)
    if reader.record is None:
        raise ValueError(f"{workflow_id}: no history")
    return reader.record
