"""`onboarding stuck`: the journeys whose workflow task keeps failing, in one step.

    onboarding stuck [--address HOST:PORT] [--namespace NS] [--query EXTRA]

Such a journey shows Running, its `status` query times out, and its search attributes keep
the state from before (a nondeterminism error after a deploy or rollback, a payload this
build cannot decode): nothing else lists it. Temporal marks it after a few failed attempts
in a row (`TemporalReportedProblems`, cleared when a task completes); each one is listed
with the attempt, the build it fails on and the failure, decoded with the worker's keys.
Exit status 0: none; 1: some (run it from an alert or CI); 2: the service cannot be reached.
How to recover them: docs/support.md, "A journey whose workflow task keeps failing"."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TextIO

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryReverseRequest
from temporalio.client import Client
from temporalio.service import RPCError

from contracts.journey import WORKFLOW_TYPE
from privacy.keys import CodecConfigError
from replay.schema import is_decode_failure
from runtime.arguments import add_server_arguments
from runtime.client import connect

STUCK_QUERY = (
    f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' "
    "AND TemporalReportedProblems IN ('category=WorkflowTaskFailed', 'category=WorkflowTaskTimedOut')"
)
SUPPORT = 'docs/support.md, "A journey whose workflow task keeps failing"'
_LAST_EVENTS = 50  # a failing task's events are at the end of the history


@dataclass
class Stuck:
    """One journey whose workflow task keeps failing, and what is known of why."""

    workflow_id: str
    run_id: str
    state: str  # the OnboardingState its search attributes kept (from before it stuck)
    attempt: int | None  # of its pending workflow task
    build: str  # the Worker Deployment Version it fails on ('' for an unversioned worker)
    cause: str  # the server's cause of the last failed task
    failure: str  # the failure's message, decrypted

    def kind(self) -> str:
        """Nondeterminism, a schema incompatibility, or another failure: each is recovered differently."""
        if "NONDETERMINISTIC" in self.cause or "Nondeterminism" in self.failure:
            return "nondeterminism: this build cannot replay the journey's history"
        if is_decode_failure(self.failure):
            return "schema incompatibility: this build cannot decode a payload in the journey's history"
        return "workflow task failure"

    def lines(self) -> list[str]:
        attempt = f"attempt {self.attempt}" if self.attempt else "attempt ?"
        where = f"build {self.build}" if self.build else "an unversioned worker"
        return [
            f"  {self.workflow_id} (run {self.run_id}): {attempt} on {where}, state {self.state or '?'}",
            f"    {self.kind()}",
            f"    {self.failure or self.cause}",
        ]


async def last_failure(client: Client, workflow_id: str, run_id: str) -> tuple[str, str]:
    """(cause, message) of the run's last failed workflow task, the message decrypted."""
    response = await client.workflow_service.get_workflow_execution_history_reverse(
        GetWorkflowExecutionHistoryReverseRequest(
            namespace=client.namespace,
            execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
            maximum_page_size=_LAST_EVENTS,
        )
    )
    for event in response.history.events:
        if event.event_type != EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            continue
        attributes = event.workflow_task_failed_event_attributes
        cause = WorkflowTaskFailedCause.Name(attributes.cause).removeprefix("WORKFLOW_TASK_FAILED_CAUSE_")
        try:
            error: BaseException | None = await client.data_converter.decode_failure(attributes.failure)
            causes: list[str] = []  # "Failed decoding arguments: 1 validation error for PlaybookSnapshot ..."
            while error is not None and len(causes) < 3:
                causes.append(str(error))
                error = error.__cause__
            message = ": ".join(causes)
        except Exception:  # a failure it cannot decrypt is still a stuck journey
            message = attributes.failure.message
        return cause, " ".join(message.split())[:500]
    return "", ""


async def find_stuck(client: Client, extra_query: str = "") -> list[Stuck]:
    """Every running journey Temporal marks as failing its workflow task (`extra_query` narrows)."""
    query = STUCK_QUERY + (f" AND ({extra_query})" if extra_query else "")
    found: list[Stuck] = []
    async for execution in client.list_workflows(query):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        raw = (await handle.describe()).raw_description
        pending = raw.pending_workflow_task if raw.HasField("pending_workflow_task") else None
        version = raw.workflow_execution_info.versioning_info.deployment_version
        state = execution.search_attributes.get("OnboardingState") or [""]
        cause, failure = await last_failure(client, execution.id, execution.run_id)
        found.append(
            Stuck(
                workflow_id=execution.id,
                run_id=execution.run_id,
                state=str(state[0]),
                attempt=pending.attempt if pending is not None else None,
                build=version.build_id,
                cause=cause,
                failure=failure,
            )
        )
    return found


async def stuck_command(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from replay.cli import KEYS_VARIABLE, use_dev_keys

    if (dev_keys := use_dev_keys()) is not None:  # as `onboarding replay`: the local stack's key
        print(f"payload keys: {dev_keys} (`make run`'s; set {KEYS_VARIABLE} for another service's)", file=err)
    try:
        client = await connect(args.address, args.namespace)
    except CodecConfigError as exc:
        print(f"cannot decrypt the failures: {exc}", file=err)
        return 2
    except Exception as exc:  # any connection problem is reported the same way
        print(f"cannot connect to Temporal: {exc}", file=err)
        return 2
    try:
        found = await find_stuck(client, args.query)
    except RPCError as exc:
        print(f"listing journeys failed: {exc}", file=err)
        return 2
    if not found:
        print("no journey is failing its workflow task", file=out)
        return 0
    print(
        f"{len(found)} journey(s) failing their workflow task: Running, but nothing moves and `status` "
        "does not answer until the right build takes them",
        file=out,
    )
    for stuck in found:
        print("\n".join(stuck.lines()), file=out)
    print(f"\nHow to recover them: {SUPPORT}.", file=out)
    return 1


def add_command(commands: argparse._SubParsersAction) -> None:
    stuck = commands.add_parser(
        "stuck",
        help="list the journeys whose workflow task keeps failing (nondeterminism, a payload that does not decode)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_server_arguments(stuck)
    stuck.add_argument("--query", default="", help="narrow the list with a visibility query, e.g. \"Segment = 'smb'\"")


def run(args: argparse.Namespace) -> Coroutine[Any, Any, int]:
    return stuck_command(args)
