"""One truth about what is due, proven in the Web UI (headless Chromium): for every kind of
wait (the customer, the journey's own held kickoff, the owner's acknowledgement, staff after
a pause, a human at each escalation level, the CRM's deal details) the journey's Current
details box says whom it waits on and the same due time as `status`, and `NextActionDue` is
that time (none for the deal). And nothing a
journey ignores is silent there: a misspelled action, a reused event id, an acknowledgement
from someone who is not the owner show in its Recent list.

Real time on a dev server of its own: an escalation moves up a level after a few seconds
(`sla_hours` is tiny in those playbooks). Needs Debian's `chromium` and `playwright`, like
tests/workflows/test_support_browser.py."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from contracts.journey import JourneyInput, workflow_id_for
from contracts.search_attributes import NEXT_ACTION_DUE
from contracts.signals import ActionTaken, HelpRequested, OwnerAcknowledged
from contracts.status import Status
from tests.harness.browser import CHROMIUM, CHROMIUM_FLAGS, UI_TIMEOUT_MS, VIEWPORT, require_browser, shots
from tests.harness.staff import start_described_journey
from tests.harness.support import always_open, default_playbook, leo_takes_every_deal, make_deal, wait_for_status
from workflows.business_hours import describe
from workflows.onboarding import OnboardingWorkflow

playwright_api = require_browser()

CHICAGO = "America/Chicago"  # the sample deal's account
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SLA_HOURS = 0.001  # 3.6 s: an escalation moves up a level while the test watches


def playbooks(directory: Path) -> Path:
    """One playbook per product, so one worker runs every kind of wait: `analytics` open
    around the clock, `ack` waiting for the owner before the kickoff, `closed` not open today
    in the customer's zone, `levels-2` and `levels-3` escalating every few seconds."""
    today = DAYS[datetime.now(ZoneInfo(CHICAGO)).weekday()]

    def book(name: str, product: str, change: Any = None) -> None:
        data = default_playbook()
        always_open(data)
        data["name"], data["applies_to"] = name, {"segments": ["*"], "products": [product]}
        if change:
            change(data)
        (directory / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))

    def escalating(levels: list[str]) -> Any:
        return lambda d: d["escalation"].update(levels=levels, sla_hours=SLA_HOURS)

    directory.mkdir(parents=True, exist_ok=True)
    book("open", "analytics")
    book("ack", "ack", lambda d: d.update(owner_acknowledgement={"hours": 4, "before_kickoff": True}))
    book(
        "closed",
        "closed",
        lambda d: d["business_hours"].update(
            start="09:00", end="17:00", days=[day for day in DAYS if day != today], proactive_per_day=1
        ),
    )
    book("levels-2", "levels-2", escalating(["owner", "backup"]))
    book("levels-3", "levels-3", escalating(["owner", "backup", "manager"]))
    return directory


async def recorded_due(handle: WorkflowHandle, due: datetime) -> datetime | None:
    """`NextActionDue` once the server shows the upsert of the step `status` shows (bounded)."""
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        shown = (await handle.describe()).typed_search_attributes.get(NEXT_ACTION_DUE)
        if shown is not None and abs(shown - due) < timedelta(seconds=1):
            return shown
        if asyncio.get_running_loop().time() > deadline:
            return shown
        await asyncio.sleep(0.1)


def box_text(text: str) -> str:
    """The box as read, with the typographic quotes its Markdown renderer puts in undone."""
    for typographic, plain in (("\u2018", "'"), ("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"')):
        text = text.replace(typographic, plain)
    return text


def ignored(event: str) -> Any:
    return lambda s: any(e.event == event for e in s.timeline)


async def start(client: Client, task_queue: str, name: str, product: str = "analytics") -> WorkflowHandle:
    deal = make_deal(f"D-{name}", product=product, account={"id": f"ACME-{name}", "name": f"Acme {name}"})
    return await start_described_journey(client, task_queue, deal)


async def test_every_wait_shows_the_same_party_and_due_time_in_the_web_ui(
    ui_env: tuple[WorkflowEnvironment, str], tmp_path: Path, journeys: Any
) -> None:
    env, ui = ui_env
    client = env.client
    expect = playwright_api.expect
    expect.set_options(timeout=UI_TIMEOUT_MS)
    out = shots(tmp_path)
    async with journeys(client, playbooks=playbooks(tmp_path / "playbooks"), roster=leo_takes_every_deal) as tq:
        customer, paused, helped = [await start(client, tq, name) for name in ("customer", "paused", "helped")]
        owner, held = await start(client, tq, "owner", "ack"), await start(client, tq, "held", "closed")
        level2, level3 = await start(client, tq, "level2", "levels-2"), await start(client, tq, "level3", "levels-3")
        early = await client.start_workflow(  # started by a product event: the deal comes later
            OnboardingWorkflow.run, JourneyInput(deal_id="D-early"), id=workflow_id_for("D-early"), task_queue=tq
        )

        for handle in (customer, paused, helped, level2, level3):
            await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        await paused.execute_update("pause", {"by": "maya", "reason": "customer on holiday"})
        for i, handle in enumerate((helped, level2, level3)):
            await handle.signal(OnboardingWorkflow.help_requested, HelpRequested(message="stuck", event_id=f"h-{i}"))
        # what a support person would not see before: inputs the journey ignores
        await customer.signal(OnboardingWorkflow.action_taken, ActionTaken(action="dataset_uplaoded", event_id="t-1"))
        await customer.signal(OnboardingWorkflow.action_taken, ActionTaken(action="dataset_uplaoded", event_id="t-1"))
        await customer.signal(OnboardingWorkflow.owner_acknowledged, OwnerAcknowledged(by="maya"))

        waits: dict[str, tuple[WorkflowHandle, Status]] = {
            "customer": (customer, await wait_for_status(customer, ignored("acknowledgement ignored"))),
            "journey": (held, await wait_for_status(held, lambda s: s.waiting_on == "journey" and s.stage != "")),
            "owner": (owner, await wait_for_status(owner, lambda s: s.waiting_on == "owner")),
            "staff (resume)": (paused, await wait_for_status(paused, lambda s: s.paused)),
            "human, level 1": (helped, await wait_for_status(helped, lambda s: s.escalation_level == 1)),
            "human, level 2": (level2, await wait_for_status(level2, lambda s: s.escalation_level == 2, seconds=30)),
            "human, level 3": (level3, await wait_for_status(level3, lambda s: s.escalation_level == 3, seconds=30)),
            "deal": (early, await wait_for_status(early, lambda s: s.waiting_on == "deal")),
        }

        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            try:
                page = await browser.new_page(viewport=VIEWPORT)
                page.set_default_timeout(UI_TIMEOUT_MS)
                for kind, (handle, state) in waits.items():
                    party = kind.split(",")[0]
                    assert state.waiting_on == party, (kind, state)
                    if party == "deal":  # no due time: the CRM sends the details when it does
                        assert state.next_action is None, state
                        assert (await handle.describe()).typed_search_attributes.get(NEXT_ACTION_DUE) is None
                        await page.goto(f"{ui}/namespaces/default/workflows/{handle.id}", wait_until="domcontentloaded")
                        await page.get_by_test_id("user-metadata-tab").click()
                        current = page.frame_locator("#user-metadata-current-details")
                        await expect(current.get_by_text("Waiting on: deal")).to_be_visible()
                        await expect(current.get_by_text("no due time")).to_be_visible()
                        continue
                    assert state.next_action is not None and state.next_action.due_at is not None, (kind, state)
                    due = state.next_action.due_at
                    listed = await recorded_due(handle, due)
                    assert listed is not None and abs(listed - due) < timedelta(seconds=1), (kind, listed, due)

                    await page.goto(f"{ui}/namespaces/default/workflows/{handle.id}", wait_until="domcontentloaded")
                    await page.get_by_test_id("user-metadata-tab").click()
                    current = page.frame_locator("#user-metadata-current-details")
                    await expect(current.get_by_text(f"Waiting on: {party}")).to_be_visible()
                    shown = box_text(await current.locator("body").inner_text())
                    assert f"Next action: {state.next_action.title} — due {describe(due, CHICAGO)}" in shown, (
                        kind,
                        shown,
                    )
                    if party == "human":
                        assert f"Escalation level: {state.escalation_level}" in shown, (kind, shown)
                    if party == "customer":
                        for line in (
                            "action taken: dataset_uplaoded (no milestone listens for this event: misspelled?)",
                            "duplicate event ignored: t-1",
                            "acknowledgement ignored: maya: not the owner",
                        ):
                            await expect(current.get_by_text(line)).to_be_visible()
                        await page.screenshot(path=out / "journey-recent.png")
            finally:
                await browser.close()
