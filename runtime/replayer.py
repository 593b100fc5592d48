"""The Replayer every check of recorded journeys uses (the replay gate, `onboarding replay`,
the journey explorer): built as the worker is built, so a history replays here exactly as
a worker would run it."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, WorkflowRunner

from privacy.undecodable import workflow_converter
from runtime.sandbox import workflow_runner


def replayer(
    workflows: Sequence[type],
    runner: WorkflowRunner | None = None,
    converter: DataConverter | None = None,
) -> Replayer:
    """The Replayer every gate uses: the worker's converter and sandbox runner (another
    runner only to measure what the sandbox costs). `converter`: the one with the payload
    keys (privacy.converter) for encrypted histories; the recorded corpus is plain JSON,
    which the encrypting converter reads as it is too. Read as the worker reads it
    (privacy.undecodable): a signal the worker refused as undecodable replays refused."""
    converter = workflow_converter(converter or pydantic_data_converter)
    return Replayer(
        workflows=list(workflows),
        data_converter=converter,
        workflow_runner=runner or workflow_runner(converter),
    )
