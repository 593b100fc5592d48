"""A journey started through the webhook leaves no contact email, name, account name or
customer text readable in its history; the same history decodes through the codec server
(`temporal workflow show --codec-endpoint`), and key rotation keeps old histories readable
and replayable (time-skipping server, real HTTP service, real SMTP server)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from datetime import timedelta

import httpx
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Replayer

from contracts.status import OnboardingState
from devstack.smtp_sink import SmtpSink
from privacy.codec import PayloadDecryptionError
from runtime.sandbox import workflow_runner
from tests.conftest import TEMPORAL_CLI
from tests.harness.privacy_keys import CODEC_TOKEN, KEY_A, KEY_B, converter
from tests.harness.privacy_support import (
    ACCOUNT_NAME,
    CONTACT_EMAIL,
    CONTACT_NAME,
    HELP_TEXT,
    history_json,
    http_service,
    leaks,
    marked_deal,
    ts_address,
)
from tests.harness.starters_fixtures import signed, unique
from tests.harness.support import advance_until, write_playbook
from workflows.onboarding import OnboardingWorkflow


async def cli_show(address: str, workflow_id: str, *extra: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(TEMPORAL_CLI), "workflow", "show", "--address", address, "--workflow-id", workflow_id,
        "--output", "json", *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_webhook_journey_history_is_unreadable_without_the_codec_server_and_readable_with_it(
    ts_env, tmp_path, journeys
):
    client = ts_env.client
    deal_id = unique("D-PRIV")
    async with SmtpSink() as sink, journeys(client, smtp_url=sink.url) as task_queue:
        async with (
            http_service(ts_env, task_queue, tmp_path / "data") as base,
            httpx.AsyncClient(base_url=base) as http,
        ):
            response = await http.post(
                "/webhooks/deal-closed", content=(s := signed(marked_deal(deal_id)))[0], headers=s[1]
            )
            assert response.status_code == 202, response.text
            handle = client.get_workflow_handle(response.json()["workflow_id"])
            await advance_until(
                ts_env,
                handle,
                lambda st: (
                    st.waiting_on == "customer" and st.next_action is not None and st.next_action.due_at is not None
                ),
            )
            help_event = {
                "event_id": "h-1",
                "deal_id": deal_id,
                "action": "dataset_uploaded",
                "type": "help",
                "message": HELP_TEXT,
            }
            response = await http.post("/events", content=(s := signed(help_event))[0], headers=s[1])
            assert response.status_code == 202, response.text
            escalated = await advance_until(
                ts_env, handle, lambda st: st.state is OnboardingState.escalated, step=timedelta(minutes=1)
            )
            assert HELP_TEXT[:40] in escalated.reason  # staff read it through the status query
            [kickoff] = [m for m in await sink.wait_for(1) if m["X-Onboarding-Kind"] == "direction"]
            assert CONTACT_EMAIL in kickoff["To"]  # the customer did get the email

            # 1. Without the codec server: nothing personal anywhere in the history.
            code, out, err = await cli_show(ts_address(ts_env), handle.id)
            assert code == 0, err
            shown = json.loads(out)
            assert len(shown["events"]) > 10
            assert leaks(shown) == []
            assert leaks(history_json(await handle.fetch_history())) == []

            # 2. With it: the CLI reads the start input and the help request in clear.
            code, out, err = await cli_show(
                ts_address(ts_env),
                handle.id,
                "--codec-endpoint",
                f"{base}/codec",
                "--codec-auth",
                f"Bearer {CODEC_TOKEN}",
            )
            assert code == 0, err
            decoded = json.loads(out)
            started = decoded["events"][0]["workflowExecutionStartedEventAttributes"]
            [journey_input] = started["input"]["payloads"]
            assert base64.b64decode(journey_input["metadata"]["encoding"]) == b"json/plain"
            journey = json.loads(base64.b64decode(journey_input["data"]))
            assert journey["deal"]["contacts"][0]["email"] == CONTACT_EMAIL
            assert journey["deal"]["account"]["name"] == ACCOUNT_NAME
            assert {CONTACT_NAME, HELP_TEXT} <= set(leaks(decoded))

            # 3. A wrong token decodes nothing.
            code, out, _ = await cli_show(
                ts_address(ts_env), handle.id, "--codec-endpoint", f"{base}/codec", "--codec-auth", "Bearer wrong"
            )
            assert leaks(json.loads(out)) == [] if code == 0 else CONTACT_EMAIL not in out
        await handle.signal(OnboardingWorkflow.cancel, {"reason": "test over"})
        await handle.result()


async def test_key_rotation_old_history_replays_and_decodes_after_the_current_key_changes(ts_env, tmp_path):
    address = ts_address(ts_env)
    with_a = await Client.connect(address, data_converter=converter(KEY_A))
    rotated = await Client.connect(address, data_converter=converter(f"{KEY_B},{KEY_A}"))  # B current, A kept
    only_b = converter(KEY_B)
    playbooks = write_playbook(tmp_path / "playbooks")
    deal = marked_deal(unique("D-ROT"))
    task_queue = unique("rotation")
    handle = await with_a.start_workflow(
        OnboardingWorkflow.run,
        {"deal_id": deal["deal_id"], "deal": deal},
        id=f"onboarding-{deal['deal_id']}",
        task_queue=task_queue,
    )
    handle_b = rotated.get_workflow_handle(handle.id)
    try:
        async with _worker_on(with_a, task_queue, tmp_path / "a", playbooks):
            await advance_until(
                ts_env,
                handle,
                lambda st: (
                    st.waiting_on == "customer" and st.next_action is not None and st.next_action.due_at is not None
                ),
            )
        # The same journey goes on under a worker whose current key is B.
        async with _worker_on(rotated, task_queue, tmp_path / "b", playbooks):
            await handle_b.signal(OnboardingWorkflow.help_requested, {"message": HELP_TEXT, "event_id": "h-rot"})
            await advance_until(
                ts_env, handle_b, lambda st: st.state is OnboardingState.escalated, step=timedelta(minutes=1)
            )
            await handle_b.signal(OnboardingWorkflow.cancel, {"reason": "test over"})
            await handle_b.result()
    finally:
        with contextlib.suppress(RPCError):  # completed, as it should be
            await handle.terminate("test ended with the journey still running")

    history = await handle_b.fetch_history()
    key_ids = _key_ids(history_json(history))
    assert {"test-a", "test-b"} <= key_ids  # written under both keys
    # replays with the rotated keys ...
    await Replayer(
        workflows=[OnboardingWorkflow], data_converter=rotated.data_converter, workflow_runner=workflow_runner()
    ).replay_workflow(history)
    # ... and not once key A is dropped: the error names the missing key
    result = await Replayer(
        workflows=[OnboardingWorkflow], data_converter=only_b, workflow_runner=workflow_runner()
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None
    # the codec server with the rotated keys decodes both kinds
    async with (
        http_service(ts_env, "unused-queue", tmp_path / "svc", onboarding_codec_keys=f"{KEY_B},{KEY_A}") as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        started = history.events[0].workflow_execution_started_event_attributes
        signal_payloads = [
            e.workflow_execution_signaled_event_attributes.input.payloads[0]
            for e in history.events
            if e.HasField("workflow_execution_signaled_event_attributes")
        ]
        body = json_format.MessageToDict(Payloads(payloads=[started.input.payloads[0], *signal_payloads]))
        response = await http.post("/codec/decode", json=body, headers={"Authorization": f"Bearer {CODEC_TOKEN}"})
        assert response.status_code == 200, response.text
        decoded = Payloads()
        json_format.ParseDict(response.json(), decoded)
        texts = [p.data.decode() for p in decoded.payloads]
        assert CONTACT_EMAIL in texts[0] and any(HELP_TEXT in t for t in texts[1:])
    try:
        await only_b.payload_codec.decode([started.input.payloads[0]])
    except PayloadDecryptionError as err:
        assert "test-a" in str(err)
    else:
        raise AssertionError("a payload under a dropped key decrypted")


def _key_ids(document) -> set[str]:
    import base64

    found: set[str] = set()

    def walk(value):
        if isinstance(value, dict):
            if "encryption-key-id" in value:
                found.add(base64.b64decode(value["encryption-key-id"]).decode())
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(document)
    return found


def _worker_on(client, task_queue, data_dir, playbooks):
    """A worker on an existing journey's task queue."""
    from activities.settings import ActivitySettings
    from worker import build_worker

    settings = ActivitySettings(ONBOARDING_DATA_DIR=data_dir)
    # No sticky cache: the next worker (other keys) takes the journey's next task at once.
    return build_worker(client, settings, task_queue=task_queue, playbooks=playbooks, max_cached_workflows=0)
