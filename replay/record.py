"""`make histories`: record the replay corpus from real runs on a Temporal dev server.

    python -m replay.record [--version v2] [--only cancel clarify-chain ...]

Each scenario drives one journey down one path that matters and saves its history (every
run of it, for continue-as-new) as `tests/histories/<version>/<scenario>[.runN].json`.
Older versions' folders are never touched: they keep proving that journeys started on
old code still replay.

Journeys run on the dev server's real clock, so the recording playbook opens business
hours around the clock and, where a path needs a window or an SLA to run out, shrinks it
to seconds; the scenarios about a business-hours hold set hours that are closed at the time
of recording (computed from the customer's wall clock then). A scenario that continues as
new in a wait (`suggest_continue_as_new_after`) runs on a dev server of its own and grows
its history one product event at a time until the journey hands over, so it records the
same number of runs every time. Every kind of wait is recorded (tests/replay/test_wait_kinds.py). The playbook snapshot is part of each history, so replay needs nothing else.
Every step waits (bounded polling on the `status` query) for the state the previous one
should have produced, so a rerun takes the same path and yields histories with the same
commands in the same order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import sysconfig
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog
import yaml
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionResponse
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from activities.settings import ActivitySettings
from contracts.deal import sample_deal_body
from contracts.journey import JourneyInput, workflow_id_for
from contracts.playbook import WEEKDAYS
from contracts.search_attributes import ALL
from contracts.status import OnboardingState, Status
from lab import drive
from lab.drive import run_histories
from playbooks.loader import DEFAULT_DIR

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "histories"
# The corpus folder new recordings go to. Bump it with every new workflow version (patch).
VERSION = "v3.10"
SECOND = 1 / 3600  # playbook durations are in hours
WAIT_SECONDS = 30.0

Change = Callable[[dict[str, Any]], None]


def recording_playbook(change: Change | None = None) -> dict[str, Any]:
    """The default playbook with business hours around the clock (the dev server runs on
    the real clock), a daily cap that never holds a message back and, unless a scenario is
    about it, no owner-acknowledgement wait."""
    data = yaml.safe_load((DEFAULT_DIR / "default.yaml").read_text())
    data["business_hours"] = {
        "start": "00:00",
        "end": "23:59:59",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "proactive_per_day": 10,
    }
    data["owner_acknowledgement"] = {"hours": 0}
    if change:
        change(data)
    return data


def deal_body(deal_id: str, **overrides: Any) -> dict[str, Any]:
    body = sample_deal_body(deal_id=deal_id)
    body.update(overrides)
    return body


def busy(description: DescribeWorkflowExecutionResponse) -> bool:
    """A workflow task or an activity of the journey is scheduled or running."""
    return description.HasField("pending_workflow_task") or bool(description.pending_activities)


class Journey:
    """One recorded journey: signals, updates and bounded waits on its status."""

    def __init__(self, handle: WorkflowHandle, scenario: str) -> None:
        self.handle = handle
        self.scenario = scenario
        self.runs: set[str] = {handle.first_execution_run_id or handle.result_run_id or ""}

    async def status(self) -> Status:
        return await drive.status(self.handle)

    async def wait(self, done: Callable[[Status], bool], what: str) -> Status:
        try:
            reached = await drive.wait_until(self.handle, done, seconds=WAIT_SECONDS, what=what)
        except drive.NeverReached as err:
            raise RuntimeError(f"{self.scenario}: {err}") from None
        await self.settled(what)
        return reached

    async def settled(self, what: str) -> None:
        """Until neither a workflow task nor an activity of the journey is in flight (the moments
        written after a step, since v3.9 by a regular activity, are scheduled by a workflow task
        that may still be running when `status` already shows the step): the next input then
        lands after them in every recording, never before them in one and after in another."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        while busy((await self.handle.describe()).raw_description):
            if loop.time() > deadline:
                raise RuntimeError(f"{self.scenario}: activities still in flight after '{what}'")
            await asyncio.sleep(0.05)

    async def signal(self, name: str, payload: dict[str, Any]) -> None:
        # "workflow is closing": it is handing over to a new run; a producer tries again
        await drive.signal_patiently(self.handle, name, [payload])

    async def update(self, name: str, payload: dict[str, Any]) -> Status:
        return await self.handle.execute_update(name, payload, result_type=Status)

    async def update_refused(self, name: str, payload: dict[str, Any]) -> None:
        try:
            await self.update(name, payload)
        except WorkflowUpdateFailedError:
            return
        raise RuntimeError(f"{self.scenario}: update {name} {payload} was expected to fail")

    # the waits every scenario uses
    async def told(self, stage: str) -> Status:
        return await self.wait(drive.told(stage), f"direction for {stage}")

    async def escalated(self, level: int = 1) -> Status:
        return await self.wait(
            lambda s: drive.escalated(s) and s.escalation_level == level, f"escalated, level {level}"
        )

    async def next_run(self) -> None:
        """Wait (bounded) until the journey has continued as new since the last call."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        client = self.handle._client
        while (run_id := (await client.get_workflow_handle(self.handle.id).describe()).run_id) in self.runs:
            if loop.time() > deadline:
                raise RuntimeError(f"{self.scenario}: the journey never continued as new")
            await asyncio.sleep(0.05)
        self.runs.add(run_id)

    async def timers(self, count: int, what: str) -> None:
        """Wait (bounded) until the journey has started `count` timers (history events)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        while True:
            history = await self.handle.fetch_history()
            if sum(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in history.events) >= count:
                return
            if loop.time() > deadline:
                raise RuntimeError(f"{self.scenario}: never reached '{what}'")
            await asyncio.sleep(0.05)

    async def hold_timer(self, step: str, what: str, count: int = 1) -> None:
        """Wait (bounded) until the journey has started `count` timers holding `step` for
        business hours or the cap (their summary says so): counting every timer, another
        one started first (a change on the hold path) passed for the hold's, and the
        scenario ended before the hold was recorded."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        prefix = f'"hold the {step} for business hours'.encode()
        while True:
            history = await self.handle.fetch_history()
            started = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED]
            if sum(e.user_metadata.summary.data.startswith(prefix) for e in started) >= count:
                return
            if loop.time() > deadline:
                raise RuntimeError(f"{self.scenario}: never reached '{what}'")
            await asyncio.sleep(0.05)

    async def seen(self, event: str, count: int = 1) -> Status:
        return await self.wait(lambda s: sum(e.event == event for e in s.timeline) >= count, f"{count}x {event}")

    async def cancel(self) -> None:
        await self.signal("cancel", {"reason": "recording over"})


@dataclass
class Scenario:
    name: str
    drive: Callable[[Journey], Awaitable[None]]
    playbook: Change | None = None
    deal: dict[str, Any] = field(default_factory=dict)
    input: dict[str, Any] = field(default_factory=dict)
    deal_in_input: bool = True  # False: the deal details arrive later by signal
    # Recorded on a dev server of its own that suggests continue-as-new past this many events
    # (production suggests it at 4,096), for paths that hand over to a new run in a long wait.
    suggest_continue_as_new_after: int | None = None


# ------------------------------------------------------------------ the paths that matter


async def _advance(j: Journey) -> None:
    await j.told("first_action")
    await j.signal("action_taken", {"action": "dataset_uploaded", "event_id": "e-1"})
    await j.told("first_value")
    await j.signal("action_taken", {"action": "dashboard_shared", "event_id": "e-2"})
    await j.told("expansion_check")
    await j.signal("action_taken", {"action": "teammates_invited", "event_id": "e-3"})


async def _advance_across_runs(j: Journey) -> None:
    """As `_advance`, each action sent once the journey has continued as new after telling
    the customer: the recording then has the same runs every time."""
    for stage, action, event_id in [
        ("first_action", "dataset_uploaded", "e-1"),
        ("first_value", "dashboard_shared", "e-2"),
        ("expansion_check", "teammates_invited", "e-3"),
    ]:
        await j.told(stage)
        await j.next_run()
        await j.signal("action_taken", {"action": action, "event_id": event_id})


def _short_first_milestone(data: dict[str, Any]) -> None:
    first = data["milestones"][0]
    first["window_hours"] = 2 * SECOND
    for follow_up in first["follow_ups"]:
        follow_up["wait_hours"] = 1 * SECOND


async def _clarify_chain(j: Journey) -> None:
    # window -> clarify -> simplify -> redirect -> escalated; the customer then takes the
    # redirect's easier path while a human is deciding
    await j.escalated()
    await j.signal("action_taken", {"action": "setup_call_booked", "event_id": "e-1"})
    await j.told("first_value")
    await j.cancel()


def _short_sla(data: dict[str, Any]) -> None:
    data["escalation"]["sla_hours"] = 1 * SECOND


async def _help(j: Journey) -> None:
    await j.told("first_action")
    await j.signal("help_requested", {"message": "stuck on SSO", "event_id": "h-1"})
    await j.escalated()


async def _escalation_sla(j: Journey) -> None:
    await _help(j)
    await j.escalated(level=3)  # unanswered: owner -> backup -> manager
    await j.update("resolve_escalation", {"decision": "retry", "by": "dana"})
    await j.told("first_action")
    await j.cancel()


async def _escalation_retry(j: Journey) -> None:
    await _help(j)
    await j.update("resolve_escalation", {"decision": "retry", "by": "maya", "note": "new contact"})
    await j.told("first_action")
    await j.cancel()


async def _escalation_skip(j: Journey) -> None:
    await _help(j)
    await j.update("resolve_escalation", {"decision": "skip", "by": "maya", "note": "done offline"})
    await j.told("first_value")
    await j.cancel()


async def _escalation_reassign(j: Journey) -> None:
    await _help(j)
    await j.update_refused("resolve_escalation", {"decision": "reassign", "owner": "nobody", "by": "dana"})
    await j.update("resolve_escalation", {"decision": "reassign", "owner": "maya", "by": "dana"})
    await j.wait(
        lambda s: s.owner == "maya" and s.next_action is not None and s.next_action.due_at is not None, "maya owns it"
    )
    await j.cancel()


async def _escalation_close(j: Journey) -> None:
    await _help(j)
    await j.update("resolve_escalation", {"decision": "close", "by": "dana", "note": "churned"})


async def _failed_attempts(j: Journey) -> None:
    await j.told("first_action")
    failure = {"action": "dataset_uploaded", "reason": "CSV has no header", "event_id": "f-1"}
    await j.signal("action_failed", failure)
    await j.seen("sent help")
    await j.signal("action_failed", failure)  # the product retried its delivery
    await j.seen("duplicate event ignored")
    await j.signal("action_failed", {**failure, "event_id": "f-2"})
    await j.escalated()
    await j.cancel()


async def _help_then_action(j: Journey) -> None:
    await _help(j)
    await j.signal("action_taken", {"action": "database_connected", "event_id": "e-9"})
    await j.told("first_value")
    await j.cancel()


async def _cancel(j: Journey) -> None:
    await j.told("first_action")
    await j.signal("cancel", {"reason": "deal lost"})


async def _cancel_request(j: Journey) -> None:
    """Temporal's own cancel (the Web UI's Request Cancellation) while the customer is told:
    from v3.8 the journey closes as the `cancel` signal closes it."""
    await j.told("first_action")
    await j.handle.cancel(reason="deal lost")  # its sender is read from the history


async def _high_value(j: Journey) -> None:
    await j.escalated()
    await j.update("resolve_escalation", {"decision": "retry", "by": "maya", "note": "reviewed"})
    await j.told("first_action")
    await j.cancel()


async def _deal_details_late(j: Journey) -> None:
    await j.wait(lambda s: s.reason == "starting: waiting for deal details", "waiting for deal details")
    await j.signal("deal_closed", deal_body(j.handle.id.removeprefix("onboarding-")))
    await j.told("first_value")  # the action that came first completes the first milestone
    await j.cancel()


async def _staff_reassign_owner(j: Journey) -> None:
    await j.told("first_action")
    await j.update("reassign_owner", {"owner": "maya", "by": "dana", "note": "vacation"})
    await j.signal("action_taken", {"action": "dataset_uploaded", "event_id": "e-1"})
    await j.told("first_value")
    await j.cancel()


async def _staff_extend_deadline(j: Journey) -> None:
    told = await j.told("first_action")
    assert told.next_action is not None and told.next_action.due_at is not None
    until = told.next_action.due_at + timedelta(days=2)
    await j.update("extend_deadline", {"until": until.isoformat(), "by": "maya", "note": "customer travelling"})
    await j.wait(lambda s: s.next_action is not None and s.next_action.due_at == until, "new due time")
    await j.cancel()


async def _staff_pause_resume(j: Journey) -> None:
    await j.told("first_action")
    await j.update("pause", {"by": "maya", "reason": "contract review"})
    await j.wait(lambda s: s.paused and s.reason.startswith("paused by maya"), "paused")
    await j.update("resume", {"by": "maya"})
    await j.wait(lambda s: not s.paused and s.reason == "resumed", "resumed")
    await j.signal("action_taken", {"action": "dataset_uploaded", "event_id": "e-1"})
    await j.told("first_value")
    await j.cancel()


def _acknowledgement_hours(hours: float, before_kickoff: bool = True) -> Change:
    def change(data: dict[str, Any]) -> None:
        data["owner_acknowledgement"] = {"hours": hours, "before_kickoff": before_kickoff}

    return change


async def _owner_acknowledges_beside_kickoff(j: Journey) -> None:
    told = await j.told("first_action")  # at once, without waiting for the owner
    if told.owner != "leo":
        raise RuntimeError(f"{j.scenario}: unexpected owner {told}")
    await j.signal("owner_acknowledged", {"by": "leo"})
    await j.seen("owner acknowledged")
    await j.signal("action_taken", {"action": "dataset_uploaded", "event_id": "e-1"})
    await j.told("first_value")
    await j.cancel()


async def _owner_silent_beside_kickoff(j: Journey) -> None:
    await j.told("first_action")
    replaced = await j.wait(lambda s: s.owner == "maya", "the silent owner replaced")
    if sum(e.event == "sent direction" for e in replaced.timeline) != 1:
        raise RuntimeError(f"{j.scenario}: the customer was told twice: {replaced}")
    await j.cancel()


async def _unsubscribe(j: Journey) -> None:
    await j.told("first_action")
    await j.signal("unsubscribed", {"contact_hash": "0123456789abcdef", "at": "2026-11-20T16:00:00Z"})
    escalated = await j.escalated()
    if not escalated.unsubscribed:
        raise RuntimeError(f"{j.scenario}: the journey does not show the unsubscribe: {escalated}")
    await j.update("resolve_escalation", {"decision": "retry", "by": "leo", "note": "called them"})
    await j.wait(lambda s: s.state is OnboardingState.awaiting_action, "waiting again, by phone")
    await j.cancel()


async def _refused_inputs(j: Journey) -> None:
    await j.told("first_action")
    refused: list[tuple[str, list[Any]]] = [
        ("cancel", []),
        ("cancel", [{"reason": 7}]),
        ("action_taken", [{"action": "x"}]),
        ("action_taken", [{"action": "x", "event_id": "1"}, {"extra": True}]),
        ("cancle", [{}]),
    ]
    for name, args in refused:
        await j.handle.signal(name, args=args)
    await j.wait(lambda s: s.refused_inputs == 5, "five refusals on the journey")
    await j.signal("action_taken", {"action": "dataset_uploaded", "event_id": "e-1"})
    await j.told("first_value")
    await j.cancel()


async def _owner_acknowledges(j: Journey) -> None:
    await j.wait(lambda s: s.reason.startswith("waiting for owner acknowledgement"), "waiting for the owner")
    await j.signal("owner_acknowledged", {"by": "leo"})
    await j.told("first_action")
    await j.cancel()


async def _owner_silent(j: Journey) -> None:
    await j.wait(lambda s: s.reason.startswith("waiting for owner acknowledgement"), "waiting for the owner")
    await j.signal("owner_acknowledged", {"by": "maya"})  # not the owner: ignored
    told = await j.told("first_action")
    if told.owner != "maya":
        raise RuntimeError(f"{j.scenario}: the silent owner was not replaced: {told}")
    await j.cancel()


def _clarify_held_for_tomorrow(data: dict[str, Any]) -> None:
    """A window of seconds and one proactive message a day: the clarify falls due at once and
    waits for the customer's next day (the kickoff used today's). Recorded near midnight in
    Chicago the clarify would go out instead: record at any other time."""
    _short_first_milestone(data)
    data["business_hours"]["proactive_per_day"] = 1


async def _clarify_held(j: Journey) -> None:
    await j.seen("sent direction")  # then the journey waits on its own held clarify, not on the customer
    await j.hold_timer("clarify", "the clarify held for the next day")


async def _failure_during_hold(j: Journey) -> None:
    """v3.4: a failure while the clarify waits gets its help at once; the clarify waits on."""
    await _clarify_held(j)
    await j.signal("action_failed", {"action": "dataset_uploaded", "reason": "CSV has no header", "event_id": "f-1"})
    await j.seen("sent help")
    await j.hold_timer("clarify", "the clarify held again", count=2)
    await j.cancel()


async def _help_during_hold(j: Journey) -> None:
    """v3.4: a help request while the clarify waits escalates at once."""
    await _clarify_held(j)
    await j.signal("help_requested", {"message": "stuck on SSO", "event_id": "h-1"})
    await j.escalated()
    await j.cancel()


def _waiting_for_owner(s: Status) -> bool:
    return s.waiting_on == "owner" and s.reason.startswith("waiting for owner acknowledgement")


async def _failure_before_kickoff(j: Journey) -> None:
    """v3.6: a failure while the kickoff waits for the owner gets its help at once; the
    kickoff goes out once the owner acknowledges."""
    await j.wait(_waiting_for_owner, "waiting for the owner")
    await j.signal("action_failed", {"action": "dataset_uploaded", "reason": "CSV has no header", "event_id": "f-1"})
    await j.seen("sent help")
    await j.wait(_waiting_for_owner, "still waiting for the owner")
    await j.signal("owner_acknowledged", {"by": "leo"})
    await j.told("first_action")
    await j.cancel()


async def _help_before_kickoff(j: Journey) -> None:
    """v3.6: a help request while the kickoff waits for the owner escalates to that owner at
    once; after the retry the kickoff waits for the acknowledgement again."""
    await j.wait(_waiting_for_owner, "waiting for the owner")
    await j.signal("help_requested", {"message": "stuck on SSO", "event_id": "h-1"})
    await j.escalated()
    await j.update("resolve_escalation", {"decision": "retry", "by": "leo", "note": "called them"})
    await j.wait(_waiting_for_owner, "waiting for the owner again")
    await j.signal("owner_acknowledged", {"by": "leo"})
    await j.told("first_action")
    await j.cancel()


async def _remembered_after_skip(j: Journey) -> None:
    """v3.7: the customer shares a dashboard (first_value's action) while still at first_action
    and asks for help; staff skip. first_value completes from the remembered share and
    expansion_check's direction is proactive (held for business hours and the cap; always
    open here, so it goes out at once)."""
    await j.told("first_action")
    await j.signal("action_taken", {"action": "dashboard_shared", "event_id": "ahead-1"})
    await j.seen("action taken")
    await _help(j)
    await j.update("resolve_escalation", {"decision": "skip", "by": "maya", "note": "done offline"})
    await j.told("expansion_check")
    await j.cancel()


NOISE = 200  # at most this many product events to pass the suggestion below (50 events)


async def _noise_until_next_run(j: Journey, tag: str) -> None:
    """Product events for nothing the journey waits on, one at a time, until the server's
    suggestion makes the journey continue as new. Sent all at once, the ones the old run had
    not taken yet went on to grow the new run past the suggestion too: the scenario recorded
    2, 3 or 4 runs depending on timing. One at a time, the journey hands over exactly once."""
    client = j.handle._client
    for n in range(NOISE):
        await j.signal("action_taken", {"action": "dataset_previewed", "event_id": f"{tag}-noise-{n}"})
        if (await client.get_workflow_handle(j.handle.id).describe()).run_id not in j.runs:
            break
    await j.next_run()


async def _owner_wait_across_runs(j: Journey) -> None:
    """The kickoff waits for the owner; the product's events grow the history until the server
    suggests continue-as-new; the new run waits on for the owner (v3.1) and then tells the customer."""
    await j.wait(lambda s: s.waiting_on == "owner", "waiting for the owner")
    await _noise_until_next_run(j, "owner")
    waiting = await j.status()
    if waiting.waiting_on != "owner" or any(e.event == "sent direction" for e in waiting.timeline):
        raise RuntimeError(f"{j.scenario}: the new run did not wait for the owner: {waiting}")
    await j.signal("owner_acknowledged", {"by": "leo"})
    await j.told("first_action")
    await j.cancel()


def _repeated_messages(data: dict[str, Any]) -> None:
    """The first milestone with its own retry and second-help messages; three failures escalate."""
    data["escalation"]["after_failed_attempts"] = 3
    first = data["milestones"][0]
    first["retry"] = {
        "subject": "Let's try that again: {{ action_title }}",
        "body": "Hi {{ customer_name }},\n\nLet's try that again: {{ action_instruction }}\n\n{{ cta_url }}\n",
    }
    first["help_again"] = {
        "subject": "Still stuck? Here is another way",
        "body": "Hi {{ customer_name }},\n\nThat did not work again ({{ reason }}). Try this: {{ cta_url }}\n",
    }


async def _help_coalesced(j: Journey) -> None:
    await j.told("first_action")
    failure = {"action": "dataset_uploaded", "reason": "CSV has no header", "event_id": "f-1"}
    await j.signal("action_failed", failure)
    await j.seen("sent help")
    await j.signal("action_failed", {**failure, "event_id": "f-2"})  # the same again: no second email
    await j.seen("help not sent again")
    await j.signal("action_failed", {**failure, "reason": "file too large", "event_id": "f-3"})  # help_again
    await j.escalated()
    await j.update("resolve_escalation", {"decision": "retry", "by": "maya"})  # the retry message
    await j.told("first_action")
    await j.cancel()


def _customer_now() -> datetime:
    """The recording customer's wall clock (the journeys run on the real one)."""
    return datetime.now(ZoneInfo(deal_body("clock")["account"]["timezone"]))


def _closed_until_later_today(data: dict[str, Any]) -> None:
    """Business hours that are closed now in the customer's zone and open later (today, or
    tomorrow after 22:00): the kickoff is held for the opening."""
    hour = _customer_now().hour
    hours = data["business_hours"]
    hours["start"], hours["end"] = (f"{hour + 1:02d}:00", "23:59:59") if hour < 22 else ("00:00", "21:00")


def _closing_then_weekend(data: dict[str, Any]) -> None:
    """Open now for a short while, then closed for two days (a weekend): the kickoff goes out,
    the clarify falls due after closing and waits for the day after next. Recorded in the
    last minute before the customer's midnight the kickoff is held instead: record at any
    other time."""
    now = _customer_now()
    closes = now + timedelta(seconds=WEEKEND_CLOSES_IN)
    if closes.date() != now.date():
        raise RuntimeError("held-for-the-weekend: too close to the customer's midnight; record again in a minute")
    hours = data["business_hours"]
    hours["start"], hours["end"] = "00:00", closes.strftime("%H:%M:%S")
    hours["days"] = [WEEKDAYS[now.weekday()], WEEKDAYS[(now.weekday() + 3) % 7]]
    first = data["milestones"][0]
    first["window_hours"] = (WEEKEND_CLOSES_IN + 5) * SECOND
    for follow_up in first["follow_ups"]:
        follow_up["wait_hours"] = 1 * SECOND


WEEKEND_CLOSES_IN = 20  # seconds: the worker starts and the kickoff goes out before closing


def _held(step: str) -> Callable[[Status], bool]:
    return lambda s: (
        s.waiting_on == "journey"
        and s.next_action is not None
        and s.next_action.title.startswith(f"the journey sends the {step}")
    )


async def _kickoff_held_for_opening(j: Journey) -> None:
    await _kickoff_held_for_opening_wait(j)
    await j.cancel()


async def _held_for_the_weekend(j: Journey) -> None:
    await j.told("first_action")
    await j.wait(_held("clarify"), "the clarify held for the weekend")
    await j.hold_timer("clarify", "the clarify held over the closed days")
    await j.cancel()


async def _held_across_runs(j: Journey) -> None:
    """The kickoff held for the opening when the journey continues as new: the new run holds on."""
    await _kickoff_held_for_opening_wait(j)
    await _noise_until_next_run(j, "held")
    await j.wait(_held("direction"), "the new run still holds the kickoff")
    await j.cancel()


async def _kickoff_held_for_opening_wait(j: Journey) -> None:
    await j.wait(_held("direction"), "the kickoff held for the opening")
    await j.hold_timer("direction", "the kickoff held for the opening")


async def _cap_held_across_runs(j: Journey) -> None:
    """The clarify held for the daily cap when the journey continues as new."""
    await _clarify_held(j)
    await _noise_until_next_run(j, "cap")
    await j.wait(_held("clarify"), "the new run still holds the clarify")
    await j.cancel()


async def _pause_across_runs(j: Journey) -> None:
    """Paused by staff when the journey continues as new: the new run stays paused until resumed."""
    await j.told("first_action")
    await j.update("pause", {"by": "maya", "reason": "contract review"})
    await j.wait(lambda s: s.paused, "paused")
    await _noise_until_next_run(j, "paused")
    await j.wait(lambda s: s.paused, "still paused in the new run")
    await j.update("resume", {"by": "maya"})
    await j.wait(lambda s: not s.paused and s.reason == "resumed", "resumed")
    await j.signal("action_taken", {"action": "dataset_uploaded", "event_id": "e-1"})
    await j.told("first_value")
    await j.cancel()


def _slow_sla(data: dict[str, Any]) -> None:
    """An SLA long enough to grow the history to the suggestion inside each level."""
    data["escalation"]["sla_hours"] = ESCALATION_SLA * SECOND


ESCALATION_SLA = 20  # seconds per escalation level


async def _escalation_levels_across_runs(j: Journey) -> None:
    """At every escalation level (owner, backup, manager) the journey continues as new; the
    new run waits on at that level, and the SLA then moves it up."""
    await _help(j)
    for level in (1, 2, 3):
        await j.escalated(level=level)
        await _noise_until_next_run(j, f"level{level}")
        now = await j.status()
        if now.escalation_level != level:
            raise RuntimeError(f"{j.scenario}: level {level} moved on while growing the history: {now}")
    await j.update("resolve_escalation", {"decision": "retry", "by": "dana"})
    await j.told("first_action")
    await j.cancel()


async def _deal_wait_across_runs(j: Journey) -> None:
    """Waiting for the deal's details when the journey continues as new: the new run waits on,
    with the inbox, and starts once they arrive."""
    await j.wait(lambda s: s.reason == "starting: waiting for deal details", "waiting for deal details")
    await _noise_until_next_run(j, "deal")
    await j.wait(lambda s: s.reason == "starting: waiting for deal details", "the new run waits for them")
    await j.signal("deal_closed", deal_body(j.handle.id.removeprefix("onboarding-")))
    await j.told("first_value")
    await j.cancel()


async def _no_playbook_across_runs(j: Journey) -> None:
    """A deal no playbook claims (v3.3) waits on the roster's manager; the new run waits on
    with the hold; the manager closes it."""
    await j.wait(lambda s: s.waiting_on == "human" and s.state is OnboardingState.escalated, "held for a playbook")
    await j.timers(1, "the look-again timer")
    await _noise_until_next_run(j, "no-playbook")
    await j.wait(lambda s: s.waiting_on == "human", "the new run still waits for a playbook")
    await j.update("resolve_escalation", {"decision": "close", "by": "dana", "note": "not our product"})


ACROSS_RUNS = 50  # the server suggests continue-as-new past this many events


SCENARIOS: list[Scenario] = [
    Scenario("advance-to-activated", _advance),
    Scenario("clarify-chain", _clarify_chain, playbook=_short_first_milestone),
    Scenario("escalation-retry", _escalation_retry),
    Scenario("escalation-skip", _escalation_skip),
    Scenario("escalation-reassign", _escalation_reassign),
    Scenario("escalation-close", _escalation_close),
    Scenario("escalation-sla", _escalation_sla, playbook=_short_sla),
    Scenario("failed-attempts", _failed_attempts),
    Scenario("help-then-action", _help_then_action),
    Scenario("cancel", _cancel),
    Scenario("continue-as-new", _advance_across_runs, input={"continue_as_new_after": 2}),
    Scenario("high-value-kickoff", _high_value, deal={"amount": 300000}),
    Scenario("deal-details-late", _deal_details_late, deal_in_input=False),
    Scenario("staff-reassign-owner", _staff_reassign_owner),
    Scenario("staff-extend-deadline", _staff_extend_deadline),
    Scenario("staff-pause-resume", _staff_pause_resume),
    # v2: owner acknowledgement
    Scenario("owner-acknowledges", _owner_acknowledges, playbook=_acknowledgement_hours(1)),
    Scenario("owner-acknowledgement-times-out", _owner_silent, playbook=_acknowledgement_hours(2 * SECOND)),
    # v3: the acknowledgement beside the kickoff; refused inputs visible on the journey
    Scenario(
        "owner-acknowledges-beside-kickoff",
        _owner_acknowledges_beside_kickoff,
        playbook=_acknowledgement_hours(1, before_kickoff=False),
    ),
    Scenario(
        "owner-silent-beside-kickoff",
        _owner_silent_beside_kickoff,
        playbook=_acknowledgement_hours(3 * SECOND, before_kickoff=False),
    ),
    Scenario("refused-inputs", _refused_inputs),
    Scenario("unsubscribe", _unsubscribe),
    # v3.1: a run that takes over while the kickoff waits for the owner waits on
    Scenario(
        "owner-wait-across-runs",
        _owner_wait_across_runs,
        playbook=_acknowledgement_hours(1),
        suggest_continue_as_new_after=50,
    ),
    # v3.4: the customer's input while a follow-up waits (here for the daily cap) is answered first
    Scenario("failure-during-hold", _failure_during_hold, playbook=_clarify_held_for_tomorrow),
    Scenario("help-during-hold", _help_during_hold, playbook=_clarify_held_for_tomorrow),
    # v3.6: the customer's input while the kickoff waits for the owner is answered at once
    Scenario("failure-before-kickoff", _failure_before_kickoff, playbook=_acknowledgement_hours(1)),
    Scenario("help-before-kickoff", _help_before_kickoff, playbook=_acknowledgement_hours(1)),
    # v3.7: a direction after an action remembered from earlier is proactive
    Scenario("remembered-after-skip", _remembered_after_skip),
    # v3.8: a cancellation request closes the journey with the cancel's cleanup
    Scenario("cancel-request", _cancel_request),
    # v3.10: identical help within the window is sent once; retry and second-help messages
    Scenario("help-coalesced", _help_coalesced, playbook=_repeated_messages),
    # every wait kind (tests/replay/test_wait_kinds.py): business-hours holds, and
    # continue-as-new while in each wait
    Scenario("kickoff-held-for-opening", _kickoff_held_for_opening, playbook=_closed_until_later_today),
    Scenario("held-for-the-weekend", _held_for_the_weekend, playbook=_closing_then_weekend),
    Scenario(
        "held-across-runs",
        _held_across_runs,
        playbook=_closed_until_later_today,
        suggest_continue_as_new_after=ACROSS_RUNS,
    ),
    Scenario(
        "cap-held-across-runs",
        _cap_held_across_runs,
        playbook=_clarify_held_for_tomorrow,
        suggest_continue_as_new_after=ACROSS_RUNS,
    ),
    Scenario("pause-across-runs", _pause_across_runs, suggest_continue_as_new_after=ACROSS_RUNS),
    Scenario(
        "escalation-levels-across-runs",
        _escalation_levels_across_runs,
        playbook=_slow_sla,
        suggest_continue_as_new_after=ACROSS_RUNS,
    ),
    Scenario(
        "no-playbook-across-runs",
        _no_playbook_across_runs,
        deal={"product": "billing"},
        suggest_continue_as_new_after=ACROSS_RUNS,
    ),
    Scenario(
        "deal-wait-across-runs",
        _deal_wait_across_runs,
        deal_in_input=False,
        suggest_continue_as_new_after=ACROSS_RUNS,
    ),
]


# ------------------------------------------------------------------ recording


async def record_one(client: Client, scenario: Scenario, out_dir: Path, work_dir: Path, suffix: str = "") -> list[Path]:
    from worker import build_worker, records_database  # keeps `--help` fast

    playbooks = work_dir / scenario.name / "playbooks"
    playbooks.mkdir(parents=True)
    (playbooks / "recording.yaml").write_text(yaml.safe_dump(recording_playbook(scenario.playbook), sort_keys=False))
    settings = ActivitySettings(SMTP_URL=None, ONBOARDING_DATA_DIR=work_dir / scenario.name / "data")
    task_queue = f"record-{scenario.name}-{uuid.uuid4().hex[:6]}"
    deal_id = scenario.name + suffix
    deal = deal_body(deal_id, **scenario.deal)
    journey_input = JourneyInput(deal_id=deal_id, deal=deal if scenario.deal_in_input else None, **scenario.input)
    start_signal: dict[str, Any] = {}
    if not scenario.deal_in_input:
        start_signal = {
            "start_signal": "action_taken",
            "start_signal_args": [{"action": "dataset_uploaded", "event_id": "early-1"}],
        }
    # A task queue of its own is a roster of its own: the same owner on every rerun.
    # The records database closed with the worker: left to the garbage collector, its SQLite
    # connections were closed from whatever thread collected them (a workflow's, whose loop
    # cannot take the callback: tracebacks on stderr) or not at all before the process ended.
    records = records_database(settings)
    try:
        async with build_worker(client, settings, task_queue=task_queue, playbooks=playbooks, records=records):
            handle = await client.start_workflow(
                "OnboardingWorkflow", journey_input, id=workflow_id_for(deal_id), task_queue=task_queue, **start_signal
            )
            await scenario.drive(Journey(handle, scenario.name))
            await handle.result()
    finally:
        await records.dispose()
    histories = await run_histories(client, handle.id, handle.first_execution_run_id or handle.result_run_id or "")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for n, history in enumerate(histories, start=1):
        name = scenario.name if len(histories) == 1 else f"{scenario.name}.run{n}"
        path = out_dir / f"{name}.json"
        path.write_text(history.to_json() + "\n")
        written.append(path)
    return written


# Scenarios recorded at once. All at once (40 workers in one process) on a busy 2-CPU machine,
# steps that must land inside a window of seconds missed it and kickoffs took over 30 s.
PARALLEL = 6


async def record(
    client: Client, out_dir: Path, names: list[str] | None = None, *, suffix: str = "", parallel: int = PARALLEL
) -> list[Path]:
    """Record the chosen scenarios (all by default) concurrently into `out_dir`. Those that
    need the server to suggest continue-as-new early (`suggest_continue_as_new_after`) run on
    a dev server of their own, one per setting (it would change the other scenarios' paths),
    with the caller's data converter."""
    chosen = [s for s in SCENARIOS if names is None or s.name in names]
    unknown = set(names or []) - {s.name for s in SCENARIOS}
    if unknown:
        raise SystemExit(f"unknown scenario(s) {sorted(unknown)}; known: {[s.name for s in SCENARIOS]}")
    async with contextlib.AsyncExitStack() as servers:
        clients: dict[int | None, Client] = {None: client}
        for after in sorted({s.suggest_continue_as_new_after for s in chosen if s.suggest_continue_as_new_after}):
            env = await dev_server(client.data_converter, suggest_continue_as_new_after=after)
            servers.push_async_callback(env.shutdown)
            clients[after] = env.client
        slots = asyncio.Semaphore(parallel)

        async def one(s: Scenario, work: Path) -> list[Path]:
            async with slots:
                return await record_one(clients[s.suggest_continue_as_new_after], s, out_dir, work, suffix)

        with tempfile.TemporaryDirectory(prefix="record-") as work:
            # the longest first: they end about together
            longest_first = sorted(chosen, key=lambda s: s.suggest_continue_as_new_after is None)
            results = await asyncio.gather(
                *(one(s, Path(work)) for s in longest_first),
                # one scenario's failure neither cancels the others midway (their workers then
                # never shut down) nor hides theirs: all end, then every failure is reported
                return_exceptions=True,
            )
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise RuntimeError("scenarios failed (the others were recorded):\n" + "\n".join(f"- {e}" for e in failed))
    return [path for paths in results if not isinstance(paths, BaseException) for path in paths]


async def dev_server(
    data_converter: DataConverter = pydantic_data_converter,
    *,
    suggest_continue_as_new_after: int | None = None,
    problems_reported_after: int | None = None,
) -> WorkflowEnvironment:
    """`problems_reported_after`: failed workflow task attempts in a row before the server
    sets `TemporalReportedProblems` (its default is 5, a minute of retries)."""
    extra = ["--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"]
    if suggest_continue_as_new_after is not None:
        extra += ["--dynamic-config-value", f"limit.historyCount.suggestContinueAsNew={suggest_continue_as_new_after}"]
    if problems_reported_after is not None:
        extra += [
            "--dynamic-config-value",
            f"system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute={problems_reported_after}",
        ]
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sysconfig.get_path("scripts")) / "temporal"),
        search_attributes=list(ALL),
        data_converter=data_converter,
        dev_server_extra_args=extra,
        dev_server_startup_timeout=timedelta(seconds=60),  # the SDK's 5 s is short on a busy machine
    )


async def main_async(args: argparse.Namespace) -> None:
    out_dir = args.out / args.version
    if args.only is None:  # a full recording replaces the version's folder
        for old in out_dir.glob("*.json"):
            old.unlink()
    env = await dev_server()
    try:
        written = await record(env.client, out_dir, args.only, parallel=args.parallel)
    finally:
        await env.shutdown()
    for path in sorted(written):
        print(f"recorded {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    print(f"{len(written)} histories in {out_dir}")


def quiet_logs() -> None:
    """Only problems on the console: expected activity failures (a refused reassignment) and
    per-message logs would bury the list of recorded files."""
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


def main(argv: list[str] | None = None) -> int:
    quiet_logs()
    parser = argparse.ArgumentParser(prog="python -m replay.record", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default=VERSION, help=f"corpus folder to write (default {VERSION})")
    parser.add_argument("--out", type=Path, default=CORPUS, help="corpus root (default tests/histories)")
    parser.add_argument("--only", nargs="+", metavar="SCENARIO", help="record only these scenarios")
    parser.add_argument(
        "--parallel", type=int, default=PARALLEL, help=f"scenarios recorded at once (default {PARALLEL})"
    )
    try:
        asyncio.run(main_async(parser.parse_args(argv)))
    except RuntimeError as err:  # scenarios failed: the others are written, the failures named
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Leave without interpreter finalisation: threads that outlive asyncio.run (the SDK
    # core's; the records databases' SQLite threads until each was closed with its worker)
    # calling back into Python while the interpreter finalised aborted the process
    # (`PyGILState_Release`, exit 2) after a recording that had succeeded. Everything is
    # written and flushed by now.
    os._exit(code)
