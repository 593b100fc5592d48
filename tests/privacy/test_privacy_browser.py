"""Proof in a real browser: the Temporal Web UI shows a journey's input decrypted only to a
browser signed in at the codec server; everyone else sees ciphertext (headless Chromium,
a dev server whose UI has `--ui-codec-endpoint` set to the HTTP service's /codec).

Screenshots for docs/support.md: UPDATE_SCREENSHOTS=1 writes them to docs/img/."""

from __future__ import annotations

import re

import httpx

from starters.app import create_app
from tests.harness.browser import CHROMIUM, CHROMIUM_FLAGS, UI_TIMEOUT_MS, VIEWPORT, require_browser, shots
from tests.harness.privacy_keys import CODEC_TOKEN
from tests.harness.starters_fixtures import deal_body, serve, settings_for, signed, unique
from tests.harness.support import always_open, wait_for_status, write_playbook
from workflows.onboarding import OnboardingWorkflow

playwright_api = require_browser()

CONTACT = "ana@acme.example"


async def test_web_ui_shows_the_input_decrypted_only_to_a_signed_in_browser(codec_ui, tmp_path, journeys):
    env, ui, http_port = codec_ui
    expect = playwright_api.expect
    expect.set_options(timeout=UI_TIMEOUT_MS)
    out = shots(tmp_path)
    client = env.client
    playbooks = write_playbook(tmp_path / "playbooks", always_open)
    async with journeys(client, playbooks=playbooks) as task_queue:
        settings = settings_for(
            client.service_client.config.target_host,
            onboarding_task_queue=task_queue,
            onboarding_data_dir=tmp_path / "data",
            onboarding_codec_ui_origins=[ui],
        )
        async with serve(create_app(settings), port=http_port) as base, httpx.AsyncClient(base_url=base) as http:
            deal_id = unique("D")
            raw, headers = signed(deal_body(deal_id))
            assert (await http.post("/webhooks/deal-closed", content=raw, headers=headers)).status_code == 202
            handle = client.get_workflow_handle(f"onboarding-{deal_id}")
            await wait_for_status(
                handle,
                lambda s: s.waiting_on == "customer" and s.next_action is not None and s.next_action.due_at is not None,
            )

            async with playwright_api.async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
                try:
                    page = await browser.new_page(viewport=VIEWPORT)
                    page.set_default_timeout(UI_TIMEOUT_MS)
                    journey = f"{ui}/namespaces/default/workflows/{handle.id}"

                    # 1. Not signed in: the codec server answers 401, the UI shows ciphertext.
                    await page.goto(journey, wait_until="domcontentloaded")
                    await expect(page).to_have_url(re.compile(rf"/workflows/{handle.id}/[0-9a-f-]+/"))
                    await expect(
                        page.get_by_role("alert").filter(has_text="Codec Server could not connect")
                    ).to_be_visible()
                    input_box = page.get_by_role("textbox", name="Input")
                    await expect(input_box).to_be_visible()
                    await expect(input_box).to_contain_text(re.compile(r'^"[A-Za-z0-9+/]{200,}={0,2}"'))  # ciphertext
                    await expect(page.get_by_text(CONTACT)).to_have_count(0)
                    await page.screenshot(path=out / "codec-input-encrypted.png", full_page=False)

                    # 2. Sign in at the codec server with the token, as staff do once.
                    await page.goto(f"{base}/codec/session", wait_until="domcontentloaded")
                    await page.get_by_label("Codec token").fill(CODEC_TOKEN)
                    await page.get_by_role("button", name="Sign in").click()
                    await expect(page.get_by_text("Signed in")).to_be_visible()

                    # 3. Signed in, the cluster-level setting alone still does not send the session.
                    await page.goto(journey, wait_until="domcontentloaded")
                    alert = page.get_by_role("alert").filter(has_text="Codec Server could not connect")
                    await expect(alert).to_be_visible()

                    # 4. The codec setting as the guide walks it: the glasses icon, the browser's
                    # setting with cross-origin credentials, Apply, then a reload.
                    await page.get_by_test_id("data-encoder-status-error").click()
                    codec_dialog = page.locator("dialog[open]")
                    await codec_dialog.get_by_text("Use my browser setting and ignore Cluster-level setting.").click()
                    await codec_dialog.locator("#data-encoder-endpoint-input").fill(f"{base}/codec")
                    await codec_dialog.get_by_text("Include cross-origin credentials").click()
                    await expect(codec_dialog.locator("#pass-access-credentials")).to_be_checked()
                    await page.screenshot(path=out / "codec-settings.png", full_page=False)
                    await codec_dialog.get_by_role("button", name="Apply").click()
                    await page.reload(wait_until="domcontentloaded")
                    input_box = page.get_by_role("textbox", name="Input")
                    await expect(input_box).to_contain_text(CONTACT)
                    await expect(input_box).to_contain_text('"name": "Acme Corp"')
                    await expect(
                        page.get_by_role("alert").filter(has_text="Codec Server could not connect")
                    ).to_have_count(0)
                    await page.screenshot(path=out / "codec-input-decrypted.png", full_page=False)
                finally:
                    await browser.close()
            await handle.signal(OnboardingWorkflow.cancel, {"reason": "test over"})
            await handle.result()
