"""The report as one self-contained HTML page: plotly's figures with plotly.js inlined once,
tables whose every number links to the Web UI list of its journeys. Opens from disk."""

from __future__ import annotations

import html
from collections import defaultdict

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from report.models import Report
from report.sections.markup import count, in_hours, percent, plot, table

STYLE = """
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1150px;color:#1f2933}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #d9e2ec;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0 16px}td,th{padding:3px 10px;border-bottom:1px solid #eef2f6;text-align:right}
th{background:#f5f7fa}td:first-child,th:first-child{text-align:left}a{color:#0b69a3;text-decoration:none}
.kpi{display:inline-block;margin:0 24px 8px 0}.kpi b{font-size:1.5em;display:block}.note{color:#616e7c;font-size:.9em}
"""


def render(report: Report) -> str:
    esc = html.escape
    parts: list[str] = [
        f"<h1>Onboarding friction report</h1><p class=note>generated {esc(report.generated_at.isoformat(timespec='minutes'))}"
        f" from {report.moments} moments; filters: {esc(_filters(report))}. Every number opens the journeys behind it in the Temporal Web UI.</p>",
        "<div>"
        + "".join(
            f"<span class=kpi><b>{count(c)}</b>{n}</span>"
            for n, c in (
                ("journeys", report.journeys),
                ("running", report.running),
                ("activated", report.activated),
                ("closed", report.closed),
            )
        )
        + "</div>",
    ]

    parts.append(
        "<h2>Time to first action and to first value</h2><p class=note>Hours from the start of the journey, per segment; median and p90 over the journeys that got there; "
        "the target is the playbook's first milestone window (first value: the first two windows); inside = share of all the segment's journeys that got there within it.</p>"
    )
    for title, rows, name in (
        ("first action", report.time_to_first_action, "ttfa"),
        ("first value", report.time_to_first_value, "ttfv"),
    ):
        figure = go.Figure()
        figure.add_bar(name="median", x=[r.segment for r in rows], y=[r.median_hours for r in rows])
        figure.add_bar(name="p90", x=[r.segment for r in rows], y=[r.p90_hours for r in rows])
        figure.add_scatter(
            name="target",
            mode="markers",
            marker={"symbol": "line-ew-open", "size": 40, "line": {"width": 3}},
            x=[r.segment for r in rows],
            y=[r.target_hours for r in rows],
        )
        figure.update_layout(title=f"time to {title} (hours)", barmode="group")
        parts.append(plot(figure, name))
        parts.append(
            table(
                ["segment", "journeys", "reached", "median", "p90", "target", "inside target", "share inside"],
                [
                    [
                        esc(r.segment),
                        count(r.journeys),
                        count(r.reached),
                        in_hours(r.median_hours),
                        in_hours(r.p90_hours),
                        in_hours(r.target_hours),
                        count(r.inside),
                        percent(r.inside_share),
                    ]
                    for r in rows
                ],
            )
        )

    parts.append(
        "<h2>Funnel per milestone</h2><p class=note>By the week the journeys started: told the milestone, did it, went on to the next (or activated after the last).</p>"
    )
    figure = go.Figure()
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in report.funnel:
        for step in ("told", "acted", "next"):
            totals[r.milestone][step] += getattr(r, step).n
    for step in ("told", "acted", "next"):
        figure.add_bar(name=step, x=list(totals), y=[totals[m][step] for m in totals])
    figure.update_layout(title="told -> acted -> next, all weeks", barmode="group")
    parts.append(plot(figure, "funnel"))
    parts.append(
        table(
            ["week", "milestone", "told", "acted", "skipped", "next"],
            [
                [r.week, esc(r.milestone), count(r.told), count(r.acted), count(r.skipped), count(r.next)]
                for r in report.funnel
            ],
        )
    )

    parts.append(
        "<h2>What moved customers</h2><p class=note>The journey's last touchpoint before each completion: the evidence for or against each follow-up.</p>"
    )
    figure = go.Figure()
    for touchpoint in sorted({r.touchpoint for r in report.touchpoints}):
        moved = [r for r in report.touchpoints if r.touchpoint == touchpoint]
        figure.add_bar(name=touchpoint, x=[r.milestone for r in moved], y=[r.completions.n for r in moved])
    figure.update_layout(title="completions by the touchpoint before them", barmode="stack")
    parts.append(plot(figure, "touchpoints"))
    parts.append(
        table(
            ["milestone", "touchpoint", "completions", "share"],
            [[esc(r.milestone), esc(r.touchpoint), count(r.completions), percent(r.share)] for r in report.touchpoints],
        )
    )

    parts.append(
        "<h2>Where customers wait now</h2><p class=note>Running journeys by the milestone they wait in, their state, and their age since start.</p>"
    )
    figure = go.Figure()
    for age in ("<1d", "1-3d", "3-7d", "7d+"):
        waiting = [r for r in report.waiting if r.age == age]
        if waiting:
            figure.add_bar(
                name=age, x=[f"{r.stage or 'kickoff'} / {r.state}" for r in waiting], y=[r.journeys.n for r in waiting]
            )
    figure.update_layout(title="running journeys by stage and age", barmode="stack")
    parts.append(plot(figure, "waiting"))
    parts.append(
        table(
            ["stage", "state", "age", "journeys", "oldest", "median in stage"],
            [
                [
                    esc(r.stage or "(before kickoff)"),
                    esc(r.state),
                    esc(r.age),
                    count(r.journeys),
                    in_hours(r.oldest_hours),
                    in_hours(r.in_stage_median_hours),
                ]
                for r in report.waiting
            ],
        )
    )

    h = report.humans
    parts.append(
        "<h2>Humans</h2>"
        f"<p>{count(h.escalated)} of {count(h.journeys)} journeys escalated ({percent(h.escalation_rate)}), {h.escalations} escalations; "
        f"{count(h.resolved)} resolved, median {in_hours(h.resolution_median_hours)}, p90 {in_hours(h.resolution_p90_hours)}.</p>"
    )
    figure = go.Figure()
    figure.add_bar(x=[t.trigger for t in h.triggers], y=[t.escalations.n for t in h.triggers])
    figure.update_layout(title="escalations by trigger")
    parts.append(plot(figure, "triggers"))
    parts.append(table(["trigger", "escalations"], [[esc(t.trigger), count(t.escalations)] for t in h.triggers]))
    parts.append(
        table(
            ["owner", "journeys", "escalations", "level-ups (SLA breaches)", "over capacity"],
            [
                [esc(o.owner), count(o.journeys), count(o.escalations), count(o.level_ups), count(o.over_capacity)]
                for o in h.owners
            ],
        )
    )

    if report.variants:
        parts.append(
            "<h2>Playbook experiments</h2><p class=note>95% intervals: the median's from order statistics, the rate's Wilson. "
            "Differences: Mann-Whitney U on time to first action, two-proportion z-test on activation; significant below p=0.05.</p>"
        )
        figure = go.Figure()
        labels = [f"{v.playbook}/{v.variant}" for v in report.variants]
        medians = [v.ttfa_median_hours or 0 for v in report.variants]
        figure.add_bar(
            x=labels,
            y=medians,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [
                    (v.ttfa_median_ci_hours[1] - m) if v.ttfa_median_ci_hours else 0
                    for v, m in zip(report.variants, medians)
                ],
                "arrayminus": [
                    (m - v.ttfa_median_ci_hours[0]) if v.ttfa_median_ci_hours else 0
                    for v, m in zip(report.variants, medians)
                ],
            },
        )
        figure.update_layout(title="median time to first action by variant (hours, 95% interval)")
        parts.append(plot(figure, "variants"))

        def ci(pair: tuple[float, float] | None, fmt: str) -> str:
            return "–" if pair is None else f"{pair[0]:{fmt}} – {pair[1]:{fmt}}"

        parts.append(
            table(
                [
                    "playbook",
                    "variant",
                    "journeys",
                    "first actions",
                    "median TTFA",
                    "95% interval",
                    "activated",
                    "rate",
                    "95% interval",
                ],
                [
                    [
                        esc(v.playbook),
                        esc(v.variant),
                        count(v.journeys),
                        count(v.first_actions),
                        in_hours(v.ttfa_median_hours),
                        ci(v.ttfa_median_ci_hours, ".1f"),
                        count(v.activated),
                        percent(v.activation_rate),
                        ci(v.activation_rate_ci, ".0%"),
                    ]
                    for v in report.variants
                ],
            )
        )
        parts.append(
            "<ul>"
            + "".join(
                f"<li><b>{esc(c.playbook)}: {esc(c.a)} vs {esc(c.b)}</b>: {esc(c.verdict)}</li>"
                for c in report.variant_comparisons
            )
            + "</ul>"
        )

    return (
        "<!DOCTYPE html><html><head><meta charset=utf-8><title>Onboarding friction report</title>"
        f'<style>{STYLE}</style><script type="text/javascript">{get_plotlyjs()}</script></head><body>'
        + "\n".join(parts)
        + "</body></html>"
    )


def _filters(report: Report) -> str:
    shown = {k: v for k, v in report.filters.model_dump(mode="json").items() if v is not None}
    return ", ".join(f"{k}={v}" for k, v in shown.items()) or "none"
