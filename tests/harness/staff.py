"""Helpers for the support-staff tests: journeys started the way the HTTP starter starts them
(static summary and details, start search attributes), and the saved List Filter queries
read out of docs/support.md, so the guide and its tests cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path

from temporalio.client import Client, WorkflowHandle

from contracts.deal import DealClosed
from contracts.journey import JourneyInput
from contracts.search_attributes import start_options
from workflows.onboarding import OnboardingWorkflow

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "support.md"

# A saved query in the guide is a fenced block right after a marker comment:
#   <!-- list-filter: escalated-by-owner -->
#   ```sql
#   WorkflowType = 'OnboardingWorkflow' AND ...
#   ```
_QUERY_BLOCK = re.compile(
    r"<!--\s*list-filter:\s*(?P<name>[a-z0-9-]+)\s*-->\s*\n```[a-z]*\n(?P<query>.*?)\n```", re.DOTALL
)


def guide_queries(text: str | None = None) -> dict[str, str]:
    """Every marked List Filter query in the support guide, by name, whitespace collapsed."""
    text = GUIDE.read_text(encoding="utf-8") if text is None else text
    found: dict[str, str] = {}
    for match in _QUERY_BLOCK.finditer(text):
        name = match["name"]
        if name in found:
            raise AssertionError(f"docs/support.md: list-filter {name!r} is marked twice")
        found[name] = " ".join(match["query"].split())
    return found


def fill(query: str, placeholders: dict[str, str]) -> str:
    """Replace the guide's example values (what a reader replaces) with real ones; each
    example value must be in the query, so a changed guide fails loudly here."""
    for example, real in placeholders.items():
        literal = f"'{example}'"
        if literal not in query:
            raise AssertionError(f"example value {literal} not found in the guide's query: {query}")
        query = query.replace(literal, f"'{real}'")
    return query


async def start_described_journey(
    client: Client,
    task_queue: str,
    deal: DealClosed,
    *,
    playbook_name: str | None = None,
    owner: str | None = None,
) -> WorkflowHandle:
    """Start a journey with its static summary and details and the start search attributes,
    as a starter does, so it is findable and readable before its first transition."""
    return await client.start_workflow(
        OnboardingWorkflow.run,
        JourneyInput(deal_id=deal.deal_id, deal=deal),
        **start_options(deal, task_queue=task_queue, playbook_name=playbook_name, owner=owner),
    )
