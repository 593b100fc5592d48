"""Before (what the journey did) against after (what the candidate playbook does with the
same behaviour): messages, escalations, time to first action and to activation, the path."""

from __future__ import annotations

import statistics
from collections import Counter

from pydantic import BaseModel, Field

from lab.calendar import spoken
from lab.outcome import Outcome, outcome_of
from lab.record import JourneyRecord

COUNTERFACTUAL = (
    "This is a counterfactual: each journey below replays what its customer and staff really did, "
    "at the same times, through the candidate playbook. Customers told differently might have acted "
    "differently, so read it as what the candidate would have done to the same behaviour, not as a forecast."
)


class Mark(BaseModel):
    """One step of a journey's path: a customer message or an escalation, when it happened."""

    token: str  # "first_action.clarify", "escalation first_action"
    after_seconds: float
    # The customer's own signal fixes a reply's moment; anything else (a timer, staff) is
    # timed from the step before it. Compared that way, the latency a real worker adds to
    # each step does not pile up into a difference.
    pinned: bool = False
    since_previous: float = 0.0


class Side(BaseModel):
    outcome: Outcome
    path: list[Mark]


class Change(BaseModel):
    token: str
    before_seconds: float | None  # None: the candidate adds it
    after_seconds: float | None  # None: the candidate drops it


class JourneyDiff(BaseModel):
    workflow_id: str
    before: Side | None = None
    after: Side | None = None
    changes: list[Change] = Field(default_factory=list)
    unplaced: list[str] = Field(default_factory=list)
    problem: str | None = None

    @property
    def differs(self) -> bool:
        return bool(self.changes) or (
            self.before is not None and self.after is not None and self.before.outcome.state != self.after.outcome.state
        )


def side(record: JourneyRecord, horizon_seconds: float | None = None) -> Side:
    start = record.started_at
    marks: list[Mark] = []
    for t in record.touches:
        after = (t.at - start).total_seconds()
        if horizon_seconds is not None and after > horizon_seconds:
            continue
        if t.what == "message" and t.lane == "customer" and t.ok:
            token = f"{t.milestone}.{t.kind}"
        elif t.what == "escalation" and t.level == 1:
            token = f"escalation {t.milestone}"
        else:
            continue
        previous = marks[-1].after_seconds if marks else 0.0
        marks.append(
            Mark(token=token, after_seconds=after, pinned=t.cause == "customer", since_previous=after - previous)
        )
    return Side(outcome=outcome_of(record), path=marks)


def compare(
    workflow_id: str, before: JourneyRecord, after: JourneyRecord, tolerance_seconds: float, unplaced: list[str]
) -> JourneyDiff:
    b, a = side(before), side(after)
    changes: list[Change] = []
    # the n-th clarify before is matched with the n-th clarify after
    index_b, index_a = _occurrences(b.path), _occurrences(a.path)
    # Latency: what a real worker added to the steps that did not change. Discounted, so
    # a step is "moved" only when the playbook (or the behaviour) moved it.
    latency = 0.0
    for key in sorted(
        set(index_b) | set(index_a), key=lambda k: min(m.after_seconds for m in (index_b.get(k), index_a.get(k)) if m)
    ):
        mb, ma = index_b.get(key), index_a.get(key)
        if mb is None or ma is None:
            changes.append(
                Change(token=key[0], before_seconds=mb and mb.after_seconds, after_seconds=ma and ma.after_seconds)
            )
            continue
        shift = mb.after_seconds - ma.after_seconds
        if mb.pinned and ma.pinned:
            moved, latency = abs(shift), shift
        else:
            step = mb.since_previous - ma.since_previous
            if abs(step) <= tolerance_seconds:
                latency += step
            moved = max(abs(step), abs(shift - latency))
        if moved > tolerance_seconds:
            changes.append(Change(token=key[0], before_seconds=mb.after_seconds, after_seconds=ma.after_seconds))
    return JourneyDiff(workflow_id=workflow_id, before=b, after=a, changes=changes, unplaced=unplaced)


def _occurrences(path: list[Mark]) -> dict[tuple[str, int], Mark]:
    count: Counter[str] = Counter()
    found = {}
    for mark in path:
        found[(mark.token, count[mark.token])] = mark
        count[mark.token] += 1
    return found


class Totals(BaseModel):
    """The aggregate, kept as running counts (bounded memory however many journeys)."""

    journeys: int = 0
    differing: int = 0
    problems: int = 0
    messages_before: int = 0
    messages_after: int = 0
    follow_ups_before: int = 0
    follow_ups_after: int = 0
    escalations_before: int = 0
    escalations_after: int = 0
    activated_before: int = 0
    activated_after: int = 0
    first_action_before: list[float] = Field(default_factory=list)
    first_action_after: list[float] = Field(default_factory=list)
    activation_before: list[float] = Field(default_factory=list)
    activation_after: list[float] = Field(default_factory=list)
    unplaced: dict[str, int] = Field(default_factory=dict)

    def add(self, diff: JourneyDiff) -> None:
        self.journeys += 1
        if diff.problem:
            self.problems += 1
            return
        assert diff.before and diff.after
        self.differing += diff.differs
        b, a = diff.before.outcome, diff.after.outcome
        self.messages_before += b.messages
        self.messages_after += a.messages
        self.follow_ups_before += b.follow_ups
        self.follow_ups_after += a.follow_ups
        self.escalations_before += b.escalations
        self.escalations_after += a.escalations
        self.activated_before += b.activated_after_seconds is not None
        self.activated_after += a.activated_after_seconds is not None
        # medians need the values; 8 bytes a journey, a million journeys in 16 MB
        for values, value in (
            (self.first_action_before, b.first_action_after_seconds),
            (self.first_action_after, a.first_action_after_seconds),
            (self.activation_before, b.activated_after_seconds),
            (self.activation_after, a.activated_after_seconds),
        ):
            if value is not None:
                values.append(value)
        for name in diff.unplaced:
            self.unplaced[name] = self.unplaced.get(name, 0) + 1

    def lines(self) -> list[str]:
        def med(values: list[float]) -> str:
            return spoken(statistics.median(values)) if values else "-"

        lines = [
            f"{self.journeys} journeys replayed; {self.differing} would take a different path"
            + (f"; {self.problems} could not be replayed" if self.problems else ""),
            f"customer messages: {self.messages_before} -> {self.messages_after} ({self.messages_after - self.messages_before:+d}); "
            f"follow-ups {self.follow_ups_before} -> {self.follow_ups_after} ({self.follow_ups_after - self.follow_ups_before:+d})",
            f"escalations (humans needed): {self.escalations_before} -> {self.escalations_after} ({self.escalations_after - self.escalations_before:+d})",
            f"time to first action (median): {med(self.first_action_before)} -> {med(self.first_action_after)}",
            f"activated: {self.activated_before} -> {self.activated_after}; time to activation (median): "
            f"{med(self.activation_before)} -> {med(self.activation_after)}",
        ]
        if self.unplaced:
            listed = ", ".join(f"{name} x{n}" for name, n in Counter(self.unplaced).most_common(10))
            lines.append(f"behaviour the candidate cannot place: {sum(self.unplaced.values())} ({listed})")
        return lines


def describe(diff: JourneyDiff) -> str:
    if diff.problem:
        return f"{diff.workflow_id}: could not be replayed: {diff.problem}"
    assert diff.before and diff.after
    b, a = diff.before.outcome, diff.after.outcome
    head = (
        f"{diff.workflow_id}: {'path differs' if diff.differs else 'unchanged'}; messages {b.messages} -> {a.messages}, "
        f"escalations {b.escalations} -> {a.escalations}, first action {spoken(b.first_action_after_seconds)} -> "
        f"{spoken(a.first_action_after_seconds)}, activated {spoken(b.activated_after_seconds)} -> {spoken(a.activated_after_seconds)}, "
        f"state {b.state} -> {a.state}"
    )
    lines = [head]
    for c in diff.changes:
        before = "none" if c.before_seconds is None else f"at {_offset(c.before_seconds)}"
        after = "none" if c.after_seconds is None else f"at {_offset(c.after_seconds)}"
        lines.append(f"    {c.token}: {before} -> {after}")
    for u in diff.unplaced:
        lines.append(f"    cannot place: {u}")
    return "\n".join(lines)


def _offset(seconds: float) -> str:
    """+3d 4h after the start; sub-minute offsets (recorded on a fast clock) in seconds."""
    return f"+{seconds:.1f}s" if seconds < 120 else f"+{spoken(seconds)}"
