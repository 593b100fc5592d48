"""Inputs the worker cannot decode: encrypted with a key it does not hold, random bytes marked
`binary/encrypted`, `json/plain` that is not JSON, an encoding nobody reads. Each is refused
on the journey like any other bad input (timeline, `status.refused_inputs`); no workflow task
fails, and the journey goes on. Sent by real clients (and the `temporal` CLI) to the
time-skipping server and the dev server, through the worker's encrypting converter."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from activities.settings import ActivitySettings
from contracts.journey import JourneyInput, workflow_id_for
from contracts.signals import ActionTaken, Cancel
from contracts.staff import Pause
from contracts.status import OnboardingState, Status
from lab.histories import journey_runs
from tests.conftest import TEMPORAL_CLI
from tests.harness.privacy_keys import KEY_A, KEY_B, converter
from tests.harness.privacy_support import CANCEL_REASON, HELP_TEXT, MARK
from tests.harness.support import (
    advance_until,
    always_open,
    assert_replays,
    make_deal,
    start_journey,
    status,
    told,
    wait_for_status,
    write_playbook,
)
from worker import build_worker
from workflows.onboarding import OnboardingWorkflow

MINUTE = timedelta(minutes=1)


def client_with(client: Client, data_converter: DataConverter) -> Client:
    """Another client on the same connection, writing with `data_converter`."""
    config = client.config()
    config["data_converter"] = data_converter
    return Client(**config)


def raw(encoding: bytes, data: bytes, **metadata: bytes) -> RawValue:
    return RawValue(Payload(metadata={"encoding": encoding, **metadata}, data=data))


def refusals(s: Status) -> list[str]:
    return [e.detail for e in s.timeline if e.event == "ignored"]


def task_failures(history: Any) -> list[str]:
    return [
        e.workflow_task_failed_event_attributes.failure.message
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]


async def first_task_failure(handle: WorkflowHandle) -> Failure:
    history = await handle.fetch_history()
    return next(
        e.workflow_task_failed_event_attributes.failure
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    )


async def refused_visibly(handle: WorkflowHandle, count: int, shown: str) -> Status:
    """The journey refused its `count`th input with `shown`, where staff look, and answers."""
    now = await wait_for_status(handle, lambda s: s.refused_inputs == count)
    assert refusals(now)[-1] == shown
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert f"ignored: {shown}" in metadata.current_details
    return now


async def test_signals_that_do_not_decode_are_refused_visibly_and_the_journey_goes_on(ts_env, tmp_path, journeys):
    client = ts_env.client
    plain = client_with(client, pydantic_data_converter)  # no codec: what it sends arrives as it is
    key_b = client_with(client, converter(f"{KEY_B},{KEY_A}"))  # encrypts with a key the worker lacks
    customer_text = f"{MARK} {HELP_TEXT}".encode()
    sends = [
        # (signal, how it is sent, what the journey shows)
        (
            "cancel",
            lambda h: plain.get_workflow_handle(h.id).signal("cancel", raw(b"binary/encrypted", os.urandom(64))),
            "cancel: input could not be decrypted (it names no key)",
        ),
        (
            "cancel",
            lambda h: plain.get_workflow_handle(h.id).signal(
                "cancel", raw(b"binary/encrypted", os.urandom(64), **{"encryption-key-id": b"test-a"})
            ),
            "cancel: input could not be decrypted (it was altered, or not encrypted with key 'test-a')",
        ),
        (
            "action_taken",
            lambda h: key_b.get_workflow_handle(h.id).signal(
                OnboardingWorkflow.action_taken, ActionTaken(action="dataset_uploaded", event_id="e-key-b")
            ),
            "action_taken: input could not be decrypted (key 'test-b' is not configured)",
        ),
        (
            "help_requested",
            lambda h: plain.get_workflow_handle(h.id).signal(
                "help_requested", raw(b"json/plain", b'{"message": "' + customer_text)
            ),
            "help_requested: input is not valid JSON",
        ),
        (
            "help_requested",  # the same, encrypted by our own codec: decrypts, then is not JSON
            lambda h: h.signal("help_requested", raw(b"json/plain", customer_text)),
            "help_requested: input is not valid JSON",
        ),
        (
            "action_failed",
            lambda h: plain.get_workflow_handle(h.id).signal(
                "action_failed", raw(b"application/x-onboarding-v9", b'{"action": "x"}')
            ),
            "action_failed: input has an encoding this worker does not read ('application/x-onboarding-v9')",
        ),
        (
            "cancel",  # one of two inputs does not decode: two inputs are one too many anyway
            lambda h: plain.get_workflow_handle(h.id).signal(
                "cancel", args=[raw(b"binary/encrypted", os.urandom(64)), {"reason": "deal lost"}]
            ),
            "cancel: expected one input, got 2",
        ),
        (
            "cancel",  # a key id and an encoding that carry customer text are not repeated
            lambda h: plain.get_workflow_handle(h.id).signal(
                "cancel", raw(customer_text, b"", **{"encryption-key-id": customer_text})
            ),
            "cancel: input has an encoding this worker does not read",
        ),
    ]
    async with journeys(client, playbooks=write_playbook(tmp_path / "pb", always_open)) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await advance_until(ts_env, handle, told("first_action"), step=MINUTE)
        for count, (name, send, shown) in enumerate(sends, start=1):
            await send(handle)
            now = await refused_visibly(handle, count, shown)
            assert now.state is OnboardingState.awaiting_action and now.stage == "first_action", name
        assert MARK not in json.dumps((await status(handle)).model_dump(mode="json")).lower()
        assert not task_failures(await handle.fetch_history())

        # the journey goes on: a real action advances it, a real cancel closes it
        await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action="dataset_uploaded", event_id="e-1"))
        moved = await wait_for_status(handle, lambda s: s.stage == "first_value")
        assert moved.state is OnboardingState.awaiting_action and moved.refused_inputs == len(sends)
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="deal lost"))
        result = await asyncio.wait_for(handle.result(), 30)
        assert result.state is OnboardingState.closed and result.reason == "cancelled: deal lost"
        assert not task_failures(await handle.fetch_history())
        await assert_replays(handle)  # the refusals replay as refusals
        assert len(await journey_runs(client, handle.id)) == 1  # the lab reads the history too


async def test_a_staff_update_that_does_not_decode_is_rejected_with_the_reason(ts_env, tmp_path, journeys):
    client = ts_env.client
    key_b = client_with(client, converter(f"{KEY_B},{KEY_A}"))
    async with journeys(client, playbooks=write_playbook(tmp_path / "pb", always_open)) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await advance_until(ts_env, handle, told("first_action"), step=MINUTE)
        for sender, body, reason in [
            (key_b, Pause(by="maya", reason=CANCEL_REASON), "pause: input could not be decrypted (key 'test-b' is not configured)"),
            (client, raw(b"json/plain", b"{by: maya"), "pause: input is not valid JSON"),
        ]:  # fmt: skip
            with pytest.raises(WorkflowUpdateFailedError) as err:
                await asyncio.wait_for(sender.get_workflow_handle(handle.id).execute_update("pause", body), 30)
            assert str(err.value.cause).endswith(reason)
        current = await status(handle)
        assert not current.paused and current.state is OnboardingState.awaiting_action

        # staff can still act
        paused = await handle.execute_update(OnboardingWorkflow.pause, Pause(by="maya", reason="customer on leave"))
        assert paused.paused
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="deal lost"))
        result = await asyncio.wait_for(handle.result(), 30)
        assert result.state is OnboardingState.closed
        assert not task_failures(await handle.fetch_history())
        await assert_replays(handle)


async def test_a_journey_whose_own_input_does_not_decode_waits_for_the_key_instead_of_running_without_it(
    ts_env, tmp_path
):
    """Not an input to refuse: the journey's start input under a key the worker lacks fails
    its workflow task (retried), and a worker given the key picks it up where it stands."""
    client = ts_env.client
    key_b = client_with(client, converter(f"{KEY_B},{KEY_A}"))
    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    settings = ActivitySettings(ONBOARDING_DATA_DIR=tmp_path / "data")
    playbooks = write_playbook(tmp_path / "pb", always_open)
    deal = make_deal()
    handle = await key_b.start_workflow(
        OnboardingWorkflow.run,
        JourneyInput(deal_id=deal.deal_id, deal=deal),
        id=workflow_id_for(deal.deal_id),
        task_queue=task_queue,
    )
    try:
        async with build_worker(client, settings, task_queue=task_queue, playbooks=playbooks):
            for _ in range(200):
                if failures := task_failures(await handle.fetch_history()):
                    break
                await asyncio.sleep(0.1)
            assert failures == ["Encoded failure"]  # the failure's text is encrypted too
            error = await client.data_converter.decode_failure(await first_task_failure(handle))
            assert str(error).endswith("Failed decoding arguments")
            assert str(error.__cause__).endswith("payload could not be decrypted (key 'test-b' is not configured)")
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        async with build_worker(key_b, settings, task_queue=task_queue, playbooks=playbooks):
            going = await advance_until(ts_env, handle, told("first_action"), step=MINUTE)
            assert going.state is OnboardingState.awaiting_action
            await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="deal lost"))
            assert (await asyncio.wait_for(handle.result(), 30)).state is OnboardingState.closed
    finally:
        with contextlib.suppress(Exception):  # completed, as it should be
            await handle.terminate("test over")


async def cli(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(TEMPORAL_CLI), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode()


async def test_the_cli_signal_marked_encrypted_without_a_codec_is_refused_and_the_journey_goes_on(
    dev_env, tmp_path, journeys
):
    """The report's reproduction: `temporal workflow signal --input-meta encoding=binary/encrypted`."""
    client = dev_env.client
    address = client.service_client.config.target_host
    async with journeys(client, playbooks=write_playbook(tmp_path / "pb", always_open)) as task_queue:
        handle = await start_journey(client, task_queue, make_deal())
        await wait_for_status(handle, told("first_action"))
        code, out = await cli(
            "workflow", "signal", "--address", address, "--workflow-id", handle.id, "--name", "cancel",
            "--input", '{"reason":"x"}', "--input-meta", "encoding=binary/encrypted",
        )  # fmt: skip
        assert code == 0, out
        await refused_visibly(handle, 1, "cancel: input could not be decrypted (it names no key)")
        code, out = await cli(
            "workflow", "signal", "--address", address, "--workflow-id", handle.id, "--name", "action_taken",
            "--input", '{"action": "dataset_uploaded", "event_id": "e-cli"}',
            "--input-meta", "encoding=binary/encrypted", "--input-meta", "encryption-key-id=k9",
        )  # fmt: skip
        assert code == 0, out
        await refused_visibly(handle, 2, "action_taken: input could not be decrypted (key 'k9' is not configured)")
        assert (await status(handle)).stage == "first_action"

        await handle.signal(OnboardingWorkflow.action_taken, ActionTaken(action="dataset_uploaded", event_id="e-1"))
        await wait_for_status(handle, lambda s: s.stage == "first_value")
        await handle.signal(OnboardingWorkflow.cancel, Cancel(reason="deal lost"))
        result = await asyncio.wait_for(handle.result(), 30)
        assert result.state is OnboardingState.closed and result.reason == "cancelled: deal lost"
        assert not task_failures(await handle.fetch_history())
        await assert_replays(handle)
