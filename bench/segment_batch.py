"""Segment's largest batch on the full stack: how fast `/events/segment` answers a batch of
4,000 calls (Segment's maximum; it gives up on an answer after 10 s), and how long the intake
then takes to hand every call to its journey.

One dev server (in memory), the HTTP service as its own uvicorn process, the worker in this
process (`worker.build_worker`: journeys, roster and intake workers, payloads encrypted with a
throwaway key). Each batch is 4,000 track calls for `--deals` deals, signed as Segment signs
a batch (the first call's JSON). Batches are sent one after the other; each is answered
before the next is sent, while earlier ones are still being delivered.

    python -m bench.segment_batch [--batches 5] [--calls 4000] [--deals 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.settings import ActivitySettings
from bench.webhook_start import free_port, process_cpu, start_service, wait_healthy
from contracts.intake import IntakeOutcome
from contracts.search_attributes import ALL
from devstack.__main__ import temporal_binary
from privacy.converter import data_converter_for
from privacy.keys import new_key_spec, parse_keys
from starters.segment import first_call_bytes
from worker import build_worker

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench shared secret"
MAPPING = {"rules": [{"event": "Dataset Uploaded", "type": "taken", "action": "dataset_uploaded"}]}
# A track call as Segment's webhook destination sends it (tests/fixtures/vendors/segment/).
CALL = json.loads((ROOT / "tests" / "fixtures" / "vendors" / "segment" / "track.json").read_text())


def batch(run: str, number: int, calls: int, deals: int) -> tuple[bytes, dict[str, str]]:
    body = [
        {
            **CALL,
            "messageId": f"{run}-{number}-{i}",
            "properties": {**CALL["properties"], "deal_id": f"SB-{run}-{i % deals}"},
        }
        for i in range(calls)
    ]
    # compact, as JSON.stringify writes it; signed as Segment signs a batch: its first call
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    first = first_call_bytes(raw)
    assert first is not None
    signature = hmac.new(SECRET.encode(), first, hashlib.sha1).hexdigest()
    return raw, {"content-type": "application/json", "X-Signature": signature}


async def bench(batches: int, calls: int, deals: int) -> dict[str, Any]:
    keys = new_key_spec("bench")
    converter = data_converter_for(parse_keys(keys))
    with tempfile.TemporaryDirectory() as tmp:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(temporal_binary()),
            search_attributes=list(ALL),
            data_converter=converter,
            dev_server_log_level="error",
        )
        client: Client = env.client
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        port = free_port()
        service = start_service(
            port,
            client.service_client.config.target_host,
            client.namespace,
            queue,
            ONBOARDING_CODEC_KEYS=keys,
            ONBOARDING_DATA_DIR=str(Path(tmp) / "service"),
            SEGMENT_SHARED_SECRET=SECRET,
            SEGMENT_MAPPING=json.dumps(MAPPING),
        )
        settings = ActivitySettings(ONBOARDING_DATA_DIR=Path(tmp) / "worker")
        try:
            await wait_healthy(f"http://127.0.0.1:{port}", service)
            run = uuid.uuid4().hex[:6]
            bodies = [batch(run, n, calls, deals) for n in range(batches)]
            answers: list[float] = []
            cpu: list[float] = []
            intakes: list[str] = []
            async with build_worker(client, settings, task_queue=queue), httpx.AsyncClient(timeout=60) as http:
                began = time.perf_counter()
                for raw, headers in bodies:
                    before, sent = process_cpu(service.pid), time.perf_counter()
                    response = await http.post(f"http://127.0.0.1:{port}/events/segment", content=raw, headers=headers)
                    answers.append(time.perf_counter() - sent)
                    cpu.append(process_cpu(service.pid) - before)
                    if response.status_code != 202 or response.json()["queued"] != calls:
                        raise SystemExit(f"unexpected answer {response.status_code}: {response.text[:300]}")
                    intakes.extend(response.json()["intake"])
                outcomes = [await client.get_workflow_handle(w, result_type=IntakeOutcome).result() for w in intakes]
                delivered_in = time.perf_counter() - began
        finally:
            service.terminate()
            service.wait(timeout=10)
            await env.shutdown()
    delivered = sum(o.delivered for o in outcomes)
    if delivered != batches * calls:
        raise SystemExit(f"{delivered} of {batches * calls} calls delivered")
    return {
        "batches": batches,
        "calls_per_batch": calls,
        "deals": deals,
        "body_bytes": len(bodies[0][0]),
        "answer_p50_s": round(statistics.median(answers), 3),
        "answer_max_s": round(max(answers), 3),
        "service_cpu_s_per_batch": round(statistics.mean(cpu), 3),
        "all_delivered_s": round(delivered_in, 1),
        "calls_delivered_per_s": round(delivered / delivered_in, 1),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--deals", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("ONBOARDING_UNSUBSCRIBE_SECRET", uuid.uuid4().hex + uuid.uuid4().hex)
    result = asyncio.run(bench(args.batches, args.calls, args.deals))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
