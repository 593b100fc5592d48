"""No customer text in any log line: journeys driven with a marker in every customer field
(contact names and emails, account name, help message, failure reason, cancel reason), the
happy path and the error paths (malformed and refused signals, malformed and unsigned
webhooks, forged unsubscribe links, codec server misuse), every log line captured: the
worker's logging as worker.py configures it, the HTTP service's, and whatever reaches the
process's stdout and stderr (the SDK core's own log lines included)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from temporalio.client import WorkflowUpdateFailedError

from contracts.status import OnboardingState
from devstack.smtp_sink import SmtpSink
from tests.harness.privacy_keys import CODEC_TOKEN
from tests.harness.privacy_support import (
    CANCEL_REASON,
    CONTACT_EMAIL,
    FAILURE_REASON,
    HELP_TEXT,
    MARK,
    http_service,
    marked_deal,
)
from tests.harness.starters_fixtures import signed, unique
from tests.harness.support import advance_until
from workflows.onboarding import OnboardingWorkflow


async def test_marker_strings_never_reach_a_log_line(ts_env, tmp_path, json_logs, capfd, journeys):
    client = ts_env.client
    deal_id = unique("D-LOG")
    async with (
        SmtpSink() as sink,
        journeys(client, smtp_url=sink.url) as task_queue,
        http_service(ts_env, task_queue, tmp_path / "data") as base,
        httpx.AsyncClient(base_url=base) as http,
    ):

        async def post(path: str, body: object, **kw) -> httpx.Response:
            raw, headers = signed(body)
            return await http.post(path, content=raw, headers=headers, **kw)

        # The happy path, with markers everywhere.
        assert (await post("/webhooks/deal-closed", marked_deal(deal_id))).status_code == 202
        handle = client.get_workflow_handle(f"onboarding-{deal_id}")
        await advance_until(
            ts_env,
            handle,
            lambda s: s.waiting_on == "customer" and s.next_action is not None and s.next_action.due_at is not None,
        )
        failed = {"deal_id": deal_id, "action": "dataset_uploaded", "type": "failed", "reason": FAILURE_REASON}
        assert (await post("/events", {**failed, "event_id": "f-1"})).status_code == 202
        await sink.wait_for(2)  # the contextual help email, quoting the reason
        helped = {"deal_id": deal_id, "action": "dataset_uploaded", "type": "help", "message": HELP_TEXT}
        assert (await post("/events", {**helped, "event_id": "h-1"})).status_code == 202
        await advance_until(ts_env, handle, lambda s: s.state is OnboardingState.escalated, step=timedelta(minutes=1))

        # Signals the journey must refuse: extra fields, wrong types, over-long text.
        await handle.signal("help_requested", {"message": HELP_TEXT, "event_id": "h-2", "note": HELP_TEXT})
        await handle.signal(
            "action_failed", {"action": "dataset_uploaded", "event_id": "f-9", "reason": FAILURE_REASON * 40}
        )
        await handle.signal("help_requested", {"message": [HELP_TEXT], "event_id": "h-3"})
        await handle.signal("cancel", {"reason": CANCEL_REASON, "by": CONTACT_EMAIL})
        await handle.signal("deal_closed", {"deal": {"deal_id": MARK, "contacts": [{"email": CONTACT_EMAIL}]}})
        # Updates refused by their validators, quoting nothing back into logs.
        for name, body in (
            ("pause", {"by": CONTACT_EMAIL, "reason": HELP_TEXT, "extra": HELP_TEXT}),
            ("resolve_escalation", {"decision": HELP_TEXT, "by": CONTACT_EMAIL}),
        ):
            with pytest.raises(WorkflowUpdateFailedError):
                await handle.execute_update(name, body)

        # HTTP error paths with the markers in the bodies.
        bad_json = b'{"deal_id": "' + MARK.encode() + b'", "contacts": [' + CONTACT_EMAIL.encode()
        assert (
            await http.post("/webhooks/deal-closed", content=bad_json, headers=signed(bad_json)[1])
        ).status_code == 400
        invalid = marked_deal(unique("D-LOG"), email=f"{MARK}-not-an-email")
        invalid["account"]["timezone"] = f"{MARK}/Nowhere"
        assert (await post("/webhooks/deal-closed", invalid)).status_code == 422
        unsigned = json.dumps(marked_deal(unique("D-LOG"))).encode()
        assert (
            await http.post(
                "/webhooks/deal-closed",
                content=unsigned,
                headers={
                    "content-type": "application/json",
                    "webhook-id": MARK,
                    "webhook-timestamp": "1",
                    "webhook-signature": f"v1,{MARK}",
                },
            )
        ).status_code == 401
        long_action = {
            "event_id": MARK,
            "deal_id": deal_id,
            "action": MARK * 30,
            "type": "help",
            "message": HELP_TEXT,
        }
        assert (await post("/events", long_action)).status_code == 422
        assert (await http.post(f"/unsubscribe/{MARK}.{MARK}")).status_code == 404
        assert (await http.get(f"/unsubscribe/{MARK}")).status_code == 404
        auth = {"Authorization": f"Bearer {CODEC_TOKEN}"}
        assert (await http.post("/codec/decode", content=f'{{"payloads": "{MARK}"}}', headers=auth)).status_code == 400
        forged = {
            "payloads": [
                {
                    "metadata": {"encoding": "YmluYXJ5L2VuY3J5cHRlZA==", "encryption-key-id": "dGVzdC1h"},
                    "data": "AAAAAAAAAAAAAAAAAAAAAAAA",
                }
            ]
        }
        assert (await http.post("/codec/decode", json=forged, headers=auth)).status_code == 400
        assert (
            await http.post("/codec/decode", json=forged, headers={"Authorization": f"Bearer {MARK}"})
        ).status_code == 401
        assert (await http.post("/codec/session", data={"token": MARK})).status_code == 401

        # The journey closes with a customer-quoting cancel reason.
        await handle.signal(OnboardingWorkflow.cancel, {"reason": CANCEL_REASON})
        result = await handle.result()
        assert result["state"] == "closed"

    out, err = capfd.readouterr()
    logged = json_logs.getvalue()
    every_line = "\n".join([logged, out, err])
    events = {json.loads(line).get("event") for line in logged.splitlines() if line.startswith("{")}
    # the capture saw the whole run: worker, activities, HTTP service, refusals
    assert {
        "deal_closed_accepted",
        "message.sent",
        "escalation.task",
        "request_refused",
        "journey transition",
        "codec.undecryptable",
        "unsubscribe.refused",
    } <= events, events
    leaked = [line for line in every_line.splitlines() if MARK in line.lower()]
    assert leaked == [], "\n".join(leaked[:10])
