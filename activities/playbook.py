"""snapshot_playbook: load and select the playbook a journey will run on, once, at start."""

from __future__ import annotations

from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.playbook import PlaybookSnapshot, SnapshotRequest
from playbooks import loader, variants


class PlaybookActivities:
    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory

    @activity.defn
    async def snapshot_playbook(self, request: SnapshotRequest) -> PlaybookSnapshot:
        try:
            snapshot = loader.select(loader.load_all(self._directory), request.segment, request.product)
        except loader.PlaybookError as err:
            # Retried with backoff, not failed: once the playbooks are fixed the journey goes
            # on (the worker refuses to start on a bad playbook, so this is a live edit).
            raise ApplicationError(str(err), type="PlaybookError") from None
        deal_id = request.deal_id or (activity.info().workflow_id or "").removeprefix("onboarding-")
        return variants.assign(snapshot, deal_id)
