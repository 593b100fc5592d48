"""Two worker processes (separate data dirs, one PostgreSQL for their records, one real SMTP
server) drive the same journeys on a dev server while the test SIGKILLs them over and over.

What must hold: every customer email goes out; no message is sent twice unless a worker died
with the send claimed and its outcome unknown (the SMTP server may have taken it), and each
such unknown outcome is counted in the ledger. The figures are printed (README, Records)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from contracts.journey import TASK_QUEUE, JourneyInput, workflow_id_for
from devstack.smtp_sink import SmtpSink
from devstack.testing import connect, dev_server
from records.database import Database
from records.tables import deliveries
from tests.harness.postgres import create_database
from tests.harness.support import make_deal, write_playbook
from workflows.onboarding import OnboardingWorkflow

pytestmark = pytest.mark.soak  # `make soak`: minutes of heavy traffic, run by CI after `make test`

ROOT = Path(__file__).resolve().parents[2]
JOURNEYS = 15
KILLS = 16
CHAOS_SECONDS = 75.0
SETTLE_SECONDS = 180.0  # a killed attempt is retried after the activity's start-to-close timeout


class SlowAckSink(SmtpSink):
    """Keeps each message at once and acknowledges it a little later: a worker killed in
    between has handed the message over without hearing so (the unknown outcome)."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = asyncio.Event()

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        self.in_flight.set()
        await asyncio.sleep(0.3)  # the server's own pace, not test synchronisation
        return reply


class Worker:
    def __init__(self, name: str, env: dict[str, str], logs: Path) -> None:
        self.name, self.env, self.logs = name, env, logs
        self.proc: asyncio.subprocess.Process | None = None
        self.started = 0.0
        self.runs = 0

    async def start(self) -> None:
        self.runs += 1
        log = open(self.logs / f"{self.name}-{self.runs}.log", "wb")  # noqa: SIM115  (closed with the process)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "worker.py", cwd=ROOT, env=self.env, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
        log.close()
        self.started = time.monotonic()

    async def kill(self) -> None:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()


async def test_two_workers_killed_repeatedly_send_no_unexplained_duplicate(postgres, tmp_path, capsys) -> None:
    records_url = await create_database(postgres)
    playbooks = write_playbook(
        tmp_path / "playbooks",
        lambda p: p.update(
            business_hours={"start": "00:00", "end": "23:59", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
        ),
    )
    rng = random.Random(9)
    async with SlowAckSink() as sink:
        with dev_server(tmp_path / "temporal.db") as address:
            client = await connect(address, namespace="default", data_converter=_converter())
            base = {
                **os.environ, "TEMPORAL_ADDRESS": address, "TEMPORAL_NAMESPACE": "default", "SMTP_URL": sink.url,
                "ONBOARDING_DATABASE_URL": records_url, "ONBOARDING_DELIVERY_LEASE_SECONDS": "3",
                "ONBOARDING_PLAYBOOKS_DIR": str(playbooks), "PYTHONUNBUFFERED": "1",
            }  # fmt: skip
            (tmp_path / "logs").mkdir()
            workers = [
                Worker(n, {**base, "ONBOARDING_DATA_DIR": str(tmp_path / n)}, tmp_path / "logs") for n in ("a", "b")
            ]
            for w in workers:
                await w.start()
            deals = [make_deal(f"CRASH-{i:02d}") for i in range(JOURNEYS)]
            handles = [
                await client.start_workflow(
                    OnboardingWorkflow.run, JourneyInput(deal_id=d.deal_id, deal=d), id=workflow_id_for(d.deal_id),
                    task_queue=TASK_QUEUE,
                )
                for d in deals
            ]  # fmt: skip
            acted: set[str] = set()

            async def act_on_kickoffs() -> None:
                """The customer acts once told: the journey's next email is the reply."""
                for received in list(sink.received):
                    deal = received.message["X-Onboarding-Deal"]
                    if deal not in acted:
                        acted.add(deal)
                        await client.get_workflow_handle(workflow_id_for(deal)).signal(
                            "action_taken",
                            {
                                "action": "dataset_uploaded",
                                "event_id": f"e-{deal}",
                                "occurred_at": datetime.now(UTC).isoformat(),
                            },
                        )

            # Chaos: while a message waits for its acknowledgement, kill both workers (the
            # sender among them); otherwise kill the longer-running one. Restart at once.
            kills = mid_send = 0
            chaos_end = time.monotonic() + CHAOS_SECONDS
            while kills < KILLS and time.monotonic() < chaos_end:
                sink.in_flight.clear()
                try:
                    await asyncio.wait_for(sink.in_flight.wait(), timeout=rng.uniform(3.0, 6.0))
                    victims, mid_send = workers, mid_send + 1
                except TimeoutError:
                    victims = [min(workers, key=lambda w: w.started)]
                await asyncio.gather(*(w.kill() for w in victims))
                kills += len(victims)
                await act_on_kickoffs()
                for w in victims:
                    await w.start()

            # Settle: both workers up, until every journey sent its two emails.
            deadline = time.monotonic() + SETTLE_SECONDS
            while time.monotonic() < deadline:
                await act_on_kickoffs()
                if len(_distinct_per_deal(sink)) == JOURNEYS and all(n == 2 for n in _distinct_per_deal(sink).values()):
                    break
                await asyncio.sleep(0.5)
            for handle in handles:
                await handle.signal("cancel", {"reason": "test over"})
            for w in workers:
                await w.kill()

    per_deal = _distinct_per_deal(sink)
    assert per_deal == {d.deal_id: 2 for d in deals}, f"missing emails: {per_deal} (logs in {tmp_path / 'logs'})"
    copies = Counter(m["Message-ID"] for m in sink.messages)
    db = Database.from_settings(records_url, tmp_path)
    try:
        async with db.begin() as conn:
            rows = (await conn.execute(select(deliveries))).all()
    finally:
        await db.dispose()
    unknown = {r.message_id: r.unknown_outcomes for r in rows}
    assert {r.state for r in rows} == {"sent"} and len(rows) == 2 * JOURNEYS
    unexplained = {mid: n - 1 for mid, n in copies.items() if n - 1 > unknown.get(mid, 0)}
    assert unexplained == {}, "duplicates with no unknown outcome on record"
    figures = {
        "journeys": JOURNEYS, "kills": kills, "kills_while_a_message_awaited_its_ack": mid_send, "customer_emails": 2 * JOURNEYS, "received": len(sink.messages),
        "duplicates": sum(n - 1 for n in copies.values()), "unknown_outcomes": sum(unknown.values()),
        "duplicates_without_unknown_outcome": 0,
    }  # fmt: skip
    with capsys.disabled():
        print(f"\nrecords crash test: {json.dumps(figures)}")


def _distinct_per_deal(sink: SmtpSink) -> dict[str, int]:
    ids: dict[str, set[str]] = {}
    for m in sink.messages:
        ids.setdefault(m["X-Onboarding-Deal"], set()).add(m["Message-ID"])
    return {deal: len(v) for deal, v in ids.items()}


def _converter():
    from temporalio.contrib.pydantic import pydantic_data_converter

    return pydantic_data_converter
