"""Proof in a real browser: the Temporal Web UI, in headless Chromium, shows an escalated
journey's summary, details and current details, lists it under the support guide's
"escalated by owner" query, and resolves it through its Send an Update dialog; its Request
Cancellation closes a journey as the `cancel` signal does.

Needs Debian's `chromium` (`.ci/run` installs it) and the `playwright` package; browser
downloads are impossible here, so Playwright drives the system executable. Without either
the test skips and says why.

The screenshots in docs/img/ come from this test: run it with UPDATE_SCREENSHOTS=1 to
rewrite them (otherwise it writes them under pytest's tmp_path)."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import quote

from contracts.metadata import static_summary
from contracts.status import OnboardingState
from tests.harness.browser import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    UI_TIMEOUT_MS,
    VIEWPORT,
    require_browser,
    shots,
)
from tests.harness.staff import fill, guide_queries, start_described_journey
from tests.harness.support import (
    always_open,
    leo_takes_every_deal,
    make_deal,
    status,
    wait_for_status,
    write_playbook,
)
from workflows.onboarding import OnboardingWorkflow

playwright_api = require_browser()


async def listed_eventually(client, query: str, expected: set[str], seconds: float = 15) -> None:
    """Visibility catches up with the journeys' state a moment later: wait for it, bounded,
    so the browser sees a settled list."""
    deadline = asyncio.get_running_loop().time() + seconds
    while (got := {w.id async for w in client.list_workflows(query)}) != expected:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{query} listed {sorted(got)}, expected {sorted(expected)}")
        await asyncio.sleep(0.1)


async def show_columns(page, remove: list[str], add: list[str]) -> None:
    """The list's columns, as staff set them once (Configure Workflows Table)."""
    await page.get_by_test_id("workflows-summary-table-configuration-button").click()
    for name in remove:
        await page.get_by_test_id(f"orderable-list-item-{name}-remove-button").click()
    for name in add:
        await page.get_by_test_id(f"orderable-list-item-{name}-add-button").click()
    heading = page.get_by_text("Configure Workflows Table")
    await page.get_by_role("button", name=re.compile("close", re.I)).filter(visible=True).first.click()
    await playwright_api.expect(heading).to_be_hidden()


async def test_escalated_journey_is_legible_and_actionable_in_the_web_ui(ui_env, tmp_path, journeys):
    env, ui = ui_env
    client = env.client
    expect = playwright_api.expect
    expect.set_options(timeout=UI_TIMEOUT_MS)
    out = shots(tmp_path)
    acme = make_deal("D-1001")
    globex = make_deal(
        "D-1002",
        amount=61500,
        segment="mid-market",
        account={"id": "GLOBEX-7", "name": "Globex", "timezone": "Asia/Tokyo", "locale": "ja-JP"},
        contacts=[{"email": "kenji@globex.example", "name": "Kenji Sato", "role": "admin"}],
    )
    playbooks = write_playbook(tmp_path / "playbooks", always_open)
    async with journeys(client, playbooks=playbooks, roster=leo_takes_every_deal) as task_queue:
        handles = {}
        for deal in (acme, globex, make_deal("D-1003", account={"id": "INITECH-3", "name": "Initech"})):
            handles[deal.deal_id] = await start_described_journey(client, task_queue, deal, playbook_name="default")
        for deal_id, handle in handles.items():
            await wait_for_status(handle, lambda s: s.waiting_on == "customer")  # told the one action
            if deal_id != "D-1003":
                await handle.signal(
                    OnboardingWorkflow.help_requested,
                    {"message": "The CSV upload says 'invalid header'", "event_id": "h-1"},
                )
        for deal_id in ("D-1001", "D-1002"):
            await wait_for_status(handles[deal_id], lambda s: s.state is OnboardingState.escalated)
        owner = (await status(handles["D-1001"])).owner
        workflow_id = handles["D-1001"].id
        query = fill(guide_queries()["escalated-by-owner"], {"maya": owner})
        await listed_eventually(client, query, {handles["D-1001"].id, handles["D-1002"].id})

        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            try:
                page = await browser.new_page(viewport=VIEWPORT)
                page.set_default_timeout(UI_TIMEOUT_MS)

                # 1. The guide's "escalated by owner" list shows exactly the two escalated journeys.
                await page.goto(
                    f"{ui}/namespaces/default/workflows?query={quote(query)}", wait_until="domcontentloaded"
                )
                rows = page.get_by_test_id("workflows-summary-configurable-table-row")
                await expect(rows).to_have_count(2)
                await expect(page.get_by_role("link", name="onboarding-D-1001")).to_be_visible()
                await expect(page.get_by_role("link", name="onboarding-D-1002")).to_be_visible()
                await expect(page.get_by_role("link", name="onboarding-D-1003")).to_have_count(0)
                await show_columns(
                    page,
                    remove=["Run ID", "Type", "Start", "End"],
                    add=[
                        "OnboardingStage",
                        "OnboardingOwner",
                        "OnboardingAssignee",
                        "EscalationLevel",
                        "NextActionDue",
                    ],
                )
                await expect(page.get_by_role("columnheader", name="OnboardingOwner")).to_be_visible()
                await expect(page.get_by_role("columnheader", name="OnboardingAssignee")).to_be_visible()
                await page.screenshot(path=out / "list-escalated-by-owner.png")

                # 2. The journey's page: summary, details, current details (from a live query).
                await page.goto(f"{ui}/namespaces/default/workflows/{workflow_id}", wait_until="domcontentloaded")
                await expect(page).to_have_url(re.compile(rf"/workflows/{workflow_id}/[0-9a-f-]+/"))
                await page.get_by_test_id("user-metadata-tab").click()
                summary = page.frame_locator("#user-metadata-summary")
                details = page.frame_locator("#user-metadata-details")
                current = page.frame_locator("#user-metadata-current-details")
                await expect(summary.get_by_text(static_summary(acme))).to_be_visible()
                await expect(details.get_by_text("1 (champion)")).to_be_visible()  # roles, never names
                await expect(details.get_by_text("Ana Ruiz")).to_have_count(0)
                await expect(current.get_by_text("State: escalated")).to_be_visible()
                # Recent says why, quoting the customer (with the codec, only staff signed in read
                # these boxes: tests/privacy/test_privacy_browser.py)
                await expect(
                    current.get_by_text("escalated: customer asked for help: The CSV upload says")
                ).to_be_visible()
                # whom it waits on: the owner, by the escalation's SLA (v3.5)
                await expect(current.get_by_text("(owner) resolves the escalation — due")).to_be_visible()
                await expect(current.get_by_text("Waiting on: human")).to_be_visible()
                await expect(current.get_by_text("Eligible touchpoints:")).to_be_visible()
                await page.screenshot(path=out / "journey-user-metadata.png")

                # 3. Act from the UI: resolve_escalation through the Send an Update dialog.
                await page.get_by_role("button", name="More Actions").click()
                await page.locator("#workflow-actions").last.get_by_text("Send an Update").click()
                dialog = page.locator("#modal-content-update-confirmation-modal").filter(visible=True)
                await dialog.get_by_test_id("update-select-button").click()
                await dialog.get_by_role("option", name="resolve_escalation").click()
                editor = dialog.locator(".cm-content")
                await editor.click()
                await editor.fill('{"decision": "skip", "by": "maya", "note": "uploaded by email"}')
                # leaving the editor reformats the JSON and moves the Submit button: leave first
                await dialog.get_by_text("Update ID (optional)").click()
                await expect(editor).to_contain_text('"decision": "skip",')
                await page.screenshot(path=out / "send-update.png")
                await page.get_by_role("button", name="Submit").filter(visible=True).click()
                # the dialog closes once the server has the update's answer
                await expect(
                    page.locator("#modal-content-update-confirmation-modal").filter(visible=True)
                ).to_have_count(0)
            finally:
                await browser.close()

        after = await wait_for_status(handles["D-1001"], lambda s: s.stage == "first_value")
        assert after.state is OnboardingState.awaiting_action
        assert any(e.event == "escalation resolved: skip by maya" for e in after.timeline)


async def test_request_cancellation_in_the_web_ui_closes_the_journey(ui_env, tmp_path, journeys):
    """The Web UI's primary button, Request Cancellation, closes the journey as the `cancel`
    signal does (journey v3.8): the page shows it Completed and closed, and the guide's
    closed-this-week list finds it."""
    env, ui = ui_env
    client = env.client
    expect = playwright_api.expect
    expect.set_options(timeout=UI_TIMEOUT_MS)
    out = shots(tmp_path)
    playbooks = write_playbook(tmp_path / "playbooks", always_open)
    async with journeys(client, playbooks=playbooks, roster=leo_takes_every_deal) as task_queue:
        deal = make_deal(account={"id": "HOOLI-9", "name": "Hooli"})
        handle = await start_described_journey(client, task_queue, deal, playbook_name="default")
        await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        workflow_id = handle.id

        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            try:
                page = await browser.new_page(viewport=VIEWPORT)
                page.set_default_timeout(UI_TIMEOUT_MS)
                await page.goto(f"{ui}/namespaces/default/workflows/{workflow_id}", wait_until="domcontentloaded")
                await expect(page).to_have_url(re.compile(rf"/workflows/{workflow_id}/[0-9a-f-]+/"))
                await page.get_by_role("button", name="Request Cancellation").click()
                dialog = page.get_by_role("dialog").filter(visible=True)
                await dialog.get_by_role("button", name="Confirm").click()
                await expect(page.get_by_role("dialog").filter(visible=True)).to_have_count(0)

                closed = await handle.result()
                assert closed.state is OnboardingState.closed
                # the dev stack's Web UI (no sign-in) sends no identity: nobody to name
                assert closed.reason == "cancelled by a cancellation request"

                await page.reload(wait_until="domcontentloaded")
                await expect(page.get_by_text("Completed").first).to_be_visible()
                await page.get_by_test_id("user-metadata-tab").click()
                current = page.frame_locator("#user-metadata-current-details")
                await expect(current.get_by_text("State: closed")).to_be_visible()
                await page.screenshot(path=out / "journey-cancelled.png")
            finally:
                await browser.close()

        query = f"({fill(guide_queries()['closed-this-week'], {'2026-11-23T00:00:00-06:00': '2000-01-01T00:00:00Z'})}) AND WorkflowId = '{workflow_id}'"
        await listed_eventually(client, query, {workflow_id})
