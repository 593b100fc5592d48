"""The replay gate: replay recorded or downloaded histories against the current workflow
code and explain any non-determinism (which history, which event, what differs).

Used by the corpus test in `make test`, by `onboarding replay` and by the benchmark."""

from __future__ import annotations

import importlib
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.json_format import MessageToDict
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, WorkflowRunner

from contracts.journey import workflow_id_for
from replay.schema import DECODE_FAILURE, may_be_schema, schema_problem
from runtime.replayer import replayer

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "histories"
GUIDE = "docs/versioning.md"

_CORE_MESSAGE = re.compile(r'message: "(?P<text>(?:[^"\\]|\\.)*)"')
_QUOTED = re.compile(r"'([^']+)'")
_EVENT_ID = re.compile(r"HistoryEvent\(id: (\d+)")


def journey() -> type:
    """The journey workflow of this checkout (imported when first asked for)."""
    from workflows.onboarding import OnboardingWorkflow

    return OnboardingWorkflow


def load_workflow(spec: str) -> type:
    """`module:Class`: the code to check (default: this checkout's workflow)."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name or "OnboardingWorkflow")


def corpus_files(root: Path = CORPUS) -> list[Path]:
    """Every recorded history, oldest version first."""
    return sorted(root.glob("*/*.json"))


def load_history(path: Path) -> WorkflowHistory:
    # `continue-as-new.run2.json` is a run of the journey of deal `continue-as-new`
    return WorkflowHistory.from_json(workflow_id_for(path.stem.split(".")[0]), path.read_text())


@dataclass
class ReplayProblem:
    label: str  # the history file, or the workflow id of a downloaded history
    run_id: str
    mismatch: str
    event: str
    schema: str = ""  # set when the history does not decode here (replay.schema)

    def message(self) -> str:
        if self.schema:
            return (
                f"{self.label}: does not decode in the current code\n"
                f"  at {self.event}\n"
                f"  {self.schema}\n"
                f'  A running journey with this history would fail its next workflow task ("{DECODE_FAILURE}"). '
                f"workflow.patched() does not apply: every build that may run the journey must read the shape "
                f'(add fields as optional, keep old values readable): see {GUIDE}, "Adding a field".'
            )
        return (
            f"{self.label}: does not replay against the current workflow code\n"
            f"  at {self.event}\n"
            f"  mismatch: {self.mismatch}\n"
            f"  A running journey with this history would fail its next workflow task. Guard the change "
            f"with workflow.patched(...) so old histories take the old path: see {GUIDE}."
        )


def mismatch_text(failure: BaseException) -> str:
    """The core's own sentence, without the Rust struct around it."""
    text = str(failure)
    found = _CORE_MESSAGE.search(text)
    return found.group("text").replace('\\"', '"').replace("\\'", "'") if found else text


def run_id_of(history: WorkflowHistory) -> str:
    first = history.events[0] if history.events else None
    if first is not None and first.HasField("workflow_execution_started_event_attributes"):
        return first.workflow_execution_started_event_attributes.original_execution_run_id
    return ""


def describe_event(event: HistoryEvent) -> str:
    name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    detail = ""
    if event.HasField("activity_task_scheduled_event_attributes"):
        detail = f" activity '{event.activity_task_scheduled_event_attributes.activity_type.name}'"
    elif event.HasField("timer_started_event_attributes"):
        a = event.timer_started_event_attributes
        detail = f" timer {a.timer_id} ({a.start_to_fire_timeout.ToTimedelta()})"
    elif event.HasField("marker_recorded_event_attributes"):
        marker = event.marker_recorded_event_attributes
        patch = MessageToDict(marker).get("details", {}).get("patch_data", {})
        detail = f" marker '{marker.marker_name}'" + (" (patch)" if patch else "")
    elif event.HasField("workflow_execution_signaled_event_attributes"):
        detail = f" signal '{event.workflow_execution_signaled_event_attributes.signal_name}'"
    return f"event {event.event_id} {name}{detail}"


_COMMAND_EVENTS = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
    EventType.EVENT_TYPE_TIMER_STARTED,
    EventType.EVENT_TYPE_TIMER_CANCELED,
    EventType.EVENT_TYPE_MARKER_RECORDED,
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
    EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
}


async def locate(replay: Replayer, history: WorkflowHistory, mismatch: str) -> str:
    """The event where the code and the history part ways. The core names the mismatch but
    not the event, so replay growing prefixes (cut where a workflow task starts; the
    failure is monotonic, so bisect) to find the first workflow task whose commands
    disagree, then pick the event in it that the mismatch names."""
    events = history.events
    named_id = _EVENT_ID.search(mismatch)  # some mismatches do name the event
    if named_id and 0 < int(named_id.group(1)) <= len(events):
        return describe_event(events[int(named_id.group(1)) - 1])
    cuts = [i + 1 for i, e in enumerate(events) if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED]
    cuts.append(len(events))

    async def fails(cut: int) -> bool:
        result = await replay.replay_workflow(
            WorkflowHistory(history.workflow_id, events[:cut]), raise_on_replay_failure=False
        )
        return result.replay_failure is not None

    lo, hi = 0, len(cuts) - 1
    if not await fails(cuts[hi]):
        return "an event that could not be located"
    while lo < hi:
        mid = (lo + hi) // 2
        if await fails(cuts[mid]):
            hi = mid
        else:
            lo = mid + 1
    start = cuts[lo - 1] if lo > 0 else 0
    window = [e for e in events[start : cuts[lo]] if e.event_type in _COMMAND_EVENTS]
    if not window:
        return f"the workflow task ending at event {cuts[lo]}"
    named = _QUOTED.findall(mismatch)
    for event in window:
        if any(f"'{n}'" in describe_event(event) for n in named):
            return describe_event(event)
    return describe_event(window[0])


def decided(history: WorkflowHistory) -> bool:
    """Whether a workflow task of the run has completed. A run that has decided nothing yet
    has nothing to check, and the SDK's replayer waits forever (cancel included) on a
    history that holds only the run's start: a run just continued as new, or just started,
    fetched before its first task. Every replay here skips such a history."""
    return any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for e in history.events)


async def replay_all(
    histories: AsyncIterator[tuple[str, WorkflowHistory]],
    workflows: Sequence[type] | None = None,
    runner: WorkflowRunner | None = None,
    converter: DataConverter | None = None,
) -> AsyncIterator[tuple[str, WorkflowHistory, ReplayProblem | None]]:
    """Replay a stream of (label, history) one at a time, yielding each with its problem
    (None when it replays). Only the history being replayed is held in memory."""
    replay = replayer(workflows or [journey()], runner, converter)
    labels: dict[int, str] = {}

    async def unlabelled() -> AsyncIterator[WorkflowHistory]:
        async for label, history in histories:
            if decided(history):
                labels[id(history)] = label
                yield history

    async with replay.workflow_replay_iterator(unlabelled()) as results:
        async for result in results:
            label = labels.pop(id(result.history))
            failure = result.replay_failure
            problem = None
            if failure is not None:
                # the event is located on demand (`explain`): it costs a few more replays
                problem = ReplayProblem(label, run_id_of(result.history), mismatch_text(failure), "")
            yield label, result.history, problem


async def explain(
    problem: ReplayProblem,
    history: WorkflowHistory,
    workflows: Sequence[type] | None = None,
    converter: DataConverter | None = None,
) -> ReplayProblem:
    """Fill in the event of a problem (a few extra replays of that one history)."""
    problem.event = await locate(replayer(workflows or [journey()], converter=converter), history, problem.mismatch)
    if may_be_schema(problem.mismatch):
        problem.schema = await schema_problem(history, workflows or [journey()], converter) or ""
    return problem


async def replay_files(
    paths: Iterable[Path], workflows: Sequence[type] | None = None, converter: DataConverter | None = None
) -> list[ReplayProblem]:
    """The gate over recorded files: every problem, each explained."""

    async def stream() -> AsyncIterator[tuple[str, WorkflowHistory]]:
        for path in paths:
            yield str(path), load_history(path)

    problems = []
    async for _label, history, problem in replay_all(stream(), workflows, converter=converter):
        if problem is not None:
            problems.append(await explain(problem, history, workflows, converter))
    return problems


def as_text(problems: list[ReplayProblem]) -> str:
    return "\n\n".join(p.message() for p in problems)
