"""`--html FILE`: one self-contained page for people. Per persona a swimlane timeline
(customer, owner, system) drawn with plotly, its JavaScript inlined once, so the file opens
from disk with no server; hover a mark for the subject, the call to action, the local and
UTC time, and the start of a message's text. Under it, every message as its reader gets it
(subject and text, rendered in their language). Nights and weekends are shaded in the
customer's time zone."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from pathlib import Path

import plotly.graph_objects as go

from contracts.expectations import WEEKDAY_NAMES
from lab.calendar import local, spoken
from lab.simulate import LabReport, PersonaReport, Row

LANES = ["system", "owner", "customer"]  # bottom to top
_STYLE = {  # what -> (marker symbol, colour)
    "message": ("circle", "#1f77b4"),
    "customer": ("diamond", "#2ca02c"),
    "owner": ("square", "#9467bd"),
    "escalation": ("triangle-up", "#d62728"),
    "staff": ("star", "#ff7f0e"),
    "state": ("line-ns-open", "#7f7f7f"),
    "crm": ("x", "#8c564b"),
    "activity": ("circle-open", "#bcbd22"),
    "refused": ("x-open", "#d62728"),
}


def _naive_local(moment: datetime, tz: str) -> datetime:
    return local(moment, tz).replace(tzinfo=None)


def figure(p: PersonaReport) -> go.Figure:
    fig = go.Figure()
    for what, (symbol, colour) in _STYLE.items():
        rows = [r for r in p.rows if r.what == what]
        if not rows:
            continue
        fig.add_trace(
            go.Scatter(
                x=[_naive_local(r.at, p.timezone) for r in rows],
                y=[r.lane for r in rows],
                mode="markers+text" if what in ("message", "escalation") else "markers",
                text=[_label(r) for r in rows] if what in ("message", "escalation") else None,
                textposition="top center",
                marker={"symbol": symbol, "size": 13, "color": colour, "line": {"width": 1, "color": colour}},
                name=what,
                customdata=[[r.local, r.utc, r.text, _hover_text(r)] for r in rows],
                hovertemplate=(
                    "<b>%{customdata[0]}</b> local · %{customdata[1]}<br>%{customdata[2]}%{customdata[3]}<extra></extra>"
                ),
            )
        )
    _shade_closed_hours(fig, p)
    fig.update_layout(
        height=320,
        margin={"l": 80, "r": 20, "t": 30, "b": 40},
        yaxis={"categoryorder": "array", "categoryarray": LANES, "title": None},
        xaxis={"title": f"customer local time ({p.timezone})"},
        legend={"orientation": "h", "y": -0.25},
        template="plotly_white",
    )
    return fig


# Lines of a message's text shown on hover; the whole text is in the list under the timeline.
_HOVER_LINES = 8


def _hover_text(r: Row) -> str:
    if not r.body:
        return ""
    lines = [html.escape(line) for line in r.body.strip().splitlines()[:_HOVER_LINES]]
    return "<br><br>" + "<br>".join(lines) + ("<br>…" if len(r.body.strip().splitlines()) > _HOVER_LINES else "")


def _messages(p: PersonaReport) -> str:
    """Each message as its reader gets it: when, what, to whom, the subject and the text."""
    items = [
        f"<details class='msg'><summary>{html.escape(r.local)} · {html.escape(r.text.split(' ')[0])} · "
        f"<b>{html.escape(r.subject)}</b></summary><pre>{html.escape(r.body)}</pre></details>"
        for r in p.rows
        if r.what == "message" and (r.subject or r.body)
    ]
    return f"<h3>Messages ({len(items)})</h3>{''.join(items)}" if items else ""


def _label(r: Row) -> str:
    if r.what == "escalation":
        return r.text.split(" (")[0].replace("escalation ", "")
    return r.text.split(" ")[0]


def _shade_closed_hours(fig: go.Figure, p: PersonaReport) -> None:
    """Grey outside the playbook's business hours, in the customer's zone."""
    if not p.rows:
        return
    hours = p.business_hours
    first = _naive_local(p.rows[0].at, p.timezone).replace(hour=0, minute=0, second=0, microsecond=0)
    last = _naive_local(p.rows[-1].at, p.timezone) + timedelta(days=1)
    day = first
    while day < last:
        if WEEKDAY_NAMES[day.weekday()] not in hours.days:
            fig.add_vrect(x0=day, x1=day + timedelta(days=1), fillcolor="#eeeeee", line_width=0, layer="below")
        else:
            opens, closes = datetime.combine(day.date(), hours.start), datetime.combine(day.date(), hours.end)
            fig.add_vrect(x0=day, x1=opens, fillcolor="#f4f4f4", line_width=0, layer="below")
            fig.add_vrect(x0=closes, x1=day + timedelta(days=1), fillcolor="#f4f4f4", line_width=0, layer="below")
        day += timedelta(days=1)


def page(report: LabReport, title: str = "Journey lab") -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222} table{border-collapse:collapse}"
        " td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left} .fail{color:#b00020;font-weight:600}"
        " .ok{color:#1b7f3b} h2{margin-top:40px} .note{color:#555}"
        " .msg pre{white-space:pre-wrap;background:#f7f7f7;padding:8px 12px;margin:4px 0 10px}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<p class='note'>Each journey ran on the real journey workflow in virtual time; nothing was sent. "
        "Times are the customer's local time; hover a mark for UTC, the subject and the call to action. "
        "Each persona's messages follow its timeline, as its customer reads them.</p>",
        _summary(report),
    ]
    first = True
    for p in report.personas:
        variant = f" · variant {html.escape(p.variant)}" if p.variant else ""
        parts.append(f"<h2 id='{html.escape(_anchor(p))}'>{html.escape(p.label)}</h2>")
        parts.append(
            f"<p>{html.escape(p.description)}<br><span class='note'>deal {html.escape(p.deal_id)} · {html.escape(p.segment)} · "
            f"{p.amount:,.0f} · playbook {html.escape(p.playbook)}{variant} · closed {html.escape(p.closed_local)} ({html.escape(p.closed_utc)})</span></p>"
        )
        parts.append(figure(p).to_html(full_html=False, include_plotlyjs=first))
        first = False
        parts.append(_messages(p))
        parts.append(_verdicts(p))
    parts.append("</body></html>")
    return "\n".join(parts)


def _summary(report: LabReport) -> str:
    head = "<tr><th>persona</th><th>state</th><th>first action</th><th>activated</th><th>messages</th><th>follow-ups</th><th>humans</th><th>expectations</th></tr>"
    rows = []
    for p in report.personas:
        o, failed = p.outcome, len(p.failed)
        held = f"<span class='{'fail' if failed else 'ok'}'>{len(p.verdicts) - failed}/{len(p.verdicts)} held</span>"
        rows.append(
            f"<tr><td><a href='#{html.escape(_anchor(p))}'>{html.escape(p.label)}</a></td><td>{html.escape(o.state)}</td>"
            f"<td>{spoken(o.first_action_after_seconds)}</td><td>{spoken(o.activated_after_seconds)}</td><td>{o.messages}</td>"
            f"<td>{o.follow_ups}</td><td>{o.escalations}</td><td>{held}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _anchor(p: PersonaReport) -> str:
    return f"{p.persona}.{p.variant}" if p.variant else p.persona


def _verdicts(p: PersonaReport) -> str:
    items = [
        f"<li class='{'ok' if v.held else 'fail'}'>{'held' if v.held else 'FAILED'}: {html.escape(v.expectation)} "
        f"<span class='note'>— {html.escape(v.happened)} [{html.escape(v.source)}]</span></li>"
        for v in p.verdicts
    ]
    warnings = [f"<li class='note'>warning: {html.escape(w)}</li>" for w in p.warnings]
    return f"<ul>{''.join(items + warnings)}</ul>"


def write(report: LabReport, path: Path) -> None:
    path.write_text(page(report), encoding="utf-8")
