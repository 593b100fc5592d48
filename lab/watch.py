"""The lab's watch over its one clock: a walk whose journey holds it still is found, abandoned
and said stuck, so the other walks on the same time-skipping server go on (lab/stall.py reads
the histories; lab/runtime.py walks)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from google.protobuf.empty_pb2 import Empty
from temporalio.api.testservice.v1 import UnlockTimeSkippingRequest
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError

from lab.histories import journey_runs
from lab.persona_run import persona_workflow_id
from lab.stall import Holding, holding, latest_run, where_it_stood

# Looks at a still clock that find nobody holding it before a walk gives up on its own.
_QUIET_LOOKS = 2


class ClockWatch:
    """Shared by every walk of one lab; `in_flight` names the journeys being walked."""

    def __init__(self, client: Client, in_flight: Callable[[], Iterable[str]]) -> None:
        self.client, self._in_flight = client, in_flight
        self._stuck: dict[str, str] = {}  # journey id -> why its walk was abandoned
        self._suspects: dict[str, tuple[int, float]] = {}  # workflow id -> open event, when first seen
        self._looking = asyncio.Lock()
        self._looked: tuple[float, bool] = (float("-inf"), False)  # when the last look was, what it found
        self._began: dict[str, datetime] = {}  # journey id -> the lab's clock when its walk began
        self._leaked = 0  # time-skipping locks the test server kept for work of abandoned walks

    async def begin(self, journey_id: str) -> None:
        self._began[journey_id] = await self.clock()

    def end(self, journey_id: str) -> None:
        self._stuck.pop(journey_id, None)
        self._began.pop(journey_id, None)

    async def wait(self, result: asyncio.Future[Any], journey_id: str, seconds: float) -> str | None:
        """Wait for the persona's result; None when it came, or why the walk was abandoned."""
        quiet = 0
        while True:
            virtual, real = await self.clock(), time.monotonic()
            await asyncio.wait({result}, timeout=seconds)
            if journey_id in self._stuck:
                return self._stuck[journey_id]
            if result.done():
                return None
            # Held, the clock runs at the pace of real time; walking, it skips ahead.
            skipped = (await self.clock() - virtual).total_seconds() - (time.monotonic() - real)
            if skipped > 1.0:
                quiet = 0
                continue
            busy = await self._free_the_clock(seconds)
            if journey_id in self._stuck:
                return self._stuck[journey_id]
            quiet = 0 if busy else quiet + 1
            if quiet >= _QUIET_LOOKS:
                why = (
                    f"the lab's clock stood still for {quiet * seconds:g} s of real time and no journey "
                    f"was found holding it; last {await self._where(journey_id)}"
                )
                self._stuck[journey_id] = why
                await self._abandon(persona_workflow_id(journey_id), journey_id)
                return why

    async def _free_the_clock(self, seconds: float) -> bool:
        """Look at every walk in flight; abandon those whose journey (or persona) holds the
        clock: a workflow task that keeps failing at once, an activity or workflow task in
        flight once the same one is still open a whole stall after it was first seen. True
        when anything was in flight or freed."""
        async with self._looking:
            # Every stalled walk asks at about the same moment: one look serves them all.
            if time.monotonic() - self._looked[0] < seconds / 2:
                return self._looked[1]
            now, changed = time.monotonic(), False
            suspects: dict[str, tuple[int, float]] = {}

            def settled(workflow_id: str, held: Holding) -> bool:
                """The same work still open a whole stall after it was first seen."""
                event_id, since = self._suspects.get(workflow_id, (0, now))
                return event_id == held.event_id and now - since >= seconds

            for journey_id in list(self._in_flight()):
                if journey_id in self._stuck:
                    continue
                held = {w: await self._holding(w) for w in (journey_id, persona_workflow_id(journey_id))}
                culprit = next(((w, h) for w, h in held.items() if h and (h.failing or settled(w, h))), None)
                if culprit is None:
                    for w, h in held.items():
                        if h:
                            seen = self._suspects.get(w)
                            suspects[w] = seen if seen and seen[0] == h.event_id else (h.event_id, now)
                    continue
                whose = "the journey's" if culprit[0] == journey_id else "the persona's"
                self._stuck[journey_id] = f"{whose} {culprit[1].why}; last {await self._where(journey_id)}"
                await self._abandon(persona_workflow_id(journey_id), journey_id)
                self._leaked += sum(h.in_flight for h in held.values() if h)
                changed = True
            if not changed and not suspects and self._leaked:
                # The test server keeps the time-skipping lock of work that was in flight when
                # its workflow was terminated (temporalio/sdk-java#1138): with nothing else in
                # flight and the clock still held, give those locks back.
                for _ in range(self._leaked):
                    with suppress(RPCError):
                        await self.client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
                self._leaked, changed = 0, True
            found = changed or bool(suspects)
            self._suspects, self._looked = suspects, (time.monotonic(), found)
            return found

    async def _holding(self, workflow_id: str) -> Holding | None:
        try:
            return holding(await latest_run(self.client, workflow_id))
        except RPCError:  # not started yet
            return None

    async def _where(self, journey_id: str) -> str:
        runs = await self.runs(journey_id)
        return where_it_stood(runs[-1]) if runs else "state: the journey never started"

    async def runs(self, journey_id: str) -> list[WorkflowHistory]:
        """This walk's journey, every run; none when it has not started (an earlier walk's
        journey of the same id, on a shared server, is not this one)."""
        try:
            runs = await journey_runs(self.client, journey_id)
        except RPCError:
            return []
        started = runs[0].events[0].event_time.ToDatetime(tzinfo=UTC)
        return runs if started >= self._began.get(journey_id, started) else []

    async def clock(self) -> datetime:
        now = await self.client.test_service.get_current_time(Empty())
        return now.time.ToDatetime(tzinfo=UTC)

    async def _abandon(self, *workflow_ids: str) -> None:
        """A stuck walk holds the shared clock for every other one: end it."""
        for workflow_id in workflow_ids:
            with suppress(RPCError):
                await self.client.get_workflow_handle(workflow_id).terminate("journey lab: stuck, abandoned")
