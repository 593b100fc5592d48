"""The report as CSV: one row per figure (section, group, figure, value, link), for a
spreadsheet or another tool. An interval is two rows, `<figure>_low` and `<figure>_high`,
each a plain number (empty when not known)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, TextIO

from report.models import OVERVIEW, Cell, Report


def rows(report: Report) -> Iterator[tuple[str, str, str, Any, str]]:
    for name in OVERVIEW:
        cell: Cell = getattr(report, name)
        yield "overview", "", name, cell.n, cell.link
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
                if isinstance(value, Cell):
                    yield section, group, field, value.n, value.link
                elif isinstance(value, tuple):  # an interval: its two ends, each a number
                    yield section, group, f"{field}_low", value[0], ""
                    yield section, group, f"{field}_high", value[1], ""
                elif value is None and "_ci" in field:  # an interval not known: both ends empty
                    yield section, group, f"{field}_low", None, ""
                    yield section, group, f"{field}_high", None, ""
                else:
                    yield section, group, field, value, ""
    h = report.humans
    for field, value in h:
        if isinstance(value, Cell):
            yield "humans", "", field, value.n, value.link
        elif not isinstance(value, list):
            yield "humans", "", field, value, ""


def write(report: Report, out: TextIO) -> None:
    writer = csv.writer(out)
    writer.writerow(["section", "group", "figure", "value", "link"])
    for row in rows(report):
        writer.writerow(row)
