"""`--html FILE`: one self-contained page for people. Per persona a swimlane timeline drawn
with plotly (its JavaScript inlined once, compressed: report/bundle.py), so the file opens
from disk with no server. Read as a CS lead would: what the customer did (done, failed,
asked for help, each its own mark), what the journey sent them (a lane of its own, so a
reply never hides under the action it answers), the owner and humans (owner changes
labelled), the first action and the outcome marked on the chart, in plain words; nights and
weekends shaded apart, in the customer's time zone. Hover a mark for the local and UTC time.
Under each timeline, every message as its reader gets it (subject and text, rendered in
their language)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import plotly.graph_objects as go

from contracts.expectations import WEEKDAY_NAMES
from lab.calendar import local, shown, spoken
from lab.record import Touch
from lab.simulate import LabReport, PersonaReport, Row
from report import bundle

# bottom to top
LANES = ["system", "owner and staff", "sent to the customer", "customer"]
HEIGHT = 380
NIGHT = "#efefef"  # outside business hours on a working day
WEEKEND = "#d6e4f5"  # a day without business hours


@dataclass(frozen=True)
class Mark:
    """One mark on the chart: where, how it looks, its label (if any) and its hover text."""

    at: datetime
    lane: str
    series: str  # the legend's name, in plain words
    label: str
    hover: str
    position: str = "top center"  # of the label


# legend name -> (marker symbol, colour, size)
STYLE: dict[str, tuple[str, str, int]] = {
    "customer did it": ("diamond", "#2ca02c", 14),
    "customer's attempt failed": ("x", "#d62728", 14),
    "customer asked for help": ("circle", "#ff7f0e", 14),
    "message (journey's own timing)": ("circle", "#1f77b4", 12),
    "reply to the customer": ("circle-open", "#1f77b4", 12),
    "message not sent": ("circle-x-open", "#d62728", 12),
    "owner": ("square", "#9467bd", 12),
    "needs a human (escalation)": ("triangle-up", "#d62728", 14),
    "staff decided": ("star", "#ff7f0e", 14),
    "state changed": ("line-ns-open", "#7f7f7f", 12),
    "CRM": ("x-thin-open", "#8c564b", 10),
    "engine step": ("circle-open", "#bcbd22", 9),
    "engine step failed": ("x-open", "#d62728", 11),
    "refused input": ("x-open", "#d62728", 12),
}

STATES = {
    "awaiting_action": "waiting for the customer",
    "clarifying": "clarifying with the customer",
    "escalated": "waiting for a human",
    "activated": "activated: every milestone done",
    "closed": "closed",
}
OUTCOMES = {"activated": "activated", "escalated": "waiting for a human", "closed": "closed",
            "awaiting_action": "still waiting for the customer", "clarifying": "still clarifying"}  # fmt: skip
STEPS = {
    "release_owner": "the owner's seat freed",
    "close_escalation_task": "the human's task closed",
    "create_task": "a task for the owner",
    "update_crm": "CRM updated",
    "record_moment": "moment recorded",
    "record_moments": "moments recorded",
}
MESSAGE_KINDS = {"direction": "next step", "help": "help", "clarify": "follow-up: clarify", "simplify":
                 "follow-up: simpler way", "redirect": "follow-up: together", "human": "from the owner"}  # fmt: skip
FIRST_ACTION = (
    "<b>First action</b>: the customer completes the playbook's first milestone (in the default playbook, "
    "uploading a dataset); <b>activated</b>: every milestone done."
)


def words(key: str) -> str:
    """A key in plain words: first_action -> first action."""
    return key.replace("_", " ")


def marks(p: PersonaReport) -> list[Mark]:
    out = [_mark(t, p.timezone) for t in p.touches]
    out += [_refused(r) for r in p.rows if r.what == "refused"]
    ordered = sorted((m for m in out if m is not None), key=lambda m: m.at)
    # in each lane, one label above its mark, the next below, so neighbours do not collide
    placed, seen = [], dict.fromkeys(LANES, 0)
    for m in ordered:
        if m.label:
            m = replace(m, position=("top center", "bottom center")[seen[m.lane] % 2])
            seen[m.lane] += 1
        placed.append(m)
    return placed


def _when(at: datetime, tz: str) -> str:
    here, utc = shown(at, tz)
    return f"<b>{here}</b> local · {utc}"


def _mark(t: Touch, tz: str) -> Mark | None:
    when = _when(t.at, tz)
    milestone = f" ({words(t.milestone)})" if t.milestone else ""
    if t.what == "customer":
        series, text = {
            "taken": ("customer did it", f"did {words(t.detail)}"),
            "failed": ("customer's attempt failed", f"tried and failed: {t.detail}"),
            "help": ("customer asked for help", f'asked for help: "{t.detail}"'),
        }.get(t.kind, ("customer did it", f"{words(t.kind)} {t.detail}"))
        return Mark(t.at, "customer", series, "", f"{when}<br>{html.escape(text)}")
    if t.what == "message":
        kind = MESSAGE_KINDS.get(t.kind, words(t.kind))
        if not t.ok:
            series = "message not sent"
        elif t.proactive is False:
            series = "reply to the customer"
        else:
            series = "message (journey's own timing)"
        lane = "sent to the customer" if t.lane == "customer" else "owner and staff"
        text = f'{kind}{milestone}: "{t.subject}" to {t.to}' + (f"<br>link: {t.cta}" if t.cta else "")
        hover = f"{when}<br>{html.escape(text).replace('&lt;br&gt;', '<br>')}"
        return Mark(t.at, lane, series, kind, hover + _start_of(t.body))
    if t.what == "owner":
        name = re.sub(r" \([^)]*\)$", "", t.detail) or t.detail
        verb = {"assigned": "owner", "replaced": "new owner", "reassigned": "reassigned to",
                "acknowledged": "acknowledged by"}.get(t.kind, words(t.kind))  # fmt: skip
        return Mark(
            t.at, "owner and staff", "owner", f"{verb}: {name}", f"{when}<br>{html.escape(f'{verb}: {t.detail}')}"
        )
    if t.what == "escalation":
        text = f"needs a human (level {t.level}, {t.kind}) → {t.to}{milestone}: {t.detail}"
        return Mark(t.at, "owner and staff", "needs a human (escalation)", f"human needed → {t.to}",
                    f"{when}<br>{html.escape(text)}")  # fmt: skip
    if t.what == "staff":
        fields = dict(part.split("=", 1) for part in t.detail.split() if "=" in part)
        who, decision = fields.get("by", "staff"), fields.get("decision", words(t.kind))
        return Mark(t.at, "owner and staff", "staff decided", f"{who}: {decision}",
                    f"{when}<br>{html.escape(f'{who} decided: {decision}')}")  # fmt: skip
    if t.what == "state":
        level = f", escalation level {t.level}" if t.level else ""
        text = f"now {STATES.get(t.kind, words(t.kind))}{milestone}{level}"
        return Mark(t.at, "system", "state changed", "", f"{when}<br>{html.escape(text)}")
    if t.what == "crm":
        return Mark(t.at, "system", "CRM", "", f"{when}<br>CRM: {html.escape(words(t.kind))}")
    if t.what == "activity":
        step = STEPS.get(t.kind, words(t.kind))
        if not t.ok:
            return Mark(
                t.at,
                "system",
                "engine step failed",
                "",
                f"{when}<br>{html.escape(step)} failed: {html.escape(t.detail)}",
            )
        return Mark(t.at, "system", "engine step", "", f"{when}<br>{html.escape(step)}")
    return None


def _refused(r: Row) -> Mark:
    lane = {"customer": "customer", "owner": "owner and staff"}.get(r.lane, "system")
    return Mark(r.at, lane, "refused input", "", f"<b>{r.local}</b> local · {r.utc}<br>{html.escape(r.text)}")


def _naive_local(moment: datetime, tz: str) -> datetime:
    return local(moment, tz).replace(tzinfo=None)


def figure(p: PersonaReport) -> go.Figure:
    fig = go.Figure()
    drawn = marks(p)
    for series, (symbol, colour, size) in STYLE.items():
        mine = [m for m in drawn if m.series == series]
        if not mine:
            continue
        labelled = any(m.label for m in mine)
        fig.add_trace(
            go.Scatter(
                x=[_naive_local(m.at, p.timezone) for m in mine],
                y=[m.lane for m in mine],
                mode="markers+text" if labelled else "markers",
                text=[m.label for m in mine] if labelled else None,
                textposition=[m.position for m in mine] if labelled else None,
                textfont={"size": 10, "color": colour},
                marker={"symbol": symbol, "size": size, "color": colour, "line": {"width": 2, "color": colour}},
                name=series,
                customdata=[m.hover for m in mine],
                hovertemplate="%{customdata}<extra></extra>",
            )
        )
    _shade_closed_hours(fig, p)
    _mark_first_action_and_outcome(fig, p)
    fig.update_layout(
        height=HEIGHT,
        margin={"l": 150, "r": 20, "t": 40, "b": 40},
        yaxis={"categoryorder": "array", "categoryarray": LANES, "title": None, "range": [-0.6, len(LANES) - 0.4]},
        xaxis={"title": f"customer local time ({p.timezone})"},
        legend={"orientation": "h", "y": -0.22, "font": {"size": 11}},
        template="plotly_white",
    )
    return fig


def _mark_first_action_and_outcome(fig: go.Figure, p: PersonaReport) -> None:
    """The first action (dotted) and the outcome (solid) as lines across every lane, named at the top."""
    o = p.outcome
    if p.started_at is not None and o.first_action_after_seconds is not None:
        at = _naive_local(p.started_at + timedelta(seconds=o.first_action_after_seconds), p.timezone)
        fig.add_vline(x=at, line={"dash": "dot", "color": "#2ca02c", "width": 2})
        fig.add_annotation(x=at, y=1.0, yref="paper", yanchor="bottom", showarrow=False, xanchor="right",
                           text=f"first action, after {spoken(o.first_action_after_seconds)}",
                           font={"color": "#2ca02c", "size": 11})  # fmt: skip
    if not p.touches:
        return
    end = _naive_local(p.touches[-1].at, p.timezone)
    if p.started_at is not None and o.activated_after_seconds is not None:
        end = _naive_local(p.started_at + timedelta(seconds=o.activated_after_seconds), p.timezone)
    colour = {"activated": "#2ca02c", "closed": "#52606d"}.get(o.state, "#d62728")
    fig.add_vline(x=end, line={"color": colour, "width": 2})
    fig.add_annotation(x=end, y=1.0, yref="paper", yanchor="bottom", xanchor="left", showarrow=False,
                       text=f"<b>outcome: {OUTCOMES.get(o.state, words(o.state))}</b>", font={"color": colour, "size": 12})  # fmt: skip


# Lines of a message's text shown on hover; the whole text is listed under the timeline.
_HOVER_LINES = 8


def _start_of(body: str) -> str:
    lines = body.strip().splitlines()
    if not lines:
        return ""
    shown = "<br>".join(html.escape(line) for line in lines[:_HOVER_LINES])
    return "<br><br>" + shown + ("<br>…" if len(lines) > _HOVER_LINES else "")


def _messages(p: PersonaReport) -> str:
    """Each message as its reader gets it: when, what, to whom, the subject and the text."""
    items = [
        f"<details class='msg'><summary>{html.escape(r.local)} · {html.escape(r.text.split(' ')[0])} · "
        f"<b>{html.escape(r.subject)}</b></summary><pre>{html.escape(r.body)}</pre></details>"
        for r in p.rows
        if r.what == "message" and (r.subject or r.body)
    ]
    return f"<h3>Messages ({len(items)})</h3>{''.join(items)}" if items else ""


def _shade_closed_hours(fig: go.Figure, p: PersonaReport) -> None:
    """Outside the playbook's business hours in the customer's zone: nights grey, whole days
    without business hours (weekends) blue and named."""
    if not p.touches:
        return
    hours = p.business_hours
    first = _naive_local(p.touches[0].at, p.timezone).replace(hour=0, minute=0, second=0, microsecond=0)
    last = _naive_local(p.touches[-1].at, p.timezone) + timedelta(days=1)
    day = first
    while day < last:
        if WEEKDAY_NAMES[day.weekday()] not in hours.days:
            fig.add_vrect(x0=day, x1=day + timedelta(days=1), fillcolor=WEEKEND, line_width=0, layer="below",
                          annotation_text=f"{day:%a}: no business hours", annotation_position="bottom left",
                          annotation_font={"size": 9, "color": "#3e6a9e"})  # fmt: skip
        else:
            opens, closes = datetime.combine(day.date(), hours.start), datetime.combine(day.date(), hours.end)
            fig.add_vrect(x0=day, x1=opens, fillcolor=NIGHT, line_width=0, layer="below")
            fig.add_vrect(x0=closes, x1=day + timedelta(days=1), fillcolor=NIGHT, line_width=0, layer="below")
        day += timedelta(days=1)


def page(report: LabReport, title: str = "Journey lab") -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222} table{border-collapse:collapse}"
        " td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left} .fail{color:#b00020;font-weight:600}"
        " .ok{color:#1b7f3b} h2{margin-top:40px} .note{color:#555}"
        " .msg pre{white-space:pre-wrap;background:#f7f7f7;padding:8px 12px;margin:4px 0 10px} .swatch{display:inline-block;width:14px;"
        "height:10px;border:1px solid #bbb;margin:0 4px 0 10px}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<p class='note'>Each journey ran on the real journey workflow in virtual time; nothing was sent. "
        "Times are the customer's local time; hover a mark for UTC, the subject and the link. "
        "Each persona's messages follow its timeline, as its customer reads them.<br>"
        f"{FIRST_ACTION}<br>Shading: <span class='swatch' style='background:{NIGHT}'></span>outside business hours "
        f"<span class='swatch' style='background:{WEEKEND}'></span>a day without business hours (weekend).</p>",
        _summary(report),
    ]
    for p in report.personas:
        variant = f" · variant {html.escape(p.variant)}" if p.variant else ""
        parts.append(f"<h2 id='{html.escape(_anchor(p))}'>{html.escape(p.label)}</h2>")
        parts.append(
            f"<p>{html.escape(p.description)}<br><span class='note'>deal {html.escape(p.deal_id)} · {html.escape(p.segment)} · "
            f"{p.amount:,.0f} · playbook {html.escape(p.playbook)}{variant} · closed {html.escape(p.closed_local)} ({html.escape(p.closed_utc)})</span></p>"
        )
        parts.append(bundle.figure_html(figure(p), f"timeline-{_anchor(p)}", HEIGHT))
        parts.append(_messages(p))
        parts.append(_verdicts(p))
    parts.append(bundle.scripts())
    parts.append("</body></html>")
    return "\n".join(parts)


def _summary(report: LabReport) -> str:
    head = "<tr><th>persona</th><th>outcome</th><th>first action after</th><th>activated after</th><th>messages</th><th>follow-ups</th><th>humans needed</th><th>expectations</th></tr>"
    rows = []
    for p in report.personas:
        o, failed = p.outcome, len(p.failed)
        held = f"<span class='{'fail' if failed else 'ok'}'>{len(p.verdicts) - failed}/{len(p.verdicts)} held</span>"
        rows.append(
            f"<tr><td><a href='#{html.escape(_anchor(p))}'>{html.escape(p.label)}</a></td>"
            f"<td>{html.escape(OUTCOMES.get(o.state, words(o.state)))}</td>"
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
