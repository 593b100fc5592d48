"""What the sections' renderers share: a count as the link to its journeys, hours and
shares as text, a table, a plotly figure as its JSON (report/bundle.py draws it)."""

from __future__ import annotations

import html

import plotly.graph_objects as go

from report import bundle
from report.models import Cell

escape = html.escape


def count(cell: Cell) -> str:
    return f'<a href="{html.escape(cell.link)}" target="_blank">{cell.n}</a>'


def in_hours(hours: float | None) -> str:
    return "–" if hours is None else f"{hours:.1f} h"


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"


def table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def plot(figure: go.Figure, name: str) -> str:
    figure.update_layout(height=340, margin={"l": 50, "r": 20, "t": 40, "b": 40}, template="plotly_white")
    return bundle.figure_html(figure, f"plot-{name}", 340)
