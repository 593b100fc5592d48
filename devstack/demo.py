"""`make demo`: start one onboarding journey on the running `make run` stack.

    python -m devstack.demo [--deal-id D-1001]

The deal id defaults to one with a timestamp suffix, so every run starts a new journey;
running again with the same --deal-id returns the journey already running (the start is
idempotent, as for the HTTP starters). The same start with the Temporal CLI:

    temporal workflow start --address 127.0.0.1:7233 --namespace default \\
      --type OnboardingWorkflow --task-queue onboarding --workflow-id onboarding-D-1001 \\
      --id-conflict-policy UseExisting --id-reuse-policy RejectDuplicate \\
      --input '{"deal_id": "D-1001", "deal": {"deal_id": "D-1001",
        "closed_at": "2026-11-20T15:04:05Z", "amount": 24000, "currency": "USD",
        "segment": "smb", "product": "analytics",
        "account": {"id": "ACME-1", "name": "Acme Corp", "timezone": "America/Chicago",
                    "locale": "en-US"},
        "contacts": [{"email": "ana@acme.example", "name": "Ana Ruiz", "role": "champion"}]}}'
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.converter import DataConverter
from temporalio.service import RPCError

from contracts.deal import DealClosed, sample_deal_body
from contracts.journey import WORKFLOW_TYPE, JourneyInput, workflow_id_for
from contracts.playbook import BusinessHours
from contracts.search_attributes import start_options
from privacy.converter import data_converter
from privacy.keys import dev_keys
from records.accounts import AccountDirectory
from records.database import Database
from workflows.business_hours import describe, next_send_time

# Customers' time zones to choose from, so a demo usually runs inside business hours and the
# kickoff email arrives at once instead of next morning.
DEMO_ZONES = (
    "America/Chicago",
    "America/New_York",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "Pacific/Auckland",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/Berlin",
    "Europe/London",
    "America/Sao_Paulo",
)


def demo_zone(now: datetime) -> str:
    """The first demo zone where a proactive message may go out right now, else Chicago."""
    hours = BusinessHours()
    for zone in DEMO_ZONES:
        if next_send_time(now, zone, hours, None) == now:
            return zone
    return DEMO_ZONES[0]


# Each demo journey is its own customer: staff find it by company name (/support/find).
DEMO_COMPANIES = (
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella Health",
    "Stark Logistics",
    "Wayne Retail",
    "Hooli",
    "Pied Piper",
    "Soylent Foods",
    "Tyrell Systems",
    "Cyberdyne Robotics",
    "Wonka Confectionery",
)


def demo_account(deal_id: str) -> dict[str, str]:
    """The deal's own account: an id made from the deal id, a company name chosen by it."""
    tag = deal_id.removeprefix("D-")
    company = DEMO_COMPANIES[zlib.crc32(deal_id.encode()) % len(DEMO_COMPANIES)]
    return {"id": f"A-{tag}"[:128], "name": f"{company} {tag.replace('-', '')[-6:]}"}


def demo_deal(deal_id: str, closed_at: datetime, zone: str = "America/Chicago") -> dict[str, Any]:
    """The deal-closed body of DESIGN.md section 4, closed now so the 72 h window is live, for
    an account of its own."""
    return sample_deal_body(
        deal_id=deal_id,
        closed_at=closed_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        account={**demo_account(deal_id), "timezone": zone},
    )


def local_converter(data_dir: Path | None = None) -> DataConverter:
    """The environment's payload keys, else the key `make run` made under .data/."""
    env = dict(os.environ)
    if not env.get("ONBOARDING_CODEC_KEYS") and not env.get("ONBOARDING_CODEC_KEYS_FILE"):
        env["ONBOARDING_CODEC_KEYS"] = dev_keys(data_dir or Path(env.get("ONBOARDING_DATA_DIR", ".data")))
    return data_converter(env)


def default_deal_id(now: datetime) -> str:
    return "D-DEMO-" + now.astimezone(UTC).strftime("%Y%m%d-%H%M%S")


async def start_demo(
    deal_id: str,
    *,
    address: str,
    namespace: str,
    ui_url: str,
    zone: str = "America/Chicago",
    acknowledge_within: float = 15.0,
    converter: DataConverter | None = None,
    records: Database | None = None,
) -> tuple[str, str, str | None]:
    """Start the demo journey; `records`: where the HTTP service keeps the journeys' accounts
    (the demo's then found by name, as a webhook's are)."""
    client = await Client.connect(address, namespace=namespace, data_converter=converter or local_converter())
    workflow_id = workflow_id_for(deal_id)
    deal = DealClosed.model_validate(demo_deal(deal_id, datetime.now(UTC), zone))
    handle = await client.start_workflow(WORKFLOW_TYPE, JourneyInput(deal_id=deal_id, deal=deal), **start_options(deal))
    if records is not None:
        await records.ready()
        await AccountDirectory(records).record_deal(deal)
    link = f"{ui_url.rstrip('/')}/namespaces/{quote(namespace)}/workflows/{quote(workflow_id)}"
    owner = await acknowledge_as_owner(handle, acknowledge_within)
    return handle.id, link, owner


async def acknowledge_as_owner(handle: WorkflowHandle, seconds: float = 15.0) -> str | None:
    """Play the assigned owner: acknowledge at once, so the kickoff is not held for the
    owner's acknowledgement window. None if no worker assigned an owner in time."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        left = max(deadline - asyncio.get_running_loop().time(), 0.1)
        try:  # with no worker polling, a query waits: bound it
            status = await handle.query("status", rpc_timeout=timedelta(seconds=min(left, 2.0)))
        except (WorkflowQueryFailedError, RPCError):
            status = {}
        owner = (status or {}).get("owner")
        if owner:
            await handle.signal("owner_acknowledged", {"by": owner, "note": "make demo"})
            return owner
        await asyncio.sleep(0.2)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--deal-id", default=None, help="default: D-DEMO-<UTC timestamp>")
    parser.add_argument("--address", default=os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    parser.add_argument("--namespace", default=os.environ.get("TEMPORAL_NAMESPACE", "default"))
    parser.add_argument("--ui-url", default="http://localhost:8233")
    parser.add_argument(
        "--timezone", default=None, help="the customer's time zone (default: one in business hours now)"
    )
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    deal_id = args.deal_id or default_deal_id(now)
    zone = args.timezone or demo_zone(now)
    records = Database.from_settings(
        os.environ.get("ONBOARDING_DATABASE_URL"), Path(os.environ.get("ONBOARDING_DATA_DIR", ".data"))
    )

    async def start() -> tuple[str, str, str | None]:
        try:
            return await start_demo(
                deal_id, address=args.address, namespace=args.namespace, ui_url=args.ui_url, zone=zone, records=records
            )
        finally:
            await records.dispose()

    try:
        workflow_id, link, owner = asyncio.run(start())
    except RuntimeError as err:  # the client reports an unreachable server as RuntimeError
        print(f"could not start the demo on {args.address}: {err}", file=sys.stderr)
        print("Is the stack running? Start it with `make run`.", file=sys.stderr)
        return 1
    account = demo_account(deal_id)
    # With USE_EXISTING a rerun for the same deal lands on the journey already running.
    print(f"Journey {workflow_id} is running (deal {deal_id}, customer {account['name']} {account['id']})")
    print(f"  Web UI: {link}")
    if owner:
        print(f"  Owner: {owner} (acknowledged for the demo)")
    else:
        print("  No owner yet: is the worker running? The kickoff waits for the owner's acknowledgement.")
    kickoff = next_send_time(now, zone, BusinessHours(), None)
    when = "now" if kickoff == now else f"at {describe(kickoff, zone)}, the customer's business hours"
    print(f"  Customer in {zone}: the kickoff email goes out {when}, into .data/mail/.")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: the Temporal client's native threads can crash it at exit
    # (temporalio/sdk-python#300).
    os._exit(code)
