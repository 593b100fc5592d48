"""The journal of a journey: everything that makes it explainable to a person.

A transition sets the state and its reason, then tells the three places staff look: the
search attributes (lists in the Web UI), the current details (the journey's page) and the
worker's log (state and stage only: a reason may quote the customer). Notes go to the
timeline only. Runs inside the workflow, so it uses `workflow.now()` and `workflow.logger`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from temporalio import workflow

from contracts.journey import Inbox, JourneyState
from contracts.playbook import Milestone
from contracts.status import OnboardingState, Status
from workflows import inbox
from workflows import metrics as journey_metrics
from workflows.details import current_details
from workflows.search_attributes import changed, journey_search_attributes


class Journal:
    def __init__(self, box: Callable[[], Inbox]) -> None:
        self._box = box
        self.transitions_this_run = 0
        self.upsert_changes_only = False  # v3.2: no command for search attributes that stand

    def note(self, event: str, detail: str = "", *, at: datetime | None = None) -> None:
        inbox.note(self._box(), at or workflow.now(), event, detail)

    def refused(self, message: str) -> None:
        """An input that cannot be used, shown where staff look (timeline, current details)."""
        self._box().refused += 1
        journey_metrics.refused_input()
        self.note("ignored", message)

    def transition(
        self,
        s: JourneyState,
        milestone: Milestone | None,
        status: Callable[[], Status],
        due: Callable[[], datetime | None],
        state: OnboardingState,
        reason: str,
        *,
        escalation_level: int = 0,
        assignee: Callable[[], str | None] = lambda: None,
    ) -> None:
        s.state, s.reason, s.escalation_level = state, reason, escalation_level
        s.transitions += 1
        self.transitions_this_run += 1
        self.note(state.value, reason)
        updates = journey_search_attributes(s, milestone, due(), assignee())
        if self.upsert_changes_only:
            updates = changed(updates, workflow.info().typed_search_attributes)
        if updates:
            workflow.upsert_search_attributes(updates)
        self.show(s, milestone, status())
        workflow.logger.info(
            "journey transition",
            extra={
                "state": state.value,
                "stage": s.progress.key if s.progress else "",
                "escalation_level": escalation_level,
            },
        )

    @staticmethod
    def show(s: JourneyState, milestone: Milestone | None, status: Status) -> None:
        workflow.set_current_details(current_details(s, milestone, status))
