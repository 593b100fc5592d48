"""Property-based fuzz of every signal, update and the query of the journey's contract,
sent raw through the real client to a real journey on the time-skipping server: wrong
types, missing and extra fields, nulls, huge text, no input, two inputs.

Whatever arrives: no workflow task ever fails; a signal that cannot be used is counted in
`status.refused_inputs` and shown in the timeline ("ignored", "<signal>: ..."); an update
that cannot be used is refused with a WorkflowUpdateFailedError naming the field.

Hypothesis drives plain functions, so the journeys live on an event loop of their own in a
background thread, with their own time-skipping server and worker."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import WorkflowHandle, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from contracts.deal import DealClosed
from contracts.search_attributes import ALL
from contracts.signals import (
    ActionFailed,
    ActionTaken,
    Cancel,
    DealInCrm,
    HelpRequested,
    OwnerAcknowledged,
    Unsubscribed,
)
from contracts.staff import ExtendDeadline, Pause, ReassignOwner, ResolveEscalation, Resume
from contracts.status import OnboardingState, Status
from lab.drive import told as told_at
from tests.conftest import TEST_SERVER
from tests.harness.privacy_keys import CONVERTER
from tests.harness.support import (
    advance_until,
    journey_worker,
    make_deal,
    start_journey,
    status,
    wait_for_status,
    write_playbook,
)
from tests.harness.traffic import chain

SIGNALS: dict[str, type[BaseModel]] = {
    "deal_closed": DealClosed,
    "deal_in_crm": DealInCrm,
    "action_taken": ActionTaken,
    "action_failed": ActionFailed,
    "help_requested": HelpRequested,
    "owner_acknowledged": OwnerAcknowledged,
    "cancel": Cancel,
    "unsubscribed": Unsubscribed,
}
UPDATES: dict[str, type[BaseModel]] = {
    "resolve_escalation": ResolveEscalation,
    "reassign_owner": ReassignOwner,
    "extend_deadline": ExtendDeadline,
    "pause": Pause,
    "resume": Resume,
}
RPC_TIMEOUT = timedelta(seconds=60)  # a busy shared machine is slow, not wrong
FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
    st.just("x" * 5_000),
    st.just("y" * 50_000),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(text, st.integers(), max_size=2),
    st.sampled_from(
        [
            "",
            "  ",
            "leo",
            "maya",
            "retry",
            "skip",
            "reassign",
            "close",
            "hubspot",
            "dataset_uploaded",
            "2026-11-20T15:04:05Z",
            "2030-01-01T09:00:00",
            "9999-12-31T23:59:59+00:00",
            "e-1",
        ]
    ),
)


def objects(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects shaped like the model: any of its fields with any value, maybe an extra one."""
    fields = {name: values for name in model.model_fields}
    return st.fixed_dictionaries({}, optional={**fields, "colour": values})


def arguments(model: type[BaseModel]) -> st.SearchStrategy[list[Any]]:
    one = objects(model)
    return st.one_of(
        st.just([]),  # no input (the Web UI's empty submit)
        st.builds(lambda o: [o], one),
        st.builds(lambda a, b: [a, b], one, one),  # two inputs
        st.builds(lambda v: [v], values),  # not an object at all, or null
    )


def usable(model: type[BaseModel], args: list[Any]) -> bool:
    if len(args) != 1 or not isinstance(args[0], dict):
        return False
    try:
        model.model_validate(args[0])
    except ValidationError:
        return False
    return True


def named_field(model: type[BaseModel], args: list[Any]) -> str:
    """What a refusal of `args` must name: the field (or why there is no usable input)."""
    if len(args) > 1:
        return "expected one input"
    if not args or args[0] is None:  # nothing, or an explicit null
        return "no input"
    if not isinstance(args[0], dict):
        return "input must be an object"
    try:
        model.model_validate(args[0])
    except ValidationError as err:
        first = err.errors()[0]
        return ".".join(str(p) for p in first["loc"]) or first["msg"].removeprefix("Value error, ")
    raise AssertionError("usable input has no field to name")


told = told_at("first_action")  # the customer has been told the first action (lab/drive.py)


class Journeys:
    """A time-skipping server, a worker and one journey per handler, on a background loop."""

    def __init__(self, tmp_path: Path) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._tmp = tmp_path
        self._stack = AsyncExitStack()
        self.handles: dict[str, WorkflowHandle] = {}
        self.every: list[WorkflowHandle] = []
        self.run(self._start())

    def run(self, coro: Any, timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _start(self) -> None:
        self.env = await self._stack.enter_async_context(
            await WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=str(TEST_SERVER), data_converter=CONVERTER
            )
        )
        await self.env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=self.env.client.namespace,
                search_attributes={k.name: IndexedValueType.ValueType(k.indexed_value_type) for k in ALL},
            )
        )

        def always_open(playbook: dict[str, Any]) -> None:
            days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            playbook["business_hours"] = {"start": "00:00", "end": "23:59:59", "days": days, "proactive_per_day": 10}

        playbooks = write_playbook(self._tmp / "playbooks", always_open)
        self.task_queue = await self._stack.enter_async_context(
            journey_worker(self.env.client, self._tmp, playbooks=playbooks)
        )

    async def journey(self, handler: str, *, escalated: bool = False) -> WorkflowHandle:
        """The journey this handler is fuzzed on; a fresh one once it has ended."""
        handle = self.handles.get(handler)
        if handle is not None and (await status(handle)).state not in (
            OnboardingState.closed,
            OnboardingState.activated,
        ):
            return handle
        handle = await start_journey(self.env.client, self.task_queue, make_deal())
        await advance_until(self.env, handle, told, step=timedelta(minutes=1))
        if escalated:
            await handle.signal("help_requested", {"message": "stuck", "event_id": "h-0"})
            await advance_until(
                self.env, handle, lambda s: s.state is OnboardingState.escalated, step=timedelta(minutes=1)
            )
        self.handles[handler] = handle
        self.every.append(handle)
        return handle

    async def task_failures(self) -> list[str]:
        """Workflow tasks the journey's code failed (the server's own retry of a completion
        that a new event overtook, UNHANDLED_COMMAND, is not one)."""
        found = []
        for handle in self.every:
            found += (await chain(self.env.client, handle)).worker_task_failures()
        return found

    def close(self) -> None:
        try:
            for handle in self.every:
                with contextlib.suppress(Exception):  # ended already
                    self.run(handle.terminate("fuzz over"), timeout=10)
            self.run(self._stack.aclose(), timeout=60)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()


@pytest.fixture(scope="module")
def journeys(tmp_path_factory: pytest.TempPathFactory):
    lab = Journeys(tmp_path_factory.mktemp("fuzz"))
    yield lab
    lab.close()


async def signal_and_check(lab: Journeys, name: str, model: type[BaseModel], args: list[Any]) -> None:
    handle = await lab.journey(name)
    before = (await status(handle)).refused_inputs
    await handle.signal(name, args=args, rpc_timeout=RPC_TIMEOUT)
    if name == "cancel" and usable(model, args):
        assert (await asyncio.wait_for(handle.result(), 30)).state is OnboardingState.closed
        return
    await handle.signal("fuzz_marker", {})  # refused, after the fuzzed one: both are processed then
    expected = before + (0 if usable(model, args) else 1) + 1
    now = await wait_for_status(handle, lambda s: s.refused_inputs >= expected)
    assert now.refused_inputs == expected, (name, args)
    ignored = [e.detail for e in now.timeline if e.event == "ignored"]
    assert ignored[-1].startswith("fuzz_marker: no such signal")
    if not usable(model, args):
        assert ignored[-2].startswith(f"{name}: ") and named_field(model, args) in ignored[-2], (args, ignored[-2])


@pytest.mark.parametrize("name", list(SIGNALS))
def test_fuzz_signal(journeys: Journeys, name: str) -> None:
    model = SIGNALS[name]

    @FUZZ
    @given(args=arguments(model))
    def property(args: list[Any]) -> None:
        journeys.run(signal_and_check(journeys, name, model, args))

    property()
    assert journeys.run(journeys.task_failures()) == []


REFUSALS = {"ValueError", "Refused", "", None}


async def update_and_check(lab: Journeys, name: str, model: type[BaseModel], args: list[Any]) -> None:
    handle = await lab.journey(name, escalated=name == "resolve_escalation")
    try:
        answer = await handle.execute_update(name, args=args, result_type=Status, rpc_timeout=RPC_TIMEOUT)
    except WorkflowUpdateFailedError as refused:
        cause = refused.cause
        assert isinstance(cause, ApplicationError), repr(cause)
        # A refusal is a validator's ValueError (Refused is one) or the handler's own
        # ApplicationError; anything else (TypeError, KeyError, ...) is a crash. str() of an
        # ApplicationError puts its type first, so the message a person reads is `.message`.
        assert cause.type in REFUSALS, (args, cause.type, cause.message)
        reason = cause.message
        if not usable(model, args):
            assert named_field(model, args) in reason, (args, reason)
        assert reason and "Traceback" not in reason and "Error:" not in reason, reason
    else:
        assert usable(model, args), (args, answer)
    assert (await status(handle)).deal_id  # still answering


def test_usable_input_that_does_not_apply_now_is_refused_in_words(journeys: Journeys) -> None:
    """A well-formed `resume` on a journey that is not paused: the refusal says why, as a
    person reads it (this case used to fail the fuzz whenever hypothesis drew it)."""
    journeys.run(update_and_check(journeys, "resume", UPDATES["resume"], [{"by": "0"}]))


@pytest.mark.parametrize("name", list(UPDATES))
def test_fuzz_update(journeys: Journeys, name: str) -> None:
    model = UPDATES[name]

    @FUZZ
    @given(args=arguments(model))
    def property(args: list[Any]) -> None:
        journeys.run(update_and_check(journeys, name, model, args))

    property()
    assert journeys.run(journeys.task_failures()) == []


async def query_and_check(lab: Journeys, args: list[Any]) -> None:
    handle = await lab.journey("status")
    try:
        answer = await handle.query("status", args=args, result_type=Status)
        assert answer.deal_id
    except WorkflowQueryFailedError:
        assert args  # only arguments the query does not take are refused
    assert (await status(handle)).stage == "first_action"


def test_fuzz_status_query(journeys: Journeys) -> None:
    @FUZZ
    @given(args=st.one_of(st.just([]), st.lists(values, min_size=1, max_size=2)))
    def property(args: list[Any]) -> None:
        journeys.run(query_and_check(journeys, args))

    property()
    assert journeys.run(journeys.task_failures()) == []
