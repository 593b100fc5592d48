"""Proof in a real browser: staff signed in at the codec server type a company's name on the
HTTP service's /support page and land on the Web UI's list of exactly that customer's
journeys, each row naming the account (its summary, decrypted); a living link opens the Web
UI's list filled in for now (headless Chromium, a dev server whose UI has
`--ui-codec-endpoint` set to the HTTP service's /codec, as `make run` does)."""

from __future__ import annotations

import re

import httpx

from starters.app import create_app
from tests.harness.browser import CHROMIUM, CHROMIUM_FLAGS, UI_TIMEOUT_MS, VIEWPORT, require_browser, shots
from tests.harness.privacy_keys import CODEC_TOKEN
from tests.harness.starters_fixtures import count_eventually, deal_body, serve, settings_for, signed, unique

playwright_api = require_browser()


async def test_staff_find_a_customer_by_name_and_open_a_living_list(codec_ui, tmp_path):
    env, ui, http_port = codec_ui
    expect = playwright_api.expect
    expect.set_options(timeout=UI_TIMEOUT_MS)
    out = shots(tmp_path)
    client = env.client
    run = unique("W")
    settings = settings_for(
        client.service_client.config.target_host,
        onboarding_data_dir=tmp_path / "data",
        onboarding_codec_ui_origins=[ui],
        temporal_ui_url=ui,
    )
    async with serve(create_app(settings), port=http_port) as base, httpx.AsyncClient(base_url=base) as http:
        for key, name in (("1", "Northwind Traders"), ("2", "Northwind Traders"), ("3", "Contoso")):
            account = {"id": f"{run}-{name[:4].upper()}", "name": f"{name} {run}", "timezone": "UTC"}
            raw, headers = signed(deal_body(f"{run}-{key}", account=account))
            assert (await http.post("/webhooks/deal-closed", content=raw, headers=headers)).status_code == 202
        await count_eventually(client, f"DealId IN ('{run}-1', '{run}-2', '{run}-3')", 3)

        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            try:
                page = await browser.new_page(viewport=VIEWPORT)
                page.set_default_timeout(UI_TIMEOUT_MS)

                # Not signed in: the lookup says to sign in first.
                await page.goto(f"{base}/support/find?name=northwind", wait_until="domcontentloaded")
                await expect(page.get_by_role("heading", name="Sign in first")).to_be_visible()

                # Signed in at the codec server, the UI sending that session.
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

                # The /support page: type part of the name, in another case.
                await page.goto(f"{base}/support", wait_until="domcontentloaded")
                await page.get_by_label("Company name").fill(f"NORTHWIND traders {run}")
                await page.get_by_role("button", name="Find").click()
                await expect(page).to_have_url(re.compile(rf"^{re.escape(ui)}/namespaces/default/workflows\?query="))
                rows = page.get_by_test_id("workflows-summary-configurable-table-row")
                await expect(rows).to_have_count(2)
                await expect(page.get_by_role("link", name=f"onboarding-{run}-1")).to_be_visible()
                await expect(page.get_by_role("link", name=f"onboarding-{run}-3")).to_have_count(0)
                # The rows name the customer by its id (the list shows search attributes only;
                # the name is in the journey's summary, on its page): the CustomerId column.
                await page.get_by_test_id("workflows-summary-table-configuration-button").click()
                for column in ("Run ID", "Type", "Start", "End"):
                    await page.get_by_test_id(f"orderable-list-item-{column}-remove-button").click()
                await page.get_by_test_id("orderable-list-item-CustomerId-add-button").click()
                heading = page.get_by_text("Configure Workflows Table")
                await page.get_by_role("button", name=re.compile("close", re.I)).filter(visible=True).first.click()
                await expect(heading).to_be_hidden()
                await expect(rows.filter(has_text=f"{run}-NORT")).to_have_count(2)
                await page.screenshot(path=out / "find-customer-list.png")

                # A living link: the Web UI list, filled in for now.
                await page.goto(f"{base}/support/stuck", wait_until="domcontentloaded")
                await expect(page).to_have_url(re.compile(r"NextActionDue"))
                await expect(page.get_by_text("Workflows").first).to_be_visible()
            finally:
                await browser.close()
