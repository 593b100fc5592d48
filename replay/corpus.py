"""The replay gate: replay recorded or downloaded histories against the current workflow
code and explain any non-determinism (which history, which event, what differs).

Used by the corpus test in `make test`, by `onboarding replay` and by the benchmark."""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, WorkflowRunner

from contracts.journey import workflow_id_for
from replay import diagnosis
from replay.commands import CommandLog
from replay.diagnosis import COMMAND_EVENTS, GUIDE, Diagnosis, describe_event
from replay.schema import DECODE_FAILURE, may_be_schema, schema_problem
from runtime.replayer import replayer, replaying

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "histories"
__all__ = ["GUIDE", "describe_event"]

_CORE_MESSAGE = re.compile(r'message: "(?P<text>(?:[^"\\]|\\.)*)"')


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
    mismatch: str  # the replayer's own sentence
    event: str  # the history's event where the code and the history part ways
    code: str = ""  # the command the new code produced there
    history: str = ""  # what the history holds there
    cause: str = ""  # diagnosis.UNGUARDED, ROLLBACK, UNREADABLE_FIELD, UNDECODABLE, HASH_ORDER
    detail: str = ""  # the patch or the field this build does not know
    replayer_event: str = ""  # where the replayer stopped, when that is another event
    seeds: list[int] = field(default_factory=list)  # the hash seeds it failed under (replay/seeds.py)
    of_seeds: int = 0
    schema: str = ""  # set when the history does not decode here (replay.schema)

    def message(self) -> str:
        if self.schema:
            lines = [f"{self.label}: does not decode in the current code", f"  at {self.event}", f"  {self.schema}"]
            if self.cause == diagnosis.UNREADABLE_FIELD:
                lines.append("  " + Diagnosis(self.cause, detail=self.detail).advice(self.seeds, self.of_seeds))
            lines.append(
                f'  A running journey with this history would fail its next workflow task ("{DECODE_FAILURE}"). '
                f"workflow.patched() does not apply: every build that may run the journey must read the shape "
                f'(add fields as optional, keep old values readable): see {GUIDE}, "Adding a field".'
            )
            return "\n".join(lines)
        lines = [f"{self.label}: does not replay against the current workflow code"]
        if self.event:
            lines.append(f"  at {self.event}")
        if self.code:
            lines.append(f"  the new code: {self.code}")
        if self.history:
            same = self.event and self.history.startswith(self.event)
            lines.append(f"  the history:  {'that event' + self.history[len(self.event) :] if same else self.history}")
        where = f" (it stopped at {self.replayer_event})" if self.replayer_event else ""
        lines.append(f"  mismatch{where}: {self.mismatch}")
        advice = Diagnosis(self.cause or diagnosis.cause_of(self.mismatch), detail=self.detail)
        lines.append("  " + advice.advice(self.seeds, self.of_seeds))
        return "\n".join(lines)

    def fields(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def mismatch_text(failure: BaseException) -> str:
    """The core's own sentence, without the Rust struct around it, with the causes it
    carries (a payload that could not be decoded, and why) on lines of their own."""
    text = str(failure)
    found = [m.group("text") for m in _CORE_MESSAGE.finditer(text)]
    if not found:
        return text
    first, *causes = (t.replace('\\"', '"').replace("\\'", "'").replace("\\n", "\n") for t in found)
    return first + "".join(
        f"\n    caused by: {cause}".replace("\n", "\n      ").replace("\n      ", "\n    ", 1) for cause in causes
    )


def run_id_of(history: WorkflowHistory) -> str:
    first = history.events[0] if history.events else None
    if first is not None and first.HasField("workflow_execution_started_event_attributes"):
        return first.workflow_execution_started_event_attributes.original_execution_run_id
    return ""


async def locate(replay: Replayer, history: WorkflowHistory, mismatch: str) -> int | None:
    """The event where the replayer stops. Its error names the mismatch, and the event only
    sometimes, so replay growing prefixes (cut where a workflow task starts; the failure is
    monotonic, so bisect) to find the first workflow task whose commands disagree, then pick
    the event in it that the error is about."""
    events = history.events
    named = diagnosis.event_named(mismatch)
    if named is not None and 0 < named <= len(events):
        return named
    cuts = [i + 1 for i, e in enumerate(events) if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED]
    cuts.append(len(events))

    async def fails(cut: int) -> bool:
        result = await replay.replay_workflow(
            WorkflowHistory(history.workflow_id, events[:cut]), raise_on_replay_failure=False
        )
        return result.replay_failure is not None

    lo, hi = 0, len(cuts) - 1
    if not await fails(cuts[hi]):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if await fails(cuts[mid]):
            hi = mid
        else:
            lo = mid + 1
    start = cuts[lo - 1] if lo > 0 else 0
    window = [e for e in events[start : cuts[lo]] if e.event_type in COMMAND_EVENTS]
    found = diagnosis.locate_in(mismatch, window)
    return found.event_id if found is not None else cuts[lo]


async def scheduled_by(
    workflows: Sequence[type], history: WorkflowHistory, converter: DataConverter | None
) -> list[diagnosis.Scheduled]:
    """The activities the code schedules replaying `history`, up to where it fails."""
    log = CommandLog()
    replay = replayer(workflows, converter=converter, interceptors=[log])
    await replay.replay_workflow(history, raise_on_replay_failure=False)
    return log.scheduled


def known_patches(workflows: Sequence[type]) -> frozenset[str]:
    """The patches the checked build asks for: its `known_patches` (an older build's stand-in
    in the tests), else this checkout's (workflows/versions.py)."""
    declared = getattr(workflows[0], "known_patches", None) if workflows else None
    if declared is not None:
        return frozenset(declared)
    from workflows.versions import ALL

    return frozenset(ALL)


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

    with replaying():
        async with replay.workflow_replay_iterator(unlabelled()) as results:
            async for result in results:
                label = labels.pop(id(result.history))
                failure = result.replay_failure
                problem = None
                if failure is not None:
                    # the event is located on demand (`explain`): it costs a few more replays
                    mismatch = mismatch_text(failure)
                    problem = ReplayProblem(
                        label, run_id_of(result.history), mismatch, "", cause=diagnosis.cause_of(mismatch)
                    )
                yield label, result.history, problem


async def explain(
    problem: ReplayProblem,
    history: WorkflowHistory,
    workflows: Sequence[type] | None = None,
    converter: DataConverter | None = None,
) -> ReplayProblem:
    """Fill in where and why (a few extra replays of that one history): the event, the new
    code's command against the history's, the cause."""
    workflows = workflows or [journey()]
    with replaying():
        located = await locate(replayer(workflows, converter=converter), history, problem.mismatch)
        scheduled = await scheduled_by(workflows, history, converter)
    found = diagnosis.diagnose(problem.mismatch, history.events, scheduled, known_patches(workflows), located)
    events = history.events
    if found.event_id is not None and 0 < found.event_id <= len(events):
        problem.event = describe_event(events[found.event_id - 1])
    elif located is not None and 0 < located <= len(events):
        problem.event = describe_event(events[located - 1])
    else:
        problem.event = "an event that could not be located"
    compared = found.cause in (diagnosis.UNGUARDED, diagnosis.ROLLBACK)
    if compared and located is not None and found.event_id is not None and located != found.event_id:
        problem.replayer_event = f"event {located}"
    problem.code, problem.history, problem.detail = found.code, found.history, found.detail
    if problem.cause != diagnosis.HASH_ORDER:
        problem.cause = found.cause
    if may_be_schema(problem.mismatch):
        problem.schema = await schema_problem(history, workflows, converter) or ""
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
