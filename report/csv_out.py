"""The report as CSV: one row per figure (section, group, figure, value, low, high, link),
for a spreadsheet or another tool. A figure with a 95% interval has its ends in `low` and
`high`, each a plain number (empty when not known, or for a figure without one); its
`value` is empty."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, TextIO

from report.models import OVERVIEW, Cell, Report

HEADER = ("section", "group", "figure", "value", "low", "high", "link")
Row = tuple[str, str, str, Any, Any, Any, str]


def rows(report: Report) -> Iterator[Row]:
    for name in OVERVIEW:
        cell: Cell = getattr(report, name)
        yield "overview", "", name, cell.n, None, None, cell.link
    sections: list[tuple[str, list[Any], tuple[str, ...]]] = [
        ("time_to_first_action", report.time_to_first_action, ("segment",)),
        ("time_to_first_value", report.time_to_first_value, ("segment",)),
        ("survival", report.survival, ("moment", "by", "group")),
        ("funnel", report.funnel, ("week", "milestone")),
        ("touchpoints", report.touchpoints, ("milestone", "touchpoint")),
        ("waiting", report.waiting, ("stage", "state", "age")),
        ("escalation_triggers", report.humans.triggers, ("trigger",)),
        ("owners", report.humans.owners, ("owner",)),
        ("variants", report.variants, ("playbook", "variant")),
        ("variant_comparisons", report.variant_comparisons, ("playbook", "a", "b")),
    ]
    for section, items, keys in sections:
        for item in items:
            group = "/".join(str(getattr(item, k)) for k in keys)
            for field, value in item:
                if field in keys or isinstance(value, list):  # a curve's points: in the JSON
                    continue
                yield _row(section, group, field, value)
    for field, value in report.humans:
        if not isinstance(value, list):
            yield _row("humans", "", field, value)


def _row(section: str, group: str, field: str, value: Any) -> Row:
    if isinstance(value, Cell):
        return section, group, field, value.n, None, None, value.link
    if isinstance(value, tuple):  # an interval: its two ends, each a number (None: not known yet)
        return section, group, field, None, value[0], value[1], ""
    return section, group, field, value, None, None, ""


def write(report: Report, out: TextIO) -> None:
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for row in rows(report):
        writer.writerow(row)
