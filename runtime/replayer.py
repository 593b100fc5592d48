"""The Replayer every check of recorded journeys uses (the replay gate, `onboarding replay`,
the journey explorer): built as the worker is built, so a history replays here exactly as
a worker would run it."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator, Sequence

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.worker import Interceptor, Replayer, WorkflowRunner

from privacy.undecodable import workflow_converter
from runtime.sandbox import workflow_runner


@functools.cache
def quiet_runtime() -> Runtime:
    """The SDK runtime every replay here uses: the core's own log at errors only. At its
    default it logs a warning (the same one, a full Rust struct) for every workflow task that
    fails to replay, and locating one mismatch replays the history several times: hundreds of
    lines around the one report that says it better (replay/corpus.py)."""
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=TelemetryFilter("ERROR", "ERROR"))))


def replayer(
    workflows: Sequence[type],
    runner: WorkflowRunner | None = None,
    converter: DataConverter | None = None,
    interceptors: Sequence[Interceptor] = (),
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
        interceptors=list(interceptors),
        runtime=quiet_runtime(),
    )


class _WhileReplaying(logging.Filter):
    """Drops the SDK's "Failed activation" warning (a traceback per failing workflow task)
    while this process replays histories on purpose: locating one problem replays its
    history several times, and the report names the problem once, better. Counted."""

    active = 0
    dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if self.active and getattr(record, "__temporal_error_identifier", None) == "WorkflowTaskFailure":
            type(self).dropped += 1
            return False
        return True


_FILTER = _WhileReplaying()


@contextlib.contextmanager
def replaying() -> Iterator[None]:
    """Around replays: the SDK's per-task failure warnings are counted, not printed."""
    sdk = logging.getLogger("temporalio.worker._workflow_instance")
    if _FILTER not in sdk.filters:
        sdk.addFilter(_FILTER)
    _WhileReplaying.active += 1
    try:
        yield
    finally:
        _WhileReplaying.active -= 1


def hidden_warnings() -> int:
    """How many SDK warnings `replaying` kept off the console so far."""
    return _WhileReplaying.dropped
