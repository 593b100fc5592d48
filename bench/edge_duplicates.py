"""The edge under a product that resends: how fast `/events` answers an event it has already
delivered (from the records, without Temporal) against delivering a new one (a signal),
side by side in one run, and the HTTP service's CPU per request of each.

One in-memory dev server, the HTTP service as its own uvicorn process (records on SQLite in a
temp dir, payloads encrypted with a throwaway key). `--events` distinct events for `--deals`
deals are sent in `--rounds` interleaved rounds: each round delivers a slice of new events
(signal-with-start: each deal's journey is created waiting for its deal, no worker runs),
then resends the slice delivered in the round before (new `webhook-id`, same `event_id`).
At the end the dev server is stopped and every event is resent once more: each is still
answered `202` with `duplicate: true`, which shows the duplicates never needed Temporal.
The per-journey rate is lifted (JOURNEY_EVENT_RATE) so that only the edge's own cost counts.

    python -m bench.edge_duplicates [--events 4000] [--deals 400] [--rounds 8] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from bench.webhook_start import SECRET, free_port, process_cpu, start_service, wait_healthy
from contracts.search_attributes import ALL
from devstack.__main__ import temporal_binary
from privacy.converter import data_converter_for
from privacy.keys import new_key_spec, parse_keys
from starters.signatures import sign_standard


def request(deal: str, event_id: str) -> tuple[bytes, dict[str, str]]:
    body = {"event_id": event_id, "deal_id": deal, "type": "taken", "action": "dataset_uploaded"}
    raw = json.dumps(body).encode()
    headers = sign_standard(SECRET, "msg_" + uuid.uuid4().hex, int(time.time()), raw)
    headers["content-type"] = "application/json"
    return raw, headers


async def send(http: httpx.AsyncClient, events: list[tuple[str, str]], concurrency: int, pid: int) -> dict[str, Any]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    duplicates = 0
    statuses: dict[int, int] = {}

    async def one(deal: str, event_id: str) -> None:
        nonlocal duplicates
        raw, headers = request(deal, event_id)
        async with gate:
            sent = time.perf_counter()
            response = await http.post("/events", content=raw, headers=headers)
            latencies.append(time.perf_counter() - sent)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code == 202 and response.json().get("duplicate"):
            duplicates += 1

    cpu, began = process_cpu(pid), time.perf_counter()
    await asyncio.gather(*(one(d, e) for d, e in events))
    return {
        "count": len(events),
        "seconds": time.perf_counter() - began,
        "cpu": process_cpu(pid) - cpu,
        "latencies": latencies,
        "duplicates": duplicates,
        "statuses": statuses,
    }


def summary(parts: list[dict[str, Any]]) -> dict[str, Any]:
    count = sum(p["count"] for p in parts)
    seconds = sum(p["seconds"] for p in parts)
    ordered = sorted(x for p in parts for x in p["latencies"])
    return {
        "count": count,
        "per_second": round(count / seconds, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1),
        "service_cpu_ms_per_request": round(sum(p["cpu"] for p in parts) / count * 1000, 2),
        "duplicates": sum(p["duplicates"] for p in parts),
    }


async def bench(events: int, deals: int, rounds: int, concurrency: int) -> dict[str, Any]:
    keys = new_key_spec("bench")
    run = uuid.uuid4().hex[:6]
    every = [(f"ED-{run}-{i % deals}", f"ev-{run}-{i}") for i in range(events)]
    size = events // rounds
    slices = [every[r * size : (r + 1) * size] for r in range(rounds)]
    with tempfile.TemporaryDirectory() as tmp:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(temporal_binary()),
            search_attributes=list(ALL),
            data_converter=data_converter_for(parse_keys(keys)),
            dev_server_log_level="error",
        )
        port = free_port()
        service = start_service(
            port,
            env.client.service_client.config.target_host,
            env.client.namespace,
            f"bench-{uuid.uuid4().hex[:8]}",
            ONBOARDING_CODEC_KEYS=keys,
            ONBOARDING_DATA_DIR=str(Path(tmp) / "service"),
            JOURNEY_EVENT_RATE="100000",
            JOURNEY_EVENT_BURST="100000",
        )
        new: list[dict[str, Any]] = []
        dup: list[dict[str, Any]] = []
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_healthy(url, service)
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                for r in range(rounds):
                    new.append(await send(http, slices[r], concurrency, service.pid))
                    if r > 0:
                        dup.append(await send(http, slices[r - 1], concurrency, service.pid))
                dup.append(await send(http, slices[-1], concurrency, service.pid))
                await env.shutdown()
                stopped = await send(http, every, concurrency, service.pid)
        finally:
            service.terminate()
            service.wait(timeout=10)
    a, b = summary(new), summary(dup)
    if b["duplicates"] != b["count"] or stopped["duplicates"] != events:
        raise SystemExit(f"not every resend was answered as a duplicate: {b} / {stopped['statuses']}")
    return {
        "events": events,
        "deals": deals,
        "concurrency": concurrency,
        "new_events_signalled": a,
        "resent_answered_from_records": b,
        "resent_with_temporal_stopped": summary([stopped]),
        "duplicates_per_second_vs_new": round(b["per_second"] / a["per_second"], 2),
        "cpu_per_duplicate_vs_new": round(b["service_cpu_ms_per_request"] / a["service_cpu_ms_per_request"], 2),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--deals", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    os.environ.setdefault("ONBOARDING_UNSUBSCRIBE_SECRET", uuid.uuid4().hex + uuid.uuid4().hex)
    print(json.dumps(asyncio.run(bench(args.events, args.deals, args.rounds, args.concurrency)), indent=2))


if __name__ == "__main__":
    main()
