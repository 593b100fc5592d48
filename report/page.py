"""The report as one self-contained HTML page: plotly's figures with plotly.js inlined once,
compressed (report/bundle.py), tables whose every number links to the Web UI list of its
journeys. Opens from disk."""

from __future__ import annotations

import html

from report import bundle
from report.models import Report
from report.sections import experiments, funnel, humans, overview, survival, time_to, touchpoints, trend, waiting

STYLE = """
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1150px;color:#1f2933}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #d9e2ec;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0 16px}td{white-space:nowrap}td,th{padding:3px 10px;border-bottom:1px solid #eef2f6;text-align:right}
th{background:#f5f7fa}td:first-child,th:first-child{text-align:left}a{color:#0b69a3;text-decoration:none}
.kpi{display:inline-block;margin:0 24px 8px 0}.kpi b{font-size:1.5em;display:block}.note{color:#616e7c;font-size:.9em}
"""


def render(report: Report) -> str:
    sections = [
        _title(report),
        *overview.render(report),
        *survival.render(report.survival),
        *trend.render(report.survival),
        *time_to.render(report.time_to_first_action, report.time_to_first_value),
        *funnel.render(report.funnel),
        *touchpoints.render(report.touchpoints),
        *waiting.render(report.waiting),
        *humans.render(report.humans),
        *experiments.render(report.variants, report.variant_comparisons),
    ]
    return (
        "<!DOCTYPE html><html><head><meta charset=utf-8><title>Onboarding friction report</title>"
        f"<style>{STYLE}</style></head><body>" + "\n".join(sections) + bundle.scripts() + "</body></html>"
    )


def _title(report: Report) -> str:
    generated = html.escape(report.generated_at.isoformat(timespec="minutes"))
    measured = html.escape(report.measured_at.isoformat(timespec="minutes"))
    return (
        f"<h1>Onboarding friction report</h1><p class=note>generated {generated}"
        f" from {report.moments} moments; journeys still running measured at {measured}; filters: {html.escape(_filters(report))}. Every number opens the journeys behind it in the Temporal Web UI.</p>"
    )


def _filters(report: Report) -> str:
    shown = {k: v for k, v in report.filters.model_dump(mode="json").items() if v is not None}
    return ", ".join(f"{k}={v}" for k, v in shown.items()) or "none"
