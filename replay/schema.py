"""Schema incompatibility: a history holds a payload this build cannot decode (a field it does
not know where it refuses unknown fields, a changed type, an enum value added later), so the
journey's next workflow task fails on "Failed decoding arguments". No `workflow.patched()`
helps there: the shape has to be readable by every build that may run the journey
(docs/versioning.md, "Adding a field"). This names the shape and the field, for the replay
gate and `onboarding replay`, instead of the advice for a change of commands."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from privacy.undecodable import TolerantJSONConverter, WorkflowPayloadConverter, workflow_converter

# The SDK's words when a workflow's input, an activity's result or a typed update's input
# does not decode; the cause (pydantic's error) stays on the worker's side.
DECODE_FAILURE = "Failed decoding arguments"
_SHOWN = 3


def is_decode_failure(mismatch: str) -> bool:
    return DECODE_FAILURE in mismatch


def may_be_schema(mismatch: str) -> bool:
    """Worth a look for a shape that does not decode: any failure but a nondeterminism. Where
    failures are encrypted (every deployment) the replayer sees only "Encoded failure"."""
    return "Nondeterminism" not in mismatch


def fields(err: ValidationError) -> list[str]:
    """Each problem in a build's words: `field X unknown to this build`, or the field and why."""
    found = []
    for problem in err.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "(the whole value)"
        if problem["type"] == "extra_forbidden":
            found.append(f"field {where} unknown to this build")
        else:
            found.append(f"{where}: {problem['msg']}")
    return found


async def schema_problem(
    history: WorkflowHistory, workflows: Sequence[type], converter: DataConverter | None = None
) -> str | None:
    """Why this history does not decode here (None: it does, the problem is another). Replays
    it once more outside the sandbox, with a converter that keeps pydantic's error."""
    seen: list[tuple[Any, ValidationError]] = []

    class Recording(TolerantJSONConverter):
        def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
            try:
                return super().from_payload(payload, type_hint)
            except ValidationError as err:
                seen.append((type_hint, err))
                raise

    class Payloads(WorkflowPayloadConverter):
        json_converter = Recording

    reading = dataclasses.replace(
        workflow_converter(converter or pydantic_data_converter), payload_converter_class=Payloads
    )
    replay = Replayer(workflows=list(workflows), data_converter=reading, workflow_runner=UnsandboxedWorkflowRunner())
    await replay.replay_workflow(history, raise_on_replay_failure=False)
    if not seen:
        return None
    shape, err = seen[0]
    listed = fields(err)
    more = len(listed) - _SHOWN
    named = "; ".join(listed[:_SHOWN]) + (f"; and {more} more" if more > 0 else "")
    return f"schema incompatibility: a {getattr(shape, '__name__', shape)} in the history does not decode: {named}"
