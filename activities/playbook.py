"""snapshot_playbook: load and select the playbook a journey will run on, once, at start.

The files are read on every call (parsing is cached by their bytes, playbooks/loader.py), so
a live edit counts at once. A broken file affects only itself: every other playbook serves,
and a file that was good earlier in this process keeps serving its last good version. When
no playbook can run the journey (nobody claims the deal and no fallback is declared, or the
one that would is broken) the activity fails at once with a `NoPlaybook` error carrying the
reason, and the journey takes it to a human (workflows/playbook_hold.py) instead of retrying.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.playbook import PlaybookSnapshot, SnapshotRequest
from playbooks import calendars, loader, variants

log = structlog.get_logger(__name__)

# The error type of a deal no playbook can run: non-retryable, its message the reason.
NO_PLAYBOOK = "NoPlaybook"


class PlaybookActivities:
    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory

    @activity.defn
    async def snapshot_playbook(self, request: SnapshotRequest) -> PlaybookSnapshot:
        deal_id = request.deal_id or (activity.info().workflow_id or "").removeprefix("onboarding-")
        choice = loader.choose(
            loader.load_set(self._directory, unknown_fields="keep"), request.segment, request.product
        )
        if choice.snapshot is None:
            # The files and the decision only: segment and product are the CRM's labels, not
            # anything about the customer's people.
            log.error("playbook.none_for_journey", deal_id=deal_id, files=list(choice.files), reason=choice.refusal)
            raise ApplicationError(choice.refusal, type=NO_PLAYBOOK, non_retryable=True)
        snapshot = choice.snapshot
        if choice.notice:
            log.warning("playbook.not_the_claiming_one", deal_id=deal_id, file=snapshot.source, notice=choice.notice)
            snapshot = snapshot.model_copy(update={"notice": choice.notice})
        # the year the journey starts in: its clock (the workflow's), not this machine's
        today = activity.info().current_attempt_scheduled_time.date()
        return calendars.resolved(variants.assign(snapshot, deal_id), today)
