"""What the outside world can tell a journey, and how it answers.

Signals (the product, the CRM, the owner) only record what arrived; input that cannot be
used is refused visibly on the journey (timeline "ignored ...", `status.refused_inputs`),
never by failing a workflow task. Staff updates are decisions, applied one at a time:
their validators refuse bad input naming the field, or say why the action does not apply
now. See `workflows/inputs.py` for why the handlers take `Model | JsonValue`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import JsonValue
from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts.deal import DealClosed
    from contracts.journey import JourneyState
    from contracts.signals import (
        ActionFailed,
        ActionTaken,
        Cancel,
        DealInCrm,
        HelpRequested,
        OwnerAcknowledged,
        Unsubscribed,
    )
    from contracts.staff import Decision, ExtendDeadline, Pause, ReassignOwner, ResolveEscalation, Resume
    from contracts.status import OnboardingState, Status
    from workflows import acknowledgement, decisions, effects, inbox
    from workflows.base import ENDED, JourneyBase, StaffDecision
    from workflows.inputs import Refused, parse


class Handlers(JourneyBase):
    def _accept(self, model: type[Any], name: str, request: object, extra: tuple[object, ...]) -> Any:
        try:
            return parse(model, name, request, extra)
        except Refused as refusal:
            self._journal.refused(str(refusal))
            if self._s is not None:
                self._journal.show(self._s, self._milestone, self._current_status())
            return None

    def _first_time(self, event_id: str) -> bool:
        if inbox.first_time(self._inbox, event_id, workflow.now()):
            return True
        self._journal.note("duplicate event ignored", event_id)
        return False

    @workflow.signal
    def deal_closed(self, deal: DealClosed | JsonValue = None, *extra: JsonValue) -> None:
        if (event := self._accept(DealClosed, "deal_closed", deal, extra)) and self._deal is None:
            self._deal = event
            self._journal.note("deal details received", event.deal_id)

    @workflow.signal
    def deal_in_crm(self, notice: DealInCrm | JsonValue = None, *extra: JsonValue) -> None:
        """The CRM has the deal: a journey started by an early event fetches it from there."""
        if (
            (event := self._accept(DealInCrm, "deal_in_crm", notice, extra))
            and self._deal is None
            and self._crm is None
        ):
            self._crm = event.crm
            self._journal.note("deal is in the CRM", event.crm)

    @workflow.signal
    def action_taken(self, event: ActionTaken | JsonValue = None, *extra: JsonValue) -> None:
        if (taken := self._accept(ActionTaken, "action_taken", event, extra)) and self._first_time(taken.event_id):
            if inbox.record_taken(self._inbox, taken, workflow.now()):
                self._journal.note("action taken", taken.action)

    @workflow.signal
    def action_failed(self, event: ActionFailed | JsonValue = None, *extra: JsonValue) -> None:
        if (failed := self._accept(ActionFailed, "action_failed", event, extra)) and self._first_time(failed.event_id):
            if inbox.record_failure(self._inbox, failed):
                self._journal.note("action failed", failed.action)

    @workflow.signal
    def help_requested(self, event: HelpRequested | JsonValue = None, *extra: JsonValue) -> None:
        if (request := self._accept(HelpRequested, "help_requested", event, extra)) and self._first_time(
            request.event_id
        ):
            inbox.record_help(self._inbox, request)
            self._journal.note("help requested")

    @workflow.signal(description='The owner confirms they own the journey: {"by": "<owner id or email>"}.')
    def owner_acknowledged(self, ack: OwnerAcknowledged | JsonValue = None, *extra: JsonValue) -> None:
        if not (event := self._accept(OwnerAcknowledged, "owner_acknowledged", ack, extra)):
            return
        self._inbox.acknowledged_by = [*self._inbox.acknowledged_by, event.by][-10:]
        self._journal.note("owner acknowledged", event.by)
        s = self._s
        if s is not None and s.acknowledgement is not None and acknowledgement.acknowledges(event.by, s.owner.owner):
            s.acknowledgement = None

    @workflow.signal
    def cancel(self, event: Cancel | JsonValue = None, *extra: JsonValue) -> None:
        if (cancel := self._accept(Cancel, "cancel", event, extra)) and self._inbox.cancel is None:
            self._inbox.cancel = cancel
            self._journal.note("cancel", cancel.reason)

    @workflow.signal(description="The contact used the one-click unsubscribe link: no more customer email.")
    def unsubscribed(self, event: Unsubscribed | JsonValue = None, *extra: JsonValue) -> None:
        if (notice := self._accept(Unsubscribed, "unsubscribed", event, extra)) and self._inbox.unsubscribed_at is None:
            self._inbox.unsubscribed_at = notice.at
            self._journal.note("unsubscribed", "no more customer email; the owner takes over")

    @workflow.signal(dynamic=True)
    def unknown_signal(self, name: str, args: Sequence[RawValue]) -> None:
        self._journal.refused(f"{name[:60]}: no such signal (see the journey's signal list)")
        if self._s is not None:  # staff see it where they look, as for any refused input
            self._journal.show(self._s, self._milestone, self._current_status())

    @workflow.update(description="Resolve an escalation: retry, skip, reassign (with owner) or close.")
    async def resolve_escalation(self, request: ResolveEscalation | JsonValue = None, *extra: JsonValue) -> Status:
        resolution = parse(ResolveEscalation, "resolve_escalation", request, extra)
        if self._s is None:  # escalated before it started: no playbook can run it yet (retry or close)
            return await self._decide_without_playbook(resolution)
        self._staff_busy = "resolve_escalation"
        escalation = self._state.escalations  # the escalation this decision is about
        try:
            owner = None
            if resolution.decision is Decision.reassign:
                assert resolution.owner
                owner = await effects.choose_owner(self._state.deal, workflow.now().date(), resolution.owner)
                # The escalation may have ended while the roster answered (the customer acted, a cancel).
                if self._state.escalations != escalation or self._state.state is not OnboardingState.escalated:
                    raise ApplicationError(
                        "not applied: the escalation ended before the decision (see the timeline)", non_retryable=True
                    )
            decision = self._decision = StaffDecision(resolution, owner)
            await workflow.wait_condition(lambda: decision.settled)
        finally:
            self._staff_busy = ""
        if not decision.applied:
            raise ApplicationError(
                "not applied: the escalation ended before the decision (see the timeline)", non_retryable=True
            )
        return self._current_status()

    async def _decide_without_playbook(self, resolution: ResolveEscalation) -> Status:
        self._staff_busy = "resolve_escalation"
        try:
            decision = self._decision = StaffDecision(resolution, None)
            await workflow.wait_condition(lambda: decision.settled)
        finally:
            self._staff_busy = ""
        if not decision.applied:
            raise ApplicationError(
                "not applied: the escalation ended before the decision (see the timeline)", non_retryable=True
            )
        return self._current_status()

    @resolve_escalation.validator
    def _validate_resolution(self, request: ResolveEscalation | JsonValue = None, *extra: JsonValue) -> None:
        resolution = parse(ResolveEscalation, "resolve_escalation", request, extra)
        if self._s is None and (hold := self._hold) is not None:
            self._require_free("resolve_escalation")
            if hold.state is not OnboardingState.escalated:
                raise ValueError(f"nothing is escalated: the journey is {hold.state.value}")
            if resolution.decision not in (Decision.retry, Decision.close):
                raise ValueError(
                    f"decision: {resolution.decision.value!r} does not apply: no playbook can run this journey "
                    f"yet ({hold.problem}); fix the playbooks and decide 'retry', or 'close'"
                )
            return
        s = self._require_active("resolve_escalation")
        if s.state is not OnboardingState.escalated:
            raise ValueError(f"nothing is escalated: the journey is {s.state.value}")

    @workflow.update(description="Give the journey to another owner: {owner, by, note}.")
    async def reassign_owner(self, request: ReassignOwner | JsonValue = None, *extra: JsonValue) -> Status:
        change = parse(ReassignOwner, "reassign_owner", request, extra)
        self._staff_busy = "reassign_owner"
        try:
            s = self._state
            previous, s.owner = (
                s.owner.owner.id,
                await effects.choose_owner(s.deal, workflow.now().date(), change.owner),
            )
            s.assignments += 1
            if self._v3:
                s.acknowledgement = None
                await self._tell_manager_if_short()
            await self._owner_assigned(previous)
            self._transition(
                s.state, f"owner reassigned to {s.owner.owner.name} by {change.by}", escalation_level=s.escalation_level
            )
        finally:
            self._staff_busy = ""
        return self._current_status()

    @reassign_owner.validator
    def _validate_reassign(self, request: ReassignOwner | JsonValue = None, *extra: JsonValue) -> None:
        change = parse(ReassignOwner, "reassign_owner", request, extra)
        if change.owner == self._require_active("reassign_owner").owner.owner.id:
            raise ValueError(f"owner: {change.owner!r} already owns this journey")

    @workflow.update(description="Move the current due time later: {until (ISO 8601 with offset), by, note}.")
    def extend_deadline(self, request: ExtendDeadline | JsonValue = None, *extra: JsonValue) -> Status:
        change = parse(ExtendDeadline, "extend_deadline", request, extra)
        s = self._state
        self._progress.due_at = change.until
        self._rescheduled = True  # the waiting timer is replaced, not stacked
        self._transition(s.state, f"due time moved to {self._describe(change.until)} by {change.by}")
        return self._current_status()

    @extend_deadline.validator
    def _validate_extend(self, request: ExtendDeadline | JsonValue = None, *extra: JsonValue) -> None:
        change = parse(ExtendDeadline, "extend_deadline", request, extra)
        s = self._require_active("extend_deadline")
        if problem := decisions.extension_problem(s, change.until, workflow.now()):
            raise ValueError(problem)

    @workflow.update(description="Hold the journey: no messages, windows stop. {by, reason}.")
    def pause(self, request: Pause | JsonValue = None, *extra: JsonValue) -> Status:
        self._state.pause = change = parse(Pause, "pause", request, extra)
        self._journal.note("pause", change.by)
        return self._current_status()

    @pause.validator
    def _validate_pause(self, request: Pause | JsonValue = None, *extra: JsonValue) -> None:
        parse(Pause, "pause", request, extra)
        s = self._require_active("pause")
        if s.pause is not None:
            raise ValueError(f"pause: already paused by {s.pause.by}")
        if s.state is OnboardingState.escalated:
            raise ValueError("pause: the journey is escalated; resolve the escalation instead")

    @workflow.update(description="Let a paused journey go on where it stopped. {by, note}.")
    def resume(self, request: Resume | JsonValue = None, *extra: JsonValue) -> Status:
        change = parse(Resume, "resume", request, extra)
        self._state.pause = None
        self._journal.note("resume", change.by)
        return self._current_status()

    @resume.validator
    def _validate_resume(self, request: Resume | JsonValue = None, *extra: JsonValue) -> None:
        parse(Resume, "resume", request, extra)
        if self._require_active("resume").pause is None:
            raise ValueError("resume: the journey is not paused")

    def _require_active(self, action: str) -> JourneyState:
        """What every staff action needs: a journey under way, and no other staff action
        in flight (decisions are applied one at a time)."""
        s = self._s
        if s is None and self._hold is not None and self._hold.state is OnboardingState.escalated:
            raise ValueError(
                f"{action}: no playbook can run this journey yet ({self._hold.problem}); "
                "resolve_escalation: 'retry' once one can, or 'close'"
            )
        if s is None:
            raise ValueError(f"{action}: the journey is still starting")
        if s.state in ENDED or self._inbox.cancel is not None:
            raise ValueError(f"{action}: the journey is {'closing' if s.state not in ENDED else s.state.value}")
        self._require_free(action)
        return s

    def _require_free(self, action: str) -> None:
        """No other staff action in flight, no cancel, no hand-over under way."""
        if self._inbox.cancel is not None:
            raise ValueError(f"{action}: the journey is closing")
        if self._staff_busy or self._decision is not None:
            raise ValueError(
                f"{action}: another staff action ({self._staff_busy or 'resolve_escalation'}) is being applied; try again"
            )
        if self._handing_over:
            raise ValueError(f"{action}: the journey is moving to a new run; try again in a moment")
