"""What a real customer (and the people around them) did, read from their journey's history
and turned into a script the lab can play against another playbook.

- Product signals, CRM signals and the owner's acknowledgement keep their time after the
  journey's start.
- A staff decision on an escalation keeps its delay after that escalation opened: in the
  candidate the escalation may open at another time, or not at all (then it is not asked).
- Other staff updates (reassign, extend, pause, resume) keep their time; an extended due
  time keeps its distance from the start.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from contracts.deal import DealClosed
from contracts.owners import OwnerAssignment
from contracts.playbook import PlaybookSnapshot
from lab.record import CUSTOMER_SIGNALS, JourneyRecord
from lab.script import Script, Send, StaffRule, StartRule, Step
from lab.world import JourneySetup

KNOWN_SIGNALS = (*CUSTOMER_SIGNALS, "cancel", "owner_acknowledged", "deal_closed", "deal_in_crm")
KNOWN_UPDATES = ("resolve_escalation", "reassign_owner", "extend_deadline", "pause", "resume")
# Plain ints: the protobuf enum wrapper's attribute lookup is slow in a loop over events.
_E = SimpleNamespace(**dict(EventType.items()))


class Behaviour(BaseModel):
    model_config = {"arbitrary_types_allowed": True}

    script: Script
    setup: JourneySetup
    unplaced: list[str] = Field(default_factory=list)  # what the candidate cannot place


def _args(payloads: Any) -> dict[str, Any]:
    try:
        values = pydantic_data_converter.payload_converter.from_payloads(list(payloads.payloads))
    except Exception:
        return {}
    return values[0] if values and isinstance(values[0], dict) else {}


def _at(event: Any) -> datetime:
    return event.event_time.ToDatetime().replace(tzinfo=UTC)


def behaviour_of(
    record: JourneyRecord,
    runs: Sequence[WorkflowHistory],
    *,
    candidate: Path | PlaybookSnapshot | None,
    observed_at: datetime,
) -> Behaviour:
    """The script of what happened in `runs`, to play against `candidate` (a playbook file;
    None: the playbook the journey really ran, i.e. the unchanged playbook)."""
    start = record.started_at
    playbook = candidate if candidate is not None else record.playbook
    if playbook is None:
        raise ValueError("no playbook snapshot in its history (it never started, or its snapshot no longer validates)")
    book = playbook.playbook if isinstance(playbook, PlaybookSnapshot) else _load(playbook).playbook
    events = {e for m in book.milestones for e in m.events()}

    steps: list[Step] = []
    staff: list[StaffRule | None] = []
    openings: list[datetime] = []
    unplaced: list[str] = []
    for history in runs:
        for e in history.events:
            t = e.event_type
            if t == _E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                a = e.activity_task_scheduled_event_attributes
                if a.activity_type.name == "create_escalation_task" and int(_args(a.input).get("level", 1) or 1) == 1:
                    openings.append(_at(e))
                    staff.append(None)
            elif t == _E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                signal = e.workflow_execution_signaled_event_attributes
                name, body = signal.signal_name, _args(signal.input)
                if name not in KNOWN_SIGNALS:
                    unplaced.append(f"signal {name}")
                elif name in ("action_taken", "action_failed") and body.get("action") not in events:
                    unplaced.append(f"{name} {body.get('action')}")
                label = f"{name} {body.get('action', '')}".strip()
                acted: dict[str, float] = {}  # when the product says the customer acted moves with the journey
                if name == "action_taken" and isinstance(body.get("occurred_at"), str):
                    with suppress(ValueError):
                        occurred = datetime.fromisoformat(body["occurred_at"].replace("Z", "+00:00"))
                        acted["occurred_at"] = (occurred.replace(tzinfo=occurred.tzinfo or UTC) - start).total_seconds()
                steps.append(
                    Step(
                        at_seconds=(_at(e) - start).total_seconds(),
                        send=Send(kind="signal", name=name, payload=body, moments=acted),
                        label=label,
                    )
                )
            elif t == _E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                request = e.workflow_execution_update_accepted_event_attributes.accepted_request
                name, body, at = request.input.name, _args(request.input.args), _at(e)
                if name == "resolve_escalation" and openings:
                    staff[-1] = StaffRule(
                        decision=body.get("decision", "retry"),
                        after_seconds=(at - openings[-1]).total_seconds(),
                        owner=body.get("owner"),
                        by=body.get("by", "staff"),
                        note=body.get("note", ""),
                    )
                    continue
                if name not in KNOWN_UPDATES:
                    unplaced.append(f"update {name}")
                moments = {}
                if name == "extend_deadline" and isinstance(body.get("until"), str):
                    until = datetime.fromisoformat(body["until"].replace("Z", "+00:00"))
                    moments["until"] = (until - start).total_seconds()
                steps.append(
                    Step(
                        at_seconds=(at - start).total_seconds(),
                        send=Send(kind="update", name=name, payload=body, moments=moments),
                        label=name,
                    )
                )

    ended = record.closed_at or observed_at
    horizon = max((ended - start).total_seconds(), max((s.at_seconds for s in steps), default=0)) + 1
    journey_input = {k: v for k, v in record.journey_input.items() if k != "carried"}
    deal = None
    if record.deal and not journey_input.get("deal"):
        try:
            deal = DealClosed.model_validate(record.deal)
        except ValidationError:
            deal = None
    owners = []
    for result in record.owners:
        with suppress(ValidationError):
            owners.append(OwnerAssignment.model_validate(result))
    script = Script(
        label=record.workflow_id,
        workflow_id=record.workflow_id,
        journey_input=journey_input,
        start=StartRule.of(start, record.timezone),
        horizon_seconds=horizon,
        steps=steps,
        staff=staff,
    )
    return Behaviour(script=script, setup=JourneySetup(playbook=playbook, owners=owners, deal=deal), unplaced=unplaced)


def _load(path: Path) -> PlaybookSnapshot:
    from playbooks.loader import load_playbook

    return load_playbook(path)
