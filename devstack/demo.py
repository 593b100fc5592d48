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
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter

from workflows.models import TASK_QUEUE, WORKFLOW_TYPE, workflow_id_for


def demo_deal(deal_id: str, closed_at: datetime) -> dict[str, Any]:
    """The deal-closed body of DESIGN.md section 4, closed now so the 72 h window is live."""
    return {
        "deal_id": deal_id,
        "closed_at": closed_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "amount": 24000,
        "currency": "USD",
        "segment": "smb",
        "product": "analytics",
        "account": {
            "id": "ACME-1",
            "name": "Acme Corp",
            "timezone": "America/Chicago",
            "locale": "en-US",
        },
        "contacts": [{"email": "ana@acme.example", "name": "Ana Ruiz", "role": "champion"}],
    }


def default_deal_id(now: datetime) -> str:
    return "D-DEMO-" + now.astimezone(timezone.utc).strftime("%Y%m%d-%H%M%S")


async def start_demo(
    deal_id: str, *, address: str, namespace: str, ui_url: str
) -> tuple[str, str]:
    client = await Client.connect(
        address, namespace=namespace, data_converter=pydantic_data_converter
    )
    workflow_id = workflow_id_for(deal_id)
    handle = await client.start_workflow(
        WORKFLOW_TYPE,
        {"deal_id": deal_id, "deal": demo_deal(deal_id, datetime.now(timezone.utc))},
        id=workflow_id,
        task_queue=TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    link = f"{ui_url.rstrip('/')}/namespaces/{quote(namespace)}/workflows/{quote(workflow_id)}"
    return handle.id, link


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--deal-id", default=None, help="default: D-DEMO-<UTC timestamp>")
    parser.add_argument("--address", default=os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    parser.add_argument("--namespace", default=os.environ.get("TEMPORAL_NAMESPACE", "default"))
    parser.add_argument("--ui-url", default="http://localhost:8233")
    args = parser.parse_args(argv)
    deal_id = args.deal_id or default_deal_id(datetime.now(timezone.utc))
    try:
        workflow_id, link = asyncio.run(
            start_demo(deal_id, address=args.address, namespace=args.namespace, ui_url=args.ui_url)
        )
    except RuntimeError as err:  # the client reports an unreachable server as RuntimeError
        print(f"could not start the demo on {args.address}: {err}", file=sys.stderr)
        print("Is the stack running? Start it with `make run`.", file=sys.stderr)
        return 1
    # With USE_EXISTING a rerun for the same deal lands on the journey already running.
    print(f"Journey {workflow_id} is running (deal {deal_id})")
    print(f"  Web UI: {link}")
    print("  Customer mail lands in .data/mail/ once the worker sends it.")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: the Temporal client's native threads can crash it at exit
    # (temporalio/sdk-python#300).
    os._exit(code)
