"""The SDK's floor: the bare shape of a journey, with nothing of ours in it.

A kickoff is three activities (snapshot the playbook, assign the owner, send the email) and
a move is a signal followed by one activity (the next email). `BareWorkflow` does exactly
that with no-op activities, so the worker CPU it costs is what the Python SDK itself costs
for that shape; `bench.scale` divides the journey's figures by these.

This module holds only the workflow and its activity: the sandbox re-imports it for every
run, and anything more would raise the floor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import activity, workflow

KICKOFF_ACTIVITIES = 3


class Noop:
    """The no-op activity; `done` is called once per completed call (the benchmark counts)."""

    def __init__(self, done: Callable[[], None]) -> None:
        self._done = done

    @activity.defn(name="noop")
    async def noop(self, step: int) -> int:
        self._done()
        return step


@workflow.defn(name="BareWorkflow")
class BareWorkflow:
    def __init__(self) -> None:
        self._moved = False

    @workflow.run
    async def run(self, deal_id: str) -> str:
        for step in range(KICKOFF_ACTIVITIES):
            await workflow.execute_activity("noop", step, start_to_close_timeout=timedelta(seconds=30))
        await workflow.wait_condition(lambda: self._moved)
        await workflow.execute_activity("noop", KICKOFF_ACTIVITIES, start_to_close_timeout=timedelta(seconds=30))
        return deal_id

    @workflow.signal
    def move(self) -> None:
        self._moved = True
