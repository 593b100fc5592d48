"""The journey's promises (docs/lab.md, "The explorer's contract"), checked over what one walk
recorded: the journey's record (lab/record.py), the facts of its history (history.py), the
`status` it answered after each step, and whether it got stuck or failed to replay. Pure
functions: a test builds a trace by hand and sees a promise hold or break."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from contracts.playbook import Playbook
from lab.calendar import business_day, in_business_hours, shown
from lab.explore.history import Facts, SignalIn
from lab.record import JourneyRecord, Touch
from lab.script import Note

# "At once": within the same minute of virtual time (a reply takes a workflow task and an
# activity, which the time-skipping server runs without moving the clock much).
AT_ONCE = timedelta(minutes=1)
# Both ends of a move: a message and the signal that ended it may share a moment.
SAME_MOMENT = timedelta(seconds=1)
# README: "largest carried state ... (bound: 400 KB)"
CARRIED_BOUND = 400_000
FINAL = ("activated", "closed")
STATES = ("awaiting_action", "clarifying", "escalated", "activated", "closed")

TITLES = {
    1: "no workflow task fails, no deadlock; `status` answers at every step",
    2: "a failed attempt gets help at once; a help request escalates at once (or joins the open escalation)",
    3: "proactive messages only inside business hours and within the daily cap; replies at once",
    4: "nothing reaches the customer after a cancel or the journey's end, nor after an unsubscribe",
    5: "while running, the journey waits on someone with a due time (status.next_action, NextActionDue)",
    6: "every escalation has an assignee at each level and moves up at its SLA unless decided",
    7: "only the state machine's transitions; activated and closed are final",
    8: "carried state within its bound; every history replays on the current worker",
    9: "time to first action is the customer's first completing action minus the start",
}


class Trace(BaseModel):
    """What one walk recorded, as the promises read it."""

    record: JourneyRecord
    playbook: Playbook  # as the journey ran it (its variant applied)
    facts: Facts = Field(default_factory=Facts)
    notes: list[Note] = Field(default_factory=list)  # the persona's steps, with `status` after each
    stuck: str = ""
    replay: str = ""


class Broken(BaseModel):
    promise: int
    step: str  # where it broke: a step of the walk, a moment, or "at the end"
    detail: str

    @property
    def title(self) -> str:
        return TITLES[self.promise]

    def __str__(self) -> str:
        return f"promise {self.promise} ({self.title}) broken {self.step}: {self.detail}"


def _when(t: Trace, moment: datetime) -> str:
    local, utc = shown(moment, t.record.timezone)
    return f"at {local} {t.record.timezone} ({utc})"


def _step(t: Trace, note: Note) -> str:
    return f"after step '{note.text}' {_when(t, note.at)}"


# ------------------------------------------------------------------ the journey as it moved


class Moment(BaseModel):
    """The journey's condition just before a moment (from its record)."""

    state: str = "awaiting_action"
    milestone: str = ""
    paused: bool = False
    ended: bool = False


def cut_short(t: Trace, moment: datetime) -> bool:
    """The walk ended (its horizon) before `at once` after this moment had passed."""
    return t.record.closed_at is not None and t.record.closed_at < moment + AT_ONCE


def condition(t: Trace, moment: datetime) -> Moment:
    now = Moment(milestone=t.playbook.milestones[0].key)
    for touch in t.record.touches:
        if touch.at >= moment:
            break
        if touch.what == "state":
            now.state, now.milestone = touch.kind or now.state, touch.milestone or now.milestone
        elif touch.what == "staff" and touch.kind in ("pause", "resume"):
            now.paused = touch.kind == "pause"
    now.ended = t.record.closed_at is not None and t.record.closed_at <= moment
    return now


def _events(book: Playbook, key: str, alternates: bool = True) -> list[str]:
    milestone = next((m for m in book.milestones if m.key == key), None)
    if milestone is None:
        return []
    return milestone.events() if alternates else list(milestone.action.events)


def fresh_customer_signals(t: Trace) -> Iterable[tuple[SignalIn, bool]]:
    """Each customer signal with whether it is new (a repeated event id is the same event)."""
    seen: set[str] = set()
    for signal in t.facts.signals:
        if signal.name not in ("action_taken", "action_failed", "help_requested"):
            continue
        event_id = str(signal.body.get("event_id", ""))
        yield signal, event_id not in seen
        seen.add(event_id)


def _first(signals: list[SignalIn], name: str) -> datetime | None:
    return next((s.at for s in signals if s.name == name), None)


def _within(touches: Iterable[Touch], start: datetime, span: timedelta, match: Callable[[Touch], bool]) -> bool:
    return any(start - SAME_MOMENT <= x.at <= start + span and match(x) for x in touches)


def _moved_on(milestone: str, x: Touch) -> bool:
    return x.what == "state" and (x.milestone != milestone or x.kind == "activated")


def _at_level(level: int, x: Touch) -> bool:
    return x.level == level


# ------------------------------------------------------------------ the promises


def no_stuck_journey(t: Trace) -> list[Broken]:
    out = []
    if t.stuck:
        out.append(Broken(promise=1, step="during the walk", detail=t.stuck))
    out += [
        Broken(promise=1, step="during the walk", detail=f"workflow task failed: {f}")
        for f in dict.fromkeys(t.facts.task_failures)  # a task that failed alike twice: once
        if f not in t.stuck  # named there already
    ]
    if t.record.status == "FAILED":
        out.append(Broken(promise=1, step="at the end", detail=f"the journey failed: {t.record.failure}"))
    for note in t.notes:
        # A status asked while the server re-runs a task (a signal met a continue-as-new)
        # waits on the clock the asking step holds: the lab's limit, not the journey's.
        if note.status_problem and not (t.facts.retried_tasks and "timed out" in note.status_problem.lower()):
            out.append(Broken(promise=1, step=_step(t, note), detail=f"`status` did not answer: {note.status_problem}"))
    return out


def _starts_over(x: Touch) -> bool:
    """A staff decision that starts the milestone's conversation over (retry, reassign)."""
    decided = x.what == "staff" and x.kind == "resolve_escalation"
    return decided and ("decision=retry" in x.detail or "decision=reassign" in x.detail)


def _help_just_sent(t: Trace, signal: SignalIn, milestone: str) -> bool:
    """Whether the last help before this failed attempt answered the same action failing for
    the same reason, within the milestone's `help_coalesce_minutes`: the journey does not
    send it again (journey v3.10)."""
    m = next((m for m in t.playbook.milestones if m.key == milestone), None)
    if m is None or not m.help_coalesce_minutes:
        return False
    helps = [
        x.at
        for x in t.record.touches
        if x.what == "message" and x.lane == "customer" and x.kind == "help" and x.at <= signal.at
    ]
    if not helps or helps[-1] <= signal.at - timedelta(minutes=m.help_coalesce_minutes):
        return False
    if any(_starts_over(x) and helps[-1] <= x.at <= signal.at for x in t.record.touches):
        return False  # a retry or reassignment since starts the milestone's help over
    answered = [
        s for s, fresh in fresh_customer_signals(t) if fresh and s.name == "action_failed" and s.at <= helps[-1]
    ]
    same = ("action", "reason")
    return (
        bool(answered)
        and answered[-1] is not signal
        and all(answered[-1].body.get(k) == signal.body.get(k) for k in same)
    )


def help_at_once(t: Trace) -> list[Broken]:
    out = []
    unsubscribed = _first(t.facts.signals, "unsubscribed")
    for signal, fresh in fresh_customer_signals(t):
        now = condition(t, signal.at)
        if not fresh or now.ended or now.paused or now.state in FINAL or cut_short(t, signal.at):
            continue
        if unsubscribed is not None and unsubscribed <= signal.at:
            continue  # no email any more: the owner is the touchpoint
        if signal.name == "action_failed":
            action = str(signal.body.get("action", ""))
            if now.state == "escalated" or action not in _events(t.playbook, now.milestone):
                continue  # a human has it already; or it is not this milestone's action
            if _help_just_sent(t, signal, now.milestone):
                continue  # the same failure's help went out minutes ago: not sent twice (v3.10)
            if not _within(
                t.record.touches,
                signal.at,
                AT_ONCE,
                lambda x: (x.what == "message" and x.lane == "customer" and x.kind == "help") or x.what == "escalation",
            ):
                out.append(
                    Broken(
                        promise=2,
                        step=f"after the failed attempt at {action} {_when(t, signal.at)}",
                        detail=f"no help message and no escalation within {AT_ONCE} ({now.state}, {now.milestone})",
                    )
                )
        elif (
            signal.name == "help_requested"
            and now.state != "escalated"
            and not _within(t.record.touches, signal.at, AT_ONCE, lambda x: x.what == "escalation")
        ):
            out.append(
                Broken(
                    promise=2,
                    step=f"after the help request {_when(t, signal.at)}",
                    detail=f"no escalation within {AT_ONCE} ({now.state}, {now.milestone})",
                )
            )
    return out


def business_hours_and_cap(t: Trace) -> list[Broken]:
    hours, tz, out = t.playbook.business_hours, t.record.timezone, []
    # A message in the minute after the customer's own signal answers it, whichever run sent
    # it (the record cannot follow the cause across a continue-as-new).
    acted = [s.at for s, fresh in fresh_customer_signals(t) if fresh]
    proactive = [
        m for m in t.record.customer_messages if m.proactive and not any(a <= m.at <= a + AT_ONCE for a in acted)
    ]
    for m in proactive:
        if not in_business_hours(m.at, tz, hours):
            out.append(
                Broken(
                    promise=3,
                    step=_when(t, m.at),
                    detail=f"proactive {m.kind} [{m.milestone}] outside {hours.start:%H:%M}-{hours.end:%H:%M} {'/'.join(hours.days)}",
                )
            )
    for day, n in sorted(Counter(business_day(m.at, tz) for m in proactive).items()):
        if n > hours.proactive_per_day:
            out.append(
                Broken(
                    promise=3,
                    step=f"on {day:%a %d %b %Y}",
                    detail=f"{n} proactive messages; the daily cap is {hours.proactive_per_day}",
                )
            )
    for signal, fresh in fresh_customer_signals(t):
        if signal.name != "action_taken" or not fresh:
            continue
        now = condition(t, signal.at)
        if now.ended or now.paused or now.state in FINAL or cut_short(t, signal.at):
            continue
        if str(signal.body.get("action", "")) not in _events(t.playbook, now.milestone, alternates=False):
            continue
        moved = _within(t.record.touches, signal.at, AT_ONCE, functools.partial(_moved_on, now.milestone))
        if not moved:
            out.append(
                Broken(
                    promise=3,
                    step=f"after the customer took {signal.body.get('action')} {_when(t, signal.at)}",
                    detail=f"the journey did not move on from {now.milestone} within {AT_ONCE}",
                )
            )
    return out


def silence_after_the_end(t: Trace) -> list[Broken]:
    out = []
    for name, why in (("cancel", "the cancel"), ("unsubscribed", "the unsubscribe")):
        since = _first(t.facts.signals, name)
        if since is None:
            continue
        late = [m for m in t.record.customer_messages if m.at > since + SAME_MOMENT]
        if late:
            m = late[0]
            out.append(
                Broken(
                    promise=4,
                    step=_when(t, m.at),
                    detail=f"{m.kind} [{m.milestone}] to {m.to} after {why} {_when(t, since)}",
                )
            )
    end = t.record.closed_at if t.record.status == "COMPLETED" else None
    if end is not None and (late := [x for x in t.record.touches if x.what == "message" and x.at > end]):
        out.append(Broken(promise=4, step=_when(t, late[0].at), detail=f"{late[0].kind} after the journey ended"))
    return out


def always_waiting_on_someone(t: Trace) -> list[Broken]:
    out = []
    for upsert in t.facts.upserts:
        state = upsert.values.get("OnboardingState")
        if state and state not in FINAL and not upsert.values.get("NextActionDue"):
            out.append(
                Broken(
                    promise=5,
                    step=_when(t, upsert.at),
                    detail=f"NextActionDue empty while {state} ({upsert.values.get('OnboardingStage', '')})",
                )
            )
            break  # the first says where; the rest follow from it
    for note in t.notes:
        status = note.status or {}
        if status.get("state") in (None, *FINAL):
            continue
        action: dict[str, Any] = status.get("next_action") or {}
        if not action.get("due_at"):
            out.append(
                Broken(
                    promise=5,
                    step=_step(t, note),
                    detail=f"status.next_action has no due time while {status.get('state')} "
                    f"(waiting on {status.get('waiting_on')}: {status.get('reason')})",
                )
            )
            break
    return out


def escalations_move_up(t: Trace) -> list[Broken]:
    out = []
    policy = t.playbook.escalation
    top, sla = len(policy.levels), timedelta(hours=policy.sla_hours.nominal_hours)
    decided_by = [x.at for x in t.record.touches if x.what == "staff"]
    decided_by += [s.at for s in t.facts.signals if s.name in ("action_taken", "cancel")]
    for e in t.record.escalations:
        if not e.to:
            out.append(Broken(promise=6, step=_when(t, e.at), detail=f"escalation level {e.level} has no assignee"))
        if e.level >= top:
            continue
        due = e.at + sla
        end = t.record.closed_at
        if end is None or end <= due + AT_ONCE or any(e.at <= d <= due for d in decided_by):
            continue
        if any(
            x.at <= due + AT_ONCE and x.at >= e.at
            for x in t.record.touches
            if x.what == "state" and x.kind != "escalated"
        ):
            continue  # it ended some other way
        if not _within(t.record.escalations, due, AT_ONCE, functools.partial(_at_level, e.level + 1)):
            out.append(
                Broken(
                    promise=6,
                    step=_when(t, due),
                    detail=f"escalation level {e.level} of {_when(t, e.at)} did not move up at its SLA ({policy.sla_hours})",
                )
            )
    return out


def state_machine(t: Trace) -> list[Broken]:
    out, final = [], None
    for x in t.record.touches:
        if x.what != "state":
            continue
        if x.kind not in STATES:
            out.append(Broken(promise=7, step=_when(t, x.at), detail=f"unknown state {x.kind!r}"))
        elif final is not None and x.kind != final:
            out.append(
                Broken(promise=7, step=_when(t, x.at), detail=f"{final} is final, yet the journey moved to {x.kind}")
            )
            break
        elif x.kind in FINAL:
            final = x.kind
        if x.level > len(t.playbook.escalation.levels):
            out.append(
                Broken(
                    promise=7, step=_when(t, x.at), detail=f"escalation level {x.level} beyond the playbook's levels"
                )
            )
    return out


def bounded_and_replayable(t: Trace) -> list[Broken]:
    out = [
        Broken(promise=8, step=f"at continue-as-new {i + 1}", detail=f"carried {n:,} bytes (bound {CARRIED_BOUND:,})")
        for i, n in enumerate(t.facts.carried_bytes)
        if n > CARRIED_BOUND
    ]
    if t.replay:
        out.append(Broken(promise=8, step="at the end", detail=f"the history does not replay: {t.replay}"))
    return out


def time_to_first_action(t: Trace) -> list[Broken]:
    result = t.facts.result
    if not result:
        return []
    reported = result.get("time_to_first_action_seconds")
    first = t.playbook.milestones[0]
    done = next((m for m in result.get("milestones", []) if m.get("key") == first.key), None)
    completed = done is not None and done.get("outcome") == "completed"
    if not completed:
        if reported is not None:
            return [
                Broken(
                    promise=9, step="at the end", detail=f"{reported:g} s reported, but {first.key} was not completed"
                )
            ]
        return []
    assert done is not None
    finished = datetime.fromisoformat(str(done["finished_at"]))
    acted = [
        s.at
        for s, fresh in fresh_customer_signals(t)
        if fresh
        and s.name == "action_taken"
        and s.body.get("action") in first.events()
        and s.at <= finished + SAME_MOMENT
    ]
    if not acted:
        return []  # completed without a signal of ours (cannot tell which): nothing to compare
    expected = (acted[-1] - t.record.started_at).total_seconds()
    if reported is None or abs(reported - expected) > SAME_MOMENT.total_seconds():
        return [
            Broken(
                promise=9,
                step="at the end",
                detail=f"time to first action {reported} s; the customer's completing action came {expected:g} s after the start",
            )
        ]
    return []


CHECKS: tuple[Callable[[Trace], list[Broken]], ...] = (
    no_stuck_journey,
    help_at_once,
    business_hours_and_cap,
    silence_after_the_end,
    always_waiting_on_someone,
    escalations_move_up,
    state_machine,
    bounded_and_replayable,
    time_to_first_action,
)


def check(t: Trace, skip: Iterable[int] = ()) -> list[Broken]:
    """Every promise not in `skip`, in order; what broke, first breach of each first."""
    skipped = set(skip)
    found = [b for fn in CHECKS for b in fn(t)]
    return sorted((b for b in found if b.promise not in skipped), key=lambda b: b.promise)
