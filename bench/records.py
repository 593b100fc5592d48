"""What the records cost a journey's activities, as process CPU time per operation, measured
side by side in one run:

  (0) harness   a no-op activity through the same ActivityEnvironment (subtract it from b-d),
  (a) deliver   a console message written straight to the outbox (the channel alone),
  (b) send      `send_message` on the console channel: claim in the ledger, write, record sent,
  (c) moment    `record_moment` (one idempotent insert),
  (d) again     `record_moment` of a moment already there (a retry or a replay).

On SQLite by default (the `make run` setup); `--database-url postgresql://...` for PostgreSQL.
Prints CPU ms per operation and the ratio (b)/(a): the ledger's share of a send.

    python -m bench.records [--n 400] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import structlog
from temporalio import activity
from temporalio.testing import ActivityEnvironment

from activities.messaging import MessagingActivities, render
from activities.moments import MomentActivities
from activities.settings import ActivitySettings
from contracts.messages import MessageRequest, MessageTemplate, Recipient
from contracts.moments import MomentKind, MomentRequest, Touchpoint, moment_key
from records.database import Database

TEMPLATE = MessageTemplate(subject="Hi {{ customer_name }}", body="Do it: {{ cta_url }}\n")


def message(i: int) -> MessageRequest:
    return MessageRequest(
        key=f"onboarding-B-{i}:first_action:direction:1",
        deal_id=f"B-{i}",
        kind="direction",
        audience="customer",
        channel="console",
        to=Recipient(name="Ana Ruiz", email="ana@acme.example"),
        template=TEMPLATE,
        context={"customer_name": "Ana", "cta_url": "https://app.example.com/x"},
    )


def moment(i: int) -> MomentRequest:
    return MomentRequest(
        key=moment_key(f"onboarding-B-{i}", MomentKind.milestone_completed, "first_action", 1),
        kind=MomentKind.milestone_completed,
        at=datetime.now(UTC),
        workflow_id=f"onboarding-B-{i}",
        deal_id=f"B-{i}",
        account_id="ACME-1",
        segment="smb",
        product="analytics",
        playbook="default",
        playbook_hash="sha256:0",
        journey_version="v3",
        owner="maya",
        milestone="first_action",
        touchpoint=Touchpoint.clarify,
        detail={"follow_ups": 1},
    )


async def cpu_per_op(n: int, op: Callable[[int], Awaitable[object]]) -> float:
    start = time.process_time()
    for i in range(n):
        await op(i)
    return (time.process_time() - start) / n * 1000


@activity.defn
async def no_op(i: int) -> int:
    return i


async def main(n: int, url: str | None) -> None:
    # Log lines cost the same with or without the records: leave them out of the figures.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    data = Path(tempfile.mkdtemp(prefix="bench-records-"))
    settings = ActivitySettings(ONBOARDING_DATA_DIR=data, ONBOARDING_DATABASE_URL=url)
    db = Database.from_settings(url, data)
    await db.ready()
    messaging, moments, env = MessagingActivities(settings, db), MomentActivities(settings, db), ActivityEnvironment()

    async def deliver(i: int) -> None:
        request = message(i)
        rendered = render(request.template, request.context, request.audience)
        await messaging._deliver("console", request, rendered, "<bench@x>")

    rows = {
        "(0) harness: a no-op activity": await cpu_per_op(n, lambda i: env.run(no_op, i)),
        "(a) deliver: console write alone": await cpu_per_op(n, deliver),
        "(b) send_message: claim + write + record": await cpu_per_op(
            n, lambda i: env.run(messaging.send_message, message(i))
        ),
        "(c) record_moment: new": await cpu_per_op(n, lambda i: env.run(moments.record_moment, moment(i))),
        "(d) record_moment: already there": await cpu_per_op(n, lambda i: env.run(moments.record_moment, moment(i))),
    }
    await db.dispose()
    print(f"records on {db.dialect}, {n} operations each (process CPU per operation)")
    for name, ms in rows.items():
        print(f"  {name:<44} {ms:6.2f} ms")
    h, a = rows["(0) harness: a no-op activity"], rows["(a) deliver: console write alone"]
    b = rows["(b) send_message: claim + write + record"] - h
    print(f"  ledger's share of a send: (b) - harness - (a) = {b - a:.2f} ms per message")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.database_url))
