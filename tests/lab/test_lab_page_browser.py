"""The lab's page read as a CS lead would, in headless Chromium: the default playbook's
personas walked by `onboarding simulate --html` (its own time-skipping server), the page
opened from disk, every timeline drawn; what the customer did, failed at or asked for help
with drawn apart, replies in a lane of their own, owner changes labelled, the first action
and the outcome on the chart, plain words in place of the engine's, weekends shaded apart
from nights, and the page a fraction of plotly.js's own size.

The screenshot docs/img/lab.png comes from this test: run it with UPDATE_SCREENSHOTS=1 to
rewrite it (otherwise it goes under pytest's tmp_path)."""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

from lab.html import LANES, NIGHT, WEEKEND, figure, marks
from lab.simulate import LabReport
from tests.harness.browser import CHROMIUM, CHROMIUM_FLAGS, require_browser, shots

playwright_api = require_browser()
ONBOARDING = Path(sys.executable).parent / "onboarding"
ENGINE_WORDS = ("release_owner", "close_escalation_task", "resolve_escalation", "awaiting_action", "{'")


async def test_the_lab_page_reads_at_a_glance(tmp_path) -> None:
    page_file = tmp_path / "lab.html"
    run = subprocess.run([str(ONBOARDING), "simulate", "--json", "--html", str(page_file)], capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    report = LabReport.model_validate(json.loads(run.stdout))
    helped = next(p for p in report.personas if p.persona == "fails-then-help")

    # What the chart draws, mark by mark
    drawn = marks(helped)
    customer = {m.series for m in drawn if m.lane == "customer"}
    assert {"customer did it", "customer's attempt failed", "customer asked for help"} <= customer
    replies = [m for m in drawn if m.series == "reply to the customer"]
    assert replies and all(m.lane == "sent to the customer" for m in replies)  # never under the customer's mark
    assert any(m.series == "owner" and m.label.startswith("owner: ") for m in drawn)  # owner changes named
    for lane in LANES:  # neighbouring labels in a lane sit on alternate sides
        positions = [m.position for m in drawn if m.lane == lane and m.label]
        assert all(a != b for a, b in pairwise(positions)), lane
    layout = figure(helped).layout
    notes = [a.text for a in layout.annotations]
    assert "<b>outcome: activated</b>" in notes and any(n.startswith("first action, after ") for n in notes)
    shades = {s.fillcolor for s in layout.shapes if s.type == "rect"}
    assert {NIGHT, WEEKEND} <= shades and NIGHT != WEEKEND

    html = page_file.read_text()
    assert not [w for w in ENGINE_WORDS if w in html]
    assert "<b>First action</b>: the customer completes the playbook's first milestone" in html
    assert page_file.stat().st_size < 2_500_000  # plotly.js once, packed (alone it is 4.6 MB)

    out = shots(tmp_path)
    expect = playwright_api.expect
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(page_file.as_uri(), wait_until="load")
            await expect(page.locator("body")).to_have_attribute("data-plotted", "yes")
            for p in report.personas:
                timeline = page.locator(f'[id="timeline-{p.persona}"]')
                await expect(timeline.locator("svg.main-svg").first).to_be_visible()
                assert await timeline.locator("g.trace").count() >= 3, p.persona
            assert errors == []
            shown = page.locator('[id="timeline-fails-then-help"]')
            legend = await shown.locator("g.legend text.legendtext").all_text_contents()
            assert "customer's attempt failed" in legend and "customer asked for help" in legend
            drawn_notes = await shown.locator(".annotation-text").all_text_contents()
            assert "outcome: activated" in drawn_notes and any(n.startswith("first action") for n in drawn_notes)
            await shown.screenshot(path=Path(out) / "lab.png")
        finally:
            await browser.close()
