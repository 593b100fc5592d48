"""Judge a persona's walk against its expectations: held, or what happened instead."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from contracts.deal import DealClosed
from contracts.expectations import (
    WEEKDAY_NAMES,
    BusinessHoursOnly,
    CompletesMilestone,
    Duration,
    Escalated,
    Expectation,
    FollowUps,
    Humans,
    Kickoff,
    Messages,
    ProactivePerBusinessDay,
    ReachesState,
)
from contracts.playbook import BusinessHours
from lab.calendar import business_day, deadline, in_business_hours, local, shown, spoken
from lab.outcome import Outcome, state_changes
from lab.record import FOLLOW_UPS, JourneyRecord


class Verdict(BaseModel):
    persona: str
    expectation: str
    source: str  # where it was written: the persona file or the playbook
    held: bool
    happened: str


class _Walk:
    def __init__(self, record: JourneyRecord, outcome: Outcome, hours: BusinessHours) -> None:
        self.record, self.outcome, self.hours = record, outcome, hours
        self.start, self.tz = record.started_at, record.timezone
        # the playbook calendar's closed days (public holidays), as the journey counted them
        self.closed = record.playbook.customer_closed_days(_reader_locale(record)) if record.playbook else ()

    def when(self, moment: datetime) -> str:
        here, utc = shown(moment, self.tz)
        return f"{here} {self.tz} ({utc}), {spoken((moment - self.start).total_seconds())} after the close"

    def by(self, duration: Duration) -> datetime:
        return deadline(self.start, duration, self.tz, self.hours, self.closed)


def _reader_locale(record: JourneyRecord) -> str:
    """The locale the walked customer reads in ("" when the record holds no whole deal)."""
    try:
        return DealClosed.model_validate(record.deal).reader_locale if record.deal else ""
    except ValidationError:
        return ""


def judge(
    persona: str, source: str, expectation: Expectation, record: JourneyRecord, outcome: Outcome, hours: BusinessHours
) -> Verdict:
    walk = _Walk(record, outcome, hours)
    held, happened = _CHECKS[type(expectation)](expectation, walk)
    return Verdict(persona=persona, expectation=expectation.describe(), source=source, held=held, happened=happened)


def _kickoff(e: Kickoff, w: _Walk) -> tuple[bool, str]:
    first = w.record.playbook.playbook.milestones[0].key if w.record.playbook else None
    kickoff = next(
        (m for m in w.record.customer_messages if m.kind == "direction" and m.milestone in (first, "")), None
    )
    if kickoff is None:
        return False, "no kickoff was sent"
    what = f"kickoff on {w.when(kickoff.at)}"
    if e.kickoff.within is not None:
        return kickoff.at <= w.by(e.kickoff.within), what
    assert e.kickoff.at is not None  # KickoffWhen's rule: without `within`, both day and at
    here = local(kickoff.at, w.tz)
    on_time = WEEKDAY_NAMES[here.weekday()] == e.kickoff.day and (here.hour, here.minute) == (
        e.kickoff.at.hour,
        e.kickoff.at.minute,
    )
    return on_time, what


def _follow_ups(e: FollowUps, w: _Walk) -> tuple[bool, str]:
    sent = [m for m in w.record.customer_messages if m.kind in FOLLOW_UPS]
    listed = ", ".join(f"{m.kind} on {shown(m.at, w.tz)[0]}" for m in sent[:6])
    return e.follow_ups.holds(len(sent)), f"{len(sent)} follow-ups" + (f" ({listed})" if sent else "")


def _escalated(e: Escalated, w: _Walk) -> tuple[bool, str]:
    opened = next((t for t in w.record.escalations), None)
    if e.escalated == "never":
        return (
            opened is None,
            "never escalated" if opened is None else f"escalated on {w.when(opened.at)}: {opened.detail}",
        )
    if opened is None:
        return False, "never escalated"
    return opened.at <= w.by(e.escalated.within), f"escalated on {w.when(opened.at)}"


def _reaches(e: ReachesState, w: _Walk) -> tuple[bool, str]:
    target = e.reaches
    at = next((moment for t, moment in state_changes(w.record) if t.kind == target.state), None)
    if at is None:
        return False, f"never {target.state}; it ended {w.outcome.state}"
    return target.within is None or at <= w.by(target.within), f"{target.state} on {w.when(at)}"


def _completes(e: CompletesMilestone, w: _Walk) -> tuple[bool, str]:
    goal = e.completes
    reached = next((r for r in w.outcome.milestones if r.key == goal.milestone), None)
    if reached is None:
        return False, f"{goal.milestone} never finished"
    at = w.start + timedelta(seconds=reached.after_seconds)
    return reached.how == "completed" and at <= w.by(goal.within), f"{goal.milestone} {reached.how} on {w.when(at)}"


def _messages(e: Messages, w: _Walk) -> tuple[bool, str]:
    return e.messages.holds(w.outcome.messages), f"{w.outcome.messages} customer messages ({_kinds(w.outcome.by_kind)})"


def _humans(e: Humans, w: _Walk) -> tuple[bool, str]:
    return e.humans.holds(w.outcome.escalations), f"{w.outcome.escalations} escalations"


def _business_hours(e: BusinessHoursOnly, w: _Walk) -> tuple[bool, str]:
    checked = [m for m in w.record.customer_messages if m.proactive or e.business_hours_only == "all"]
    outside = [m for m in checked if not in_business_hours(m.at, w.tz, w.hours, w.closed)]
    if not outside:
        return True, f"all {len(checked)} inside {w.hours.start:%H:%M}-{w.hours.end:%H:%M} {'/'.join(w.hours.days)}"
    return False, "; ".join(f"{m.kind} on {w.when(m.at)}" for m in outside[:5])


def _per_day(e: ProactivePerBusinessDay, w: _Walk) -> tuple[bool, str]:
    days = Counter(business_day(m.at, w.tz) for m in w.record.customer_messages if m.proactive)
    if not days:
        return e.proactive_per_business_day.holds(0), "no proactive message"
    busiest, count = max(days.items(), key=lambda kv: (kv[1], kv[0]))
    bad = [f"{n} on {d:%a %d %b}" for d, n in sorted(days.items()) if not e.proactive_per_business_day.holds(n)]
    return not bad, "; ".join(bad) if bad else f"at most {count} a day ({busiest:%a %d %b})"


def _kinds(by_kind: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in by_kind.items()) or "none"


# each expectation class with the check that judges it (judge looks it up by the class)
_CHECKS: dict[type[BaseModel], Callable[[Any, _Walk], tuple[bool, str]]] = {
    Kickoff: _kickoff,
    FollowUps: _follow_ups,
    Escalated: _escalated,
    ReachesState: _reaches,
    CompletesMilestone: _completes,
    Messages: _messages,
    Humans: _humans,
    BusinessHoursOnly: _business_hours,
    ProactivePerBusinessDay: _per_day,
}
