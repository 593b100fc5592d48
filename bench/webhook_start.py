"""How much the HTTP starters cost on top of a raw Temporal start.

One dev server, one run:
  (a) raw    `client.start_workflow` of the same journey (input, search attributes, summary),
  (b) signed deal-closed webhooks -> started journeys, same number in flight,
  (c) the same webhooks delivered again (the duplicate path: nothing new is started),
  (d) Salesforce outbound messages (SOAP XML, one closed-won Opportunity each) -> started
      journeys, acknowledged with <Ack>true</Ack>.
The service runs as its own uvicorn process, as in production; no worker is needed (starting
is what is measured). Prints a table and the ratios b/a and d/a (goal: >= 0.9).

    python -m bench.webhook_start [--journeys 1200] [--concurrency 32] [--rounds 12] [--sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from contracts.deal import DealClosed, sample_deal_body
from contracts.journey import WORKFLOW_TYPE, JourneyInput
from contracts.search_attributes import ALL, start_options
from starters.signatures import sign_standard

ROOT = Path(__file__).resolve().parent.parent
SECRET = "whsec_" + base64.b64encode(b"benchmark-only-secret-0123456789").decode()
SALESFORCE_ORG = "00D5e000000GxYzEAK"
# An Opportunity outbound message as Salesforce sends it (tests/fixtures/vendors/salesforce/).
ENVELOPE = (ROOT / "tests" / "fixtures" / "vendors" / "salesforce" / "opportunity-closed-won.xml").read_bytes()
FIXTURE_OPPORTUNITY = b"0065e00000AbCdEAAZ"


def deal(deal_id: str) -> dict[str, Any]:
    return sample_deal_body(deal_id=deal_id, account={"id": f"ACME-{deal_id}"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def summarise(name: str, count: int, seconds: float, latencies: list[float]) -> dict[str, Any]:
    return {"path": name, "count": count, "seconds": seconds, "latencies": latencies, "cpu": 0.0}


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measured(pid: int, run_path: Any) -> dict[str, Any]:
    """Run one path's round and charge the HTTP service's CPU time in it to that path."""
    before = process_cpu(pid)
    part = await run_path()
    part["cpu"] = process_cpu(pid) - before
    return part


def combine(parts: list[dict[str, Any]]) -> dict[str, Any]:
    count = sum(p["count"] for p in parts)
    seconds = sum(p["seconds"] for p in parts)
    ordered = sorted(x for p in parts for x in p["latencies"])
    return {
        "path": parts[0]["path"],
        "count": count,
        "per_second": count / seconds,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000,
        "cpu_ms": sum(p["cpu"] for p in parts) / count * 1000,
    }


async def lanes(count: int, concurrency: int, one: Any) -> tuple[float, list[float]]:
    """`concurrency` lanes, each doing its share of `one(index)` back to back."""
    latencies: list[float] = []

    async def lane(first: int) -> None:
        for index in range(first, count, concurrency):
            started = time.perf_counter()
            await one(index)
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(lane(i) for i in range(concurrency)))
    return time.perf_counter() - began, latencies


async def start_raw(client: Client, d: DealClosed, queue: str) -> None:
    """A journey started the way the HTTP starters start one, straight through the client."""
    await client.start_workflow(
        WORKFLOW_TYPE, JourneyInput(deal_id=d.deal_id, deal=d), **start_options(d, task_queue=queue)
    )


async def raw_starts(client: Client, deals: list[DealClosed], concurrency: int, queue: str) -> dict[str, Any]:
    async def one(index: int) -> None:
        await start_raw(client, deals[index], queue)

    seconds, latencies = await lanes(len(deals), concurrency, one)
    return summarise("(a) raw client.start_workflow", len(deals), seconds, latencies)


class Connection:
    """A minimal HTTP/1.1 keep-alive client. The load generator shares the CPUs with the
    service and the dev server; a general-purpose client would spend more per request than
    the service does, and the measurement would mostly show that."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def webhooks(port: int, bodies: list[bytes], concurrency: int, name: str, expect_created: bool) -> dict[str, Any]:
    connections = [Connection("127.0.0.1", port) for _ in range(concurrency)]
    wrong: list[str] = []

    async def one(index: int) -> None:
        headers = sign_standard(SECRET, f"msg_{index}", int(time.time()), bodies[index])
        headers["content-type"] = "application/json"
        status, answer = await connections[index % concurrency].post("/webhooks/deal-closed", bodies[index], headers)
        if status != 202 or json.loads(answer)["created"] is not expect_created:
            wrong.append(f"{status} {answer[:200]!r}")

    try:
        seconds, latencies = await lanes(len(bodies), concurrency, one)
    finally:
        await asyncio.gather(*(c.close() for c in connections))
    if wrong:
        raise SystemExit(f"{name}: {len(wrong)} unexpected answers, e.g. {wrong[0]}")
    return summarise(name, len(bodies), seconds, latencies)


async def salesforce_messages(port: int, opportunities: list[str], concurrency: int) -> dict[str, Any]:
    connections = [Connection("127.0.0.1", port) for _ in range(concurrency)]
    headers = {"content-type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    wrong: list[str] = []

    async def one(index: int) -> None:
        body = ENVELOPE.replace(FIXTURE_OPPORTUNITY, opportunities[index].encode())
        status, answer = await connections[index % concurrency].post("/webhooks/salesforce", body, headers)
        if status != 200 or b"<Ack>true</Ack>" not in answer:
            wrong.append(f"{status} {answer[:200]!r}")

    try:
        seconds, latencies = await lanes(len(opportunities), concurrency, one)
    finally:
        await asyncio.gather(*(c.close() for c in connections))
    if wrong:
        raise SystemExit(f"salesforce: {len(wrong)} unexpected answers, e.g. {wrong[0]}")
    return summarise("(d) Salesforce outbound message (XML) -> journey", len(opportunities), seconds, latencies)


def start_service(port: int, address: str, namespace: str, queue: str, **env: str) -> subprocess.Popen[bytes]:
    """The HTTP starters as production runs them: their own uvicorn process."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "starters.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        env={
            **os.environ,
            "TEMPORAL_ADDRESS": address,
            "TEMPORAL_NAMESPACE": namespace,
            "ONBOARDING_WEBHOOK_SECRET": SECRET,
            "ONBOARDING_TASK_QUEUE": queue,
            "PYTHONPATH": str(ROOT),
            **env,
        },
    )


async def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"the HTTP service exited with {process.returncode}")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the HTTP service did not become healthy")


async def main(journeys: int, concurrency: int, sqlite: bool, rounds: int) -> None:
    scripts = Path(sysconfig.get_path("scripts"))
    with tempfile.TemporaryDirectory() as tmp:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(scripts / "temporal"),
            search_attributes=list(ALL),
            data_converter=pydantic_data_converter,
            dev_server_database_filename=str(Path(tmp) / "bench.db") if sqlite else None,
        )
        port = free_port()
        queue = f"bench-{uuid.uuid4().hex[:8]}"  # nothing polls it: starting is what is measured
        service = start_service(
            port,
            env.client.service_client.config.target_host,
            env.client.namespace,
            queue,
            SALESFORCE_ORG_IDS=SALESFORCE_ORG,
            # plain payloads, as the raw path (a) sends them: the comparison is of the HTTP layer
            ONBOARDING_CODEC_KEYS="plaintext",
            ONBOARDING_DATA_DIR=str(Path(tmp) / "data"),
        )
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_healthy(url, service)
            run = uuid.uuid4().hex[:6]
            warm = [json.dumps(deal(f"W-{run}-{i}")).encode() for i in range(concurrency)]
            await webhooks(port, warm, concurrency, "warm-up", True)  # connections, imports, caches
            await salesforce_messages(port, [f"006{run}W{i:08d}" for i in range(concurrency)], concurrency)
            raw_deals = [DealClosed.model_validate(deal(f"A-{run}-{i}")) for i in range(journeys)]
            bodies = [json.dumps(deal(f"B-{run}-{i}")).encode() for i in range(journeys)]
            # Interleaved rounds, alternating which path goes first: other load on the machine
            # then weighs on both paths alike instead of on whichever ran during it.
            # 18-character Opportunity ids, unique to this run
            opportunities = [f"006{run}{i:09d}" for i in range(journeys)]
            parts: dict[str, list[dict[str, Any]]] = {"a": [], "b": [], "c": [], "d": []}
            size = -(-journeys // rounds)
            for r in range(rounds):
                chunk = slice(r * size, (r + 1) * size)
                a = partial(raw_starts, env.client, raw_deals[chunk], concurrency, queue)
                b = partial(webhooks, port, bodies[chunk], concurrency, "(b) signed webhook -> journey", True)
                d = partial(salesforce_messages, port, opportunities[chunk], concurrency)
                order = [("a", a), ("b", b), ("d", d)]
                for key, run_path in order[r % 3 :] + order[: r % 3]:  # each path goes first in turn
                    parts[key].append(await measured(service.pid, run_path))
            for r in range(rounds):
                chunk = slice(r * size, (r + 1) * size)
                c = partial(webhooks, port, bodies[chunk], concurrency, "(c) duplicate delivery", False)
                parts["c"].append(await measured(service.pid, c))
            rows = [combine(parts[k]) for k in ("a", "b", "c", "d")]
        finally:
            service.terminate()
            service.wait(timeout=10)
            await env.shutdown()

    print(
        f"\n{journeys} journeys per path in {rounds} interleaved rounds, {concurrency} in flight, dev server on {'SQLite' if sqlite else 'memory'}, "
        f"{os.cpu_count()} CPUs\n"
    )
    print("| path | count | starts/s | p50 ms | p99 ms | HTTP service CPU ms/request |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        cpu = f"{row['cpu_ms']:.2f}" if not row["path"].startswith("(a)") else "-"
        print(
            f"| {row['path']} | {row['count']} | {row['per_second']:.0f} | {row['p50_ms']:.1f} "
            f"| {row['p99_ms']:.1f} | {cpu} |"
        )
    ratio = rows[1]["per_second"] / rows[0]["per_second"]
    salesforce = rows[3]["per_second"] / rows[0]["per_second"]
    print(f"\nb/a = {ratio:.2f}, d/a (Salesforce XML) = {salesforce:.2f} (goal >= 0.9)")
    print(f"service CPU per request, d/b (XML vs JSON) = {rows[3]['cpu_ms'] / rows[1]['cpu_ms']:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--journeys", type=int, default=1200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=12, help="interleaved rounds of (a) and (b)")
    parser.add_argument("--sqlite", action="store_true", help="persist to a SQLite file, as `make run` does")
    args = parser.parse_args()
    asyncio.run(main(args.journeys, args.concurrency, args.sqlite, args.rounds))
