"""The explorer's promise checks (lab/explore/promises.py) over hand-made walks: each promise
holds on a journey that keeps it and breaks, naming the step, on one that does not. Pure:
no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.playbook import OwnerAcknowledgement
from lab.explore.history import Attributes, Facts, SignalIn
from lab.explore.promises import Trace, check
from lab.explore.scenario import SHIPPED_PLAYBOOK
from lab.record import JourneyRecord, Touch
from lab.script import Note
from playbooks.loader import load_playbook

START = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)  # a Tuesday, 09:00 in Chicago
TZ = "America/Chicago"
BOOK = load_playbook(SHIPPED_PLAYBOOK).playbook


def at(hours: float = 0, minutes: float = 0) -> datetime:
    return START + timedelta(hours=hours, minutes=minutes)


def message(when: datetime, kind: str = "direction", proactive: bool = True, milestone: str = "first_action") -> Touch:
    return Touch(
        at=when, lane="customer", what="message", kind=kind, milestone=milestone, proactive=proactive, to="ana"
    )


def state(when: datetime, kind: str, milestone: str = "first_action", level: int = 0) -> Touch:
    return Touch(at=when, lane="system", what="state", kind=kind, milestone=milestone, level=level)


def escalation(when: datetime, level: int = 1, to: str = "maya") -> Touch:
    return Touch(at=when, lane="owner", what="escalation", kind="owner", milestone="first_action", level=level, to=to)


def signal(when: datetime, name: str, **body: Any) -> SignalIn:
    return SignalIn(at=when, name=name, body=body)


def trace(touches: list[Touch], signals: list[SignalIn] = (), **more: Any) -> Trace:  # type: ignore[assignment]
    record_fields = {k: more.pop(k) for k in ("status", "closed_at", "failure") if k in more}
    record = JourneyRecord(
        workflow_id="onboarding-LAB-t", started_at=START, timezone=TZ, touches=touches, **record_fields
    )
    facts = more.pop("facts", None) or Facts(signals=list(signals))
    if not facts.signals:
        facts.signals = list(signals)
    return Trace(record=record, playbook=BOOK, facts=facts, **more)


def promises(t: Trace) -> set[int]:
    return {b.promise for b in check(t)}


KEPT = [state(at(0), "awaiting_action"), message(at(0))]


def test_a_journey_that_keeps_every_promise_breaks_none():
    assert check(trace(KEPT)) == []


def test_1_a_failed_workflow_task_a_stuck_walk_or_a_silent_status_breaks_it():
    assert promises(trace(KEPT, facts=Facts(task_failures=["[TMPRL1101] Potential deadlock detected"]))) == {1}
    assert promises(trace(KEPT, stuck="the clock stopped")) == {1}
    silent = Note(at=at(2), lane="customer", text="takes x", status_problem="deadline exceeded")
    broken = check(trace(KEPT, notes=[silent]))
    assert [b.promise for b in broken] == [1] and "takes x" in broken[0].step


def test_2_a_failure_without_help_at_once_breaks_it():
    failed = signal(at(2), "action_failed", action="dataset_uploaded", event_id="f1")
    assert promises(trace(KEPT, [failed])) == {2}
    helped = [*KEPT, message(at(2, 0.1), kind="help", proactive=False)]
    assert promises(trace(helped, [failed])) == set()
    # the same event again is not a new failure
    again = signal(at(3), "action_failed", action="dataset_uploaded", event_id="f1")
    assert promises(trace(helped, [failed, again])) == set()


def test_2_identical_help_within_the_window_is_answered_by_the_help_just_sent():
    """A failure repeating the last help's action and reason within `help_coalesce_minutes` gets
    no second email (journey v3.10); another reason, or the window passed, must get help."""
    first = signal(at(2), "action_failed", action="dataset_uploaded", reason="no header", event_id="f1")
    helped = [*KEPT, message(at(2, 0.1), kind="help", proactive=False)]
    same = signal(at(2, 10), "action_failed", action="dataset_uploaded", reason="no header", event_id="f2")
    assert promises(trace(helped, [first, same])) == set()
    other = signal(at(2, 10), "action_failed", action="dataset_uploaded", reason="too large", event_id="f2")
    assert promises(trace(helped, [first, other])) == {2}
    later = signal(at(2, 31), "action_failed", action="dataset_uploaded", reason="no header", event_id="f2")
    assert promises(trace(helped, [first, later])) == {2}
    retried = [
        *helped,
        Touch(at=at(2, 5), lane="owner", what="staff", kind="resolve_escalation", detail="decision=retry by=maya"),
    ]
    assert promises(trace(retried, [first, same])) == {2}


def test_2_input_before_the_kickoff_is_answered_at_once_too():
    """Also while the kickoff waits for the owner's acknowledgement (journey v3.6)."""
    failed = signal(at(2), "action_failed", action="dataset_uploaded", event_id="f1")
    no_kickoff_yet = [state(at(0), "awaiting_action")]
    held = BOOK.model_copy(update={"owner_acknowledgement": OwnerAcknowledgement(hours=4, before_kickoff=True)})
    waiting = trace(no_kickoff_yet, [failed])
    waiting.playbook = held
    assert promises(waiting) == {2}
    waiting = trace([*no_kickoff_yet, message(at(2, 0.1), kind="help", proactive=False)], [failed])
    waiting.playbook = held
    assert promises(waiting) == set()


def test_2_a_help_request_without_an_escalation_breaks_it():
    asked = signal(at(2), "help_requested", event_id="h1")
    assert promises(trace(KEPT, [asked])) == {2}
    escalated = [*KEPT, escalation(at(2, 0.1)), state(at(2, 0.1), "escalated", level=1)]
    assert promises(trace(escalated, [asked])) == set()


def test_3_a_proactive_message_at_night_or_over_the_daily_cap_breaks_it():
    night = [*KEPT, message(at(10), kind="clarify")]  # 19:00 in Chicago
    assert promises(trace(night)) == {3}
    twice = [*KEPT, message(at(1), kind="clarify")]
    assert promises(trace(twice)) == {3}


def test_3_an_action_not_answered_at_once_breaks_it():
    took = signal(at(2), "action_taken", action="dataset_uploaded", event_id="t1")
    assert promises(trace(KEPT, [took])) == {3}
    moved = [*KEPT, state(at(2, 0.1), "awaiting_action", milestone="first_value")]
    assert promises(trace(moved, [took])) == set()
    # the walk's horizon ended the journey at that moment: nothing to ask of it
    assert promises(trace(KEPT, [took], closed_at=at(2), status="TERMINATED")) == set()


def test_4_a_message_after_a_cancel_or_an_unsubscribe_breaks_it():
    late = [*KEPT, message(at(24), kind="clarify")]
    assert promises(trace(late, [signal(at(5), "cancel", reason="lost")])) == {4}
    assert promises(trace(late, [signal(at(5), "unsubscribed", contact_hash="ab" * 8)])) == {4}


def test_5_no_due_time_while_running_breaks_it():
    facts = Facts(upserts=[Attributes(at=at(0), values={"OnboardingState": "awaiting_action", "NextActionDue": None})])
    assert promises(trace(KEPT, facts=facts)) == {5}
    waiting = {"state": "awaiting_action", "next_action": {"title": "x", "due_at": None}, "waiting_on": "customer"}
    assert promises(trace(KEPT, notes=[Note(at=at(1), lane="customer", text="takes x", status=waiting)])) == {5}
    # a pause is due for review too (journey v3.5): no exemption
    paused = {**waiting, "paused": True, "waiting_on": "staff (resume)"}
    assert promises(trace(KEPT, notes=[Note(at=at(1), lane="staff", text="pauses", status=paused)])) == {5}


def test_6_an_escalation_without_assignee_or_not_moving_up_breaks_it():
    nobody = [*KEPT, escalation(at(1), to="")]
    assert 6 in promises(trace(nobody, [signal(at(1), "help_requested", event_id="h")]))
    stays = [*KEPT, state(at(1), "escalated", level=1), escalation(at(1))]
    assert promises(trace(stays, closed_at=at(72), status="TERMINATED")) == {6}
    moves = [*stays, escalation(at(25), level=2, to="leo")]
    assert promises(trace(moves, closed_at=at(72), status="TERMINATED")) == {6}  # level 2 stays too
    assert promises(trace(moves, closed_at=at(30), status="TERMINATED")) == set()


def test_7_leaving_a_final_state_breaks_it():
    reopened = [*KEPT, state(at(1), "closed"), state(at(2), "awaiting_action")]
    assert promises(trace(reopened)) == {7}


def test_8_carried_state_over_its_bound_or_a_history_that_does_not_replay_breaks_it():
    assert promises(trace(KEPT, facts=Facts(carried_bytes=[500_000]))) == {8}
    assert promises(trace(KEPT, replay="nondeterminism: activity type mismatch")) == {8}


@pytest.mark.parametrize(("reported", "holds"), [(7200.0, True), (7260.0, False), (None, False)])
def test_9_time_to_first_action_is_the_completing_action_minus_the_start(reported, holds):
    took = signal(at(2), "action_taken", action="dataset_uploaded", event_id="t1")
    done = {"key": "first_action", "outcome": "completed", "finished_at": at(2).isoformat()}
    result = {"time_to_first_action_seconds": reported, "milestones": [done]}
    moved = [*KEPT, state(at(2, 0.1), "awaiting_action", milestone="first_value")]
    facts = Facts(signals=[took], result=result)
    assert (promises(trace(moved, facts=facts)) == set()) is holds
