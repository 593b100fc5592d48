"""One trace from a webhook to its journey's first email: the HTTP service's request span, the
start it makes, the journey's workflow task and the send_message activity share a trace id
(the SDK's tracing interceptor on the service's client and on the worker, the FastAPI
instrumentation). No span carries personal data: a deal with a marker in every customer
field (tests/harness/privacy_support.py), every span's name, attributes, events and
resource scanned for it."""

from __future__ import annotations

from typing import Any

import httpx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.client import Client

from devstack.smtp_sink import SmtpSink
from lab.drive import told
from starters.app import create_app
from telemetry.tracing import Tracing
from tests.harness import privacy_keys
from tests.harness.privacy_support import leaks, marked_deal, ts_address
from tests.harness.starters_fixtures import serve, settings_for, signed, unique, wait_until
from tests.harness.support import advance_until


def document(span: ReadableSpan) -> dict[str, Any]:
    """Everything a span says, as the exporter would send it."""
    return {
        "name": span.name,
        "attributes": {k: str(v) for k, v in (span.attributes or {}).items()},
        "events": [
            {"name": e.name, "attributes": {k: str(v) for k, v in (e.attributes or {}).items()}} for e in span.events
        ],
        "resource": {k: str(v) for k, v in span.resource.attributes.items()},
        "status": span.status.description or "",
    }


async def test_one_trace_runs_from_the_webhook_to_the_first_email(ts_env, tmp_path, journeys):
    spans = InMemorySpanExporter()
    tracing = Tracing.with_processor("onboarding-test", SimpleSpanProcessor(spans))
    client = await Client.connect(
        ts_address(ts_env),
        namespace=ts_env.client.namespace,
        data_converter=privacy_keys.CONVERTER,
        interceptors=tracing.interceptors(),
    )
    deal_id = unique("D-TRACE")
    async with SmtpSink() as sink, journeys(client, smtp_url=sink.url) as task_queue:
        settings = settings_for(
            ts_address(ts_env), onboarding_task_queue=task_queue, onboarding_data_dir=tmp_path / "data"
        )
        async with serve(create_app(settings, tracing=tracing)) as base, httpx.AsyncClient(base_url=base) as http:
            raw, headers = signed(marked_deal(deal_id))
            assert (await http.post("/webhooks/deal-closed", content=raw, headers=headers)).status_code == 202
            handle = ts_env.client.get_workflow_handle(f"onboarding-{deal_id}")
            await advance_until(ts_env, handle, told("first_action"))
            [email] = await sink.wait_for(1)
            assert email["X-Onboarding-Kind"] == "direction"

            def sent() -> list[ReadableSpan]:
                return [s for s in spans.get_finished_spans() if s.name == "RunActivity:send_message"]

            await wait_until(lambda: _async(sent()), what="the send_message span to end")
        finished = list(spans.get_finished_spans())

    [request] = [s for s in finished if s.kind is SpanKind.SERVER and s.name == "POST /webhooks/deal-closed"]
    trace_id = request.context.trace_id
    in_trace = {s.name for s in finished if s.context.trace_id == trace_id}
    assert {
        "POST /webhooks/deal-closed",
        "StartWorkflow:OnboardingWorkflow",
        "RunWorkflow:OnboardingWorkflow",
        "StartActivity:send_message",
        "RunActivity:send_message",
    } <= in_trace, in_trace
    [first_send] = sent_spans = [s for s in finished if s.name == "RunActivity:send_message"]
    assert sent_spans and first_send.context.trace_id == trace_id

    for span in finished:
        assert not leaks(document(span)), (span.name, leaks(document(span)))


async def _async(value: Any) -> Any:
    return value
