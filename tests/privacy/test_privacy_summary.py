"""The journey's static summary names the account, so staff recognise the customer in the Web
UI's list and page; the name is encrypted at rest like every payload: nothing readable in
the stored history or the described metadata without the codec, the name through the codec
server (time-skipping server, real HTTP service)."""

from __future__ import annotations

import httpx
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from contracts.deal import DealClosed
from contracts.search_attributes import start_options
from tests.harness.privacy_keys import CODEC_TOKEN
from tests.harness.privacy_support import ACCOUNT_NAME, history_json, http_service, leaks, marked_deal
from tests.harness.starters_fixtures import unique


async def test_the_summary_names_the_account_encrypted_at_rest_and_readable_through_the_codec(dev_env, tmp_path):
    client = dev_env.client  # the suite's converter: the payload codec with the test key
    deal = DealClosed.model_validate(marked_deal(unique("D-SUM")))
    # No worker: the start alone writes the metadata the Web UI lists. (On the dev server: the
    # time-skipping one would keep its clock held for the never-run workflow task.)
    handle = await client.start_workflow("OnboardingWorkflow", {"deal_id": deal.deal_id}, **start_options(
        deal, task_queue=unique("summary")
    ))  # fmt: skip
    try:
        described = await handle.describe()
        summary = await described.static_summary()
        assert summary is not None and ACCOUNT_NAME in summary and f"({deal.account.id})" in summary

        # At rest: neither the history nor the described metadata shows the name.
        stored = described.raw_description.execution_config.user_metadata
        assert stored.HasField("summary")
        assert leaks(json_format.MessageToDict(described.raw_description)) == []
        assert leaks(history_json(await handle.fetch_history())) == []
        assert stored.summary.metadata["encoding"] == b"binary/encrypted"

        # What the Web UI asks the codec server for: the name, in clear, for staff with the token.
        async with (
            http_service(dev_env, "unused-queue", tmp_path / "svc") as base,
            httpx.AsyncClient(base_url=base) as http,
        ):
            body = json_format.MessageToDict(Payloads(payloads=[stored.summary]))
            response = await http.post("/codec/decode", json=body, headers={"Authorization": f"Bearer {CODEC_TOKEN}"})
            assert response.status_code == 200, response.text
            decoded = Payloads()
            json_format.ParseDict(response.json(), decoded)
            assert ACCOUNT_NAME in decoded.payloads[0].data.decode()
            refused = await http.post("/codec/decode", json=body, headers={"Authorization": "Bearer wrong"})
            assert refused.status_code in (401, 403)
    finally:
        await handle.terminate("test over")
