"""The report's page in headless Chromium: opened from disk (no server), every section's
plot drawn by the inlined plotly.js, and a count's link pointing at the Web UI list.

Needs Debian's `chromium` and the `playwright` package (tests/workflows/test_support_browser.py says
how); the screenshot in docs/img/report.png comes from this test: run it with
UPDATE_SCREENSHOTS=1 to rewrite it (otherwise it goes under pytest's tmp_path)."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from report.cli import build
from report.links import Links
from report.models import Filters
from report.page import render
from tests.harness.browser import CHROMIUM, CHROMIUM_FLAGS, IMG, require_browser
from tests.harness.report_journeys import script, seed

playwright_api = require_browser()

PLOTS = (
    "ttfa",
    "ttfv",
    "km-first_action-segment",
    "km-first_value-start_week",
    "funnel",
    "touchpoints",
    "waiting",
    "triggers",
    "variants",
)


@pytest.mark.parametrize("records_url", ["sqlite"], indirect=True)
async def test_the_page_draws_every_plot_in_chromium(records_db, tmp_path) -> None:
    rng = random.Random(3)
    await seed(records_db, [script(i, rng) for i in range(120)])
    report = await build(
        records_db, Filters(), links=Links("http://localhost:8233", "default"), now=datetime(2026, 11, 23, tzinfo=UTC)
    )
    page_file = tmp_path / "report.html"
    page_file.write_text(render(report))
    # self-contained, plotly.js in once and packed: well under the 4.6 MB the library alone takes
    assert page_file.stat().st_size < 2_500_000
    out = IMG if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
    expect = playwright_api.expect
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(page_file.as_uri(), wait_until="load")
            await expect(page.locator("body")).to_have_attribute("data-plotted", "yes")  # unpacked, every plot drawn
            for name in PLOTS:
                plot = page.locator(f"#plot-{name}")
                # plotly.js drew it: an SVG plot area with bars (or points) in it
                await expect(plot.locator("svg.main-svg").first).to_be_visible()
                assert await plot.locator("g.trace").count() >= 1, name
            assert errors == []
            link = page.locator("span.kpi a").first
            assert await link.inner_text() == "120"
            assert (await link.get_attribute("href")).startswith(
                "http://localhost:8233/namespaces/default/workflows?query="
            )
            await page.screenshot(path=Path(out) / "report.png", full_page=False)
            await page.locator("#plot-variants").screenshot(path=Path(out) / "report-variants.png")
            await page.locator("#plot-km-first_action-segment").screenshot(path=Path(out) / "report-survival.png")
            await page.locator("#plot-trend").screenshot(path=Path(out) / "report-trend.png")
        finally:
            await browser.close()
