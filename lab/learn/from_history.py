"""A recorded journey (its record, lab/record.py `read_journey`) read as what the customer
did per milestone (lab/learn/observed.py).

Per milestone, in history order: the touchpoints the journey sent (the first of each kind
starts a persona step's clock, as `after:` does in the lab), the customer's events in the
stage the journey was in when they arrived, and how the milestone ended: completed after
the last direction, follow-up or human decision (what the records call its touchpoint),
skipped by staff, or not at all (never; cancelled when the deal was lost)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from lab.learn.observed import CustomerEvent, DealShape, Observed, StaffAnswer
from lab.learn.signature import Mark, When
from lab.personas import TOUCHPOINTS
from lab.record import FOLLOW_UPS, JourneyRecord
from lab.script import WEEKDAYS

_PAIR = re.compile(r"(\w+)=(\S+)")
DECISIONS = ("retry", "skip", "reassign", "close")


def observe_record(record: JourneyRecord, read_at: datetime) -> Observed:
    """`read_at`: when the journey was read (its last event for an exported file), the end
    of a journey still running."""
    if record.playbook is None:
        raise ValueError("no playbook snapshot in its history (it never started, or its snapshot no longer validates)")
    book = record.playbook.playbook
    keys = [m.key for m in book.milestones]
    known_events = {e for m in book.milestones for e in m.events()}
    start = record.started_at

    stage = keys[0]
    ended: dict[str, When] = {}
    last_touchpoint: dict[str, str] = {}  # what the records call the milestone's touchpoint
    first_sent: dict[str, dict[str, datetime]] = {k: {} for k in keys}
    events: list[CustomerEvent] = []
    openings: list[datetime] = []
    staff: list[StaffAnswer | None] = []
    assigned_at: datetime | None = None
    acknowledgements: list[float] = []

    def finish(milestone: str, cause: str) -> None:
        if milestone not in ended:
            ended[milestone] = "skipped" if cause == "staff" else _when(last_touchpoint.get(milestone))

    def event(do: str, action: str | None, at: datetime) -> None:
        sent = first_sent.get(stage, {})
        anchor = max(sent.items(), key=lambda kv: kv[1], default=None)
        events.append(
            CustomerEvent(
                do=do,
                action=action,
                milestone=stage,
                at_seconds=(at - start).total_seconds(),
                anchor=f"{stage}.{anchor[0]}" if anchor else None,
                after_anchor_seconds=(at - (anchor[1] if anchor else start)).total_seconds(),
            )
        )

    for t in record.touches:
        if t.what == "state":
            moved_to = t.milestone if t.milestone in keys else stage
            if moved_to != stage:
                finish(stage, t.cause)
            if t.kind == "activated":
                finish(moved_to, t.cause)
            stage = moved_to
        elif t.what == "message" and t.lane == "customer" and t.ok:
            milestone = t.milestone if t.milestone in keys else stage
            if t.kind in ("direction", *FOLLOW_UPS):
                last_touchpoint[milestone] = t.kind
            if t.kind in TOUCHPOINTS:
                first_sent[milestone].setdefault(t.kind, t.at)
        elif t.what == "escalation" and t.level == 1:
            first_sent[t.milestone if t.milestone in keys else stage].setdefault("escalation", t.at)
            openings.append(t.at)
            staff.append(None)
        elif t.what == "staff" and t.kind == "resolve_escalation":
            fields = dict(_PAIR.findall(t.detail))
            decision = fields.get("decision", "retry")
            if openings and decision in DECISIONS:
                staff[-1] = StaffAnswer(
                    decision=decision,
                    after_seconds=(t.at - openings[-1]).total_seconds(),
                    owner=fields.get("owner"),
                )
            last_touchpoint[stage] = "human"
        elif t.what == "customer" and t.kind == "taken" and t.detail in known_events:
            event("taken", t.detail, t.at)
        elif t.what == "customer" and t.kind == "failed":
            event("failed", t.detail.split(":", 1)[0].strip() or None, t.at)
        elif t.what == "customer" and t.kind == "help":
            event("help", None, t.at)
        elif t.what == "crm" and t.kind == "cancel":
            event("cancel", None, t.at)
        elif t.what == "owner" and t.kind in ("assigned", "replaced", "reassigned"):
            assigned_at = t.at
        elif t.what == "owner" and t.kind == "acknowledged" and assigned_at is not None:
            acknowledgements.append((t.at - assigned_at).total_seconds())

    marks = []
    for key in keys:
        mine = [e for e in events if e.milestone == key]
        when: When = ended.get(key) or ("cancelled" if any(e.do == "cancel" for e in mine) else "never")
        marks.append(
            Mark(
                milestone=key,
                when=when,
                failed=any(e.do == "failed" for e in mine),
                help=any(e.do == "help" for e in mine),
            )
        )
        if key not in ended:
            break  # later milestones were never reached
    end = record.closed_at or read_at
    return Observed(
        workflow_id=record.workflow_id,
        playbook=book.name,
        marks=marks,
        events=events,
        owner_acknowledges_after=sorted(acknowledgements)[len(acknowledgements) // 2] if acknowledgements else None,
        staff=staff,
        deal=deal_shape(record),
        span_seconds=max(0.0, (end - start).total_seconds()),
    )


def _when(touchpoint: str | None) -> When:
    if touchpoint in ("clarify", "simplify", "redirect", "human"):
        return touchpoint  # type: ignore[return-value]  # narrowed by the tuple
    return "direction"


def deal_shape(record: JourneyRecord) -> DealShape:
    deal = record.deal or {}
    try:
        local = record.started_at.astimezone(ZoneInfo(record.timezone))
    except (KeyError, ValueError):  # a zone this machine does not know
        local = record.started_at
    amount = deal.get("amount")
    return DealShape(
        timezone=record.timezone,
        segment=deal.get("segment") or None,
        product=deal.get("product") or None,
        amount=float(amount) if isinstance(amount, int | float) else None,
        currency=deal.get("currency") or None,
        weekday=WEEKDAYS[local.weekday()],
        minute_of_day=local.hour * 60 + local.minute,
    )
