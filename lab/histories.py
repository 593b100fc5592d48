"""Every run of a journey's history, first run first (a journey continues as new when its
history grows long, so one journey may be several runs)."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory


async def journey_runs(client: Client, workflow_id: str, run_id: str | None = None) -> list[WorkflowHistory]:
    """The chain that `run_id` (default: the latest run) belongs to, from its first run."""
    known = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    started = known.events[0].workflow_execution_started_event_attributes
    first = started.first_execution_run_id or started.original_execution_run_id
    if not first or first == started.original_execution_run_id:
        runs = [known]
    else:
        runs = [await client.get_workflow_handle(workflow_id, run_id=first).fetch_history()]
    while (last := runs[-1].events[-1]).event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        next_run = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        runs.append(await client.get_workflow_handle(workflow_id, run_id=next_run).fetch_history())
    return runs
