"""LabPersona: one simulated customer, with their owner and staff, around one real journey.

A workflow itself, so its clock is the time-skipping server's: several personas walk their
journeys at once on one server, each step exactly on time, and a step that starts when a
touchpoint is sent (`after: simplify`) learns of it from the captured outside world, which
signals `sighted` before the journey moves on. Everything it does to the journey goes
through the Temporal client, in activities (lab/world.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sized
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from lab.script import (
        Delivered,
        Delivery,
        Finish,
        Note,
        PersonaOutcome,
        Script,
        Sighting,
        StaffRule,
        StartInPast,
        StartJourney,
        Step,
    )

# every lab activity call: a minute each, three tries
_TIMEOUT = timedelta(seconds=60)
_RETRY = RetryPolicy(maximum_attempts=3)


def _grown(items: Callable[[], Sized], beyond: int) -> Callable[[], bool]:
    """A wait condition: `items()` holds more than `beyond` entries."""
    return lambda: len(items()) > beyond


def persona_workflow_id(journey_workflow_id: str) -> str:
    return f"lab-{journey_workflow_id}"


# Not sandboxed: the lab's own deterministic code, run beside (not inside) the journey's
# sandbox; a sandbox per persona would double the lab's cost per journey.
@workflow.defn(name="LabPersona", sandboxed=False)
class PersonaRun:
    @workflow.init
    def __init__(self, script: Script) -> None:
        self._script = script
        self._sightings: list[Sighting] = []
        self._notes: list[Note] = []
        self._not_reached: list[str] = []
        self._start: datetime | None = None
        self._actors: list[asyncio.Task[None]] = []

    @workflow.signal
    def sighted(self, sighting: Sighting) -> None:
        self._sightings.append(sighting)

    @workflow.run
    async def run(self, script: Script) -> PersonaOutcome:
        try:
            start = script.start.next_after(workflow.now())
        except StartInPast as err:
            raise ApplicationError(str(err), type="StartInPast", non_retryable=True) from None
        if start > workflow.now():
            await workflow.sleep(start - workflow.now())
        journey_input = script.journey_input
        if script.stamp_close and isinstance(journey_input.get("deal"), dict):
            journey_input = {**journey_input, "deal": {**journey_input["deal"], "closed_at": start.isoformat()}}
        started: datetime = await workflow.execute_activity(
            "lab_start_journey",
            StartJourney(
                workflow_id=script.workflow_id,
                journey_input=journey_input,
                summary=script.summary,
                details=script.details,
                search_attributes=script.search_attributes,
            ),
            result_type=datetime,
            start_to_close_timeout=_TIMEOUT,
            retry_policy=_RETRY,
        )
        # The persona's clock is the journey's: its start as its history records it, which the
        # expectations' windows count from too (a few ms of real time after the planned close).
        self._start = start = started
        self._spawn(self._timed_steps([s for s in script.steps if s.after is None]))
        for step in script.steps:
            if step.after is not None:
                self._spawn(self._triggered_step(step))
        self._spawn(self._owners())
        self._spawn(self._staff())
        await workflow.sleep(start + timedelta(seconds=script.horizon_seconds) - workflow.now())
        for actor in self._actors:  # the horizon: whatever has not happened will not
            actor.cancel()
        await asyncio.gather(*self._actors, return_exceptions=True)
        await workflow.execute_activity(
            "lab_finish", Finish(workflow_id=script.workflow_id), start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY
        )
        return PersonaOutcome(
            label=script.label,
            workflow_id=script.workflow_id,
            started_at=start,
            ended_at=workflow.now(),
            notes=self._notes,
            not_reached=self._not_reached,
        )

    # ------------------------------------------------------------------ actors

    async def _timed_steps(self, steps: list[Step]) -> None:
        """Steps on the close's clock, in order (stable for steps at the same moment)."""
        for step in sorted(steps, key=lambda s: s.at_seconds):
            moment = self._begin + timedelta(seconds=step.at_seconds)
            await self._sleep_until(moment)
            await self._deliver(step, moment)

    async def _triggered_step(self, step: Step) -> None:
        trigger = step.after
        assert trigger is not None
        try:
            await workflow.wait_condition(lambda: any(trigger.matches(s) for s in self._sightings))
        except asyncio.CancelledError:
            self._not_reached.append(
                f"{step.label} ({step.at_seconds / 3600:g}h after {trigger}): no {trigger} was sent"
            )
            raise
        seen = next(s for s in self._sightings if trigger.matches(s))
        moment = seen.at + timedelta(seconds=step.at_seconds)
        await self._sleep_until(moment)
        await self._deliver(step, moment)

    async def _owners(self) -> None:
        """Each owner the journey assigns acknowledges after the persona's delay."""
        after = self._script.owner_acknowledges_after_seconds
        if after is None:
            return
        handled = 0
        while True:
            await workflow.wait_condition(_grown(self._owner_sightings, handled))
            sighting = self._owner_sightings()[handled]
            handled += 1
            self._spawn(self._acknowledge(sighting, after))

    async def _acknowledge(self, sighting: Sighting, after: float) -> None:
        await self._sleep_until(sighting.at + timedelta(seconds=after))
        await self._send(
            "owner",
            "signal",
            "owner_acknowledged",
            {"by": sighting.owner, "note": "lab"},
            f"{sighting.owner} acknowledges",
        )

    async def _staff(self) -> None:
        """Each escalation that opens is answered by the persona's staff rule for it."""
        handled = 0
        while True:
            await workflow.wait_condition(_grown(self._openings, handled))
            opening, index = self._openings()[handled], handled
            handled += 1
            rule = self._script.staff_rule(index)
            if rule is not None:
                self._spawn(self._decide(opening, rule))

    async def _decide(self, opening: Sighting, rule: StaffRule) -> None:
        await self._sleep_until(opening.at + timedelta(seconds=rule.after_seconds))
        label = f"{rule.by} resolves: {rule.decision}" + (f" to {rule.owner}" if rule.owner else "")
        await self._send("staff", "update", "resolve_escalation", rule.payload(), label)

    # ------------------------------------------------------------------ helpers

    def _owner_sightings(self) -> list[Sighting]:
        return [s for s in self._sightings if s.what == "owner"]

    def _openings(self) -> list[Sighting]:
        return [s for s in self._sightings if s.what == "escalation" and s.level == 1]

    @property
    def _begin(self) -> datetime:
        assert self._start is not None
        return self._start

    async def _sleep_until(self, moment: datetime) -> None:
        if moment > workflow.now():
            await workflow.sleep(moment - workflow.now())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self._actors.append(asyncio.create_task(work))

    async def _deliver(self, step: Step, moment: datetime) -> None:
        lane = (
            "crm"
            if step.send.name in ("cancel", "deal_closed", "deal_in_crm")
            else (
                "customer"
                if step.send.name in ("action_taken", "action_failed", "help_requested", "unsubscribed")
                else "staff"
            )
        )
        if step.send.name == "owner_acknowledged":
            lane = "owner"
        payload = step.send.resolved(self._begin, workflow.now())
        if step.send.name == "action_taken" and "occurred_at" not in step.send.moments:
            # When the customer acted, as a product stamps it: the step's own moment, not the
            # moment the lab's delivery lands (milliseconds later, the clock held meanwhile).
            payload["occurred_at"] = moment.isoformat()
        await self._send(lane, step.send.kind, step.send.name, payload, step.label)

    async def _send(self, lane: str, kind: str, name: str, payload: dict, label: str) -> None:
        done: Delivered = await workflow.execute_activity(
            "lab_deliver",
            Delivery(
                workflow_id=self._script.workflow_id,
                kind=kind,
                name=name,
                payload=payload,
                status=self._script.status_after_steps,
            ),
            result_type=Delivered,
            start_to_close_timeout=_TIMEOUT,
            retry_policy=_RETRY,
        )
        text = label if done.ok else f"{label}: not applied ({done.problem})"
        self._notes.append(
            Note(
                at=workflow.now(),
                lane=lane,
                text=text,
                done=done.ok,
                status=done.status,
                status_problem=done.status_problem,
            )
        )
