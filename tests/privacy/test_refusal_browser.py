"""Proof in a real browser: a staff update the journey refuses shows its refusal in the Temporal
Web UI's Send an Update dialog, naming the field, to a browser signed in at the codec server and
to one that is not (headless Chromium; the dev server's UI has `--ui-codec-endpoint` set to the
HTTP service's /codec, as `make run` does).

Screenshots for docs/support.md: UPDATE_SCREENSHOTS=1 writes them to docs/img/."""

from __future__ import annotations

import httpx

from contracts.status import OnboardingState
from starters.app import create_app
from tests.harness.browser import CHROMIUM, CHROMIUM_FLAGS, UI_TIMEOUT_MS, VIEWPORT, require_browser, shots
from tests.harness.privacy_keys import CODEC_TOKEN
from tests.harness.starters_fixtures import serve, settings_for
from tests.harness.support import always_open, make_deal, start_journey, wait_for_status, write_playbook
from workflows.onboarding import OnboardingWorkflow

playwright_api = require_browser()

EMPTY_REFUSAL = "pause: no input; expected an object with by, reason"
FIELD_REFUSAL = "resolve_escalation: decision: Input should be 'retry', 'skip', 'reassign' or 'close'"


async def send_update(page, journey: str, name: str, body: str, *, signed_in: bool):
    """More Actions -> Send an Update, as staff do; the dialog, after Submit."""
    await page.goto(journey, wait_until="domcontentloaded")
    await page.get_by_role("button", name="More Actions").click()
    await page.locator("#workflow-actions").last.get_by_text("Send an Update").click()
    dialog = page.locator("#modal-content-update-confirmation-modal").filter(visible=True)
    if signed_in:  # the UI reads the journey's update names (its metadata query, decrypted)
        await dialog.get_by_test_id("update-select-button").click()
        await dialog.get_by_role("option", name=name).click()
    else:  # the metadata is ciphertext: staff type the name
        await dialog.get_by_test_id("update-name").fill(name)
    if body:
        editor = dialog.locator(".cm-content")
        await editor.click()
        await editor.fill(body)
        await dialog.get_by_text("Update ID (optional)").click()  # leave the editor: it reformats
    await page.get_by_role("button", name="Submit").filter(visible=True).click()
    return dialog


async def test_a_refused_update_reads_its_refusal_in_the_web_ui_signed_in_or_not(codec_ui, tmp_path, journeys):
    env, ui, http_port = codec_ui
    expect = playwright_api.expect
    expect.set_options(timeout=UI_TIMEOUT_MS)
    out = shots(tmp_path)
    client = env.client
    # hours around the clock: the real clock may be outside the default playbook's hours
    async with journeys(client, playbooks=write_playbook(tmp_path / "pb", always_open)) as task_queue:
        settings = settings_for(
            client.service_client.config.target_host,
            onboarding_task_queue=task_queue,
            onboarding_data_dir=tmp_path / "data",
            onboarding_codec_ui_origins=[ui],
        )
        async with serve(create_app(settings), port=http_port) as base, httpx.AsyncClient(base_url=base):
            handle = await start_journey(client, task_queue, make_deal(account={"id": "ACME-B", "timezone": "UTC"}))
            await wait_for_status(handle, lambda s: s.waiting_on == "customer")
            await handle.signal(OnboardingWorkflow.help_requested, {"message": "help", "event_id": "h-1"})
            await wait_for_status(handle, lambda s: s.state is OnboardingState.escalated)
            journey = f"{ui}/namespaces/default/workflows/{handle.id}"

            async with playwright_api.async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
                try:
                    page = await browser.new_page(viewport=VIEWPORT)
                    page.set_default_timeout(UI_TIMEOUT_MS)

                    # 1. Not signed in: the UI cannot encrypt data ("Data encoding failed"), so
                    # an update goes out without input; its refusal is readable, not "Encoded failure".
                    await send_update(page, journey, "pause", "", signed_in=False)
                    await expect(page.get_by_text(EMPTY_REFUSAL).first).to_be_visible()
                    await expect(page.get_by_text("Encoded failure")).to_have_count(0)
                    await page.screenshot(path=out / "update-refused-signed-out.png")

                    # 2. Signed in at the codec server, the UI sending its session.
                    await page.goto(f"{base}/codec/session", wait_until="domcontentloaded")
                    await page.get_by_label("Codec token").fill(CODEC_TOKEN)
                    await page.get_by_role("button", name="Sign in").click()
                    await expect(page.get_by_text("Signed in")).to_be_visible()
                    await page.goto(ui, wait_until="domcontentloaded")
                    await page.evaluate(
                        """([endpoint]) => {
                            localStorage.setItem('endpoint', JSON.stringify(endpoint));
                            localStorage.setItem('includeCredentials', 'true');
                            localStorage.setItem('passAccessToken', 'false');
                            localStorage.setItem('overrideRemoteCodecConfiguration', 'true');
                        }""",
                        [f"{base}/codec"],
                    )
                    await send_update(
                        page, journey, "resolve_escalation", '{"decision": "retyr", "by": "maya"}', signed_in=True
                    )
                    await expect(page.get_by_text(FIELD_REFUSAL).first).to_be_visible()
                    await expect(page.get_by_text("Encoded failure")).to_have_count(0)
                    await page.screenshot(path=out / "update-refused.png")
                finally:
                    await browser.close()
            assert (await handle.describe()).status.name == "RUNNING"
