"""The lab's text output: each persona's timeline and outcome, then one table for all."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TextIO

from lab.calendar import spoken
from lab.simulate import LabReport, PersonaReport, Row


def money(amount: float) -> str:
    return f"{amount:,.0f}"


def write_persona(p: PersonaReport, out: TextIO) -> None:
    print(f"== {p.label}: {p.description}", file=out)
    variant = f" · variant {p.variant}" if p.variant else ""
    print(
        f"   deal {p.deal_id} · {p.segment} · {money(p.amount)} · {p.timezone} · playbook {p.playbook}{variant}",
        file=out,
    )
    print(f"   closed {p.closed_local} ({p.closed_utc})", file=out)
    print(f"   {'customer local time':<17}  {'UTC':<20}  {'lane':<8}  what", file=out)
    for row in p.rows:
        mark = "" if row.ok else "  (!)"
        print(f"   {row.local:<17}  {row.utc:<20}  {row.lane:<8}  {row.text}{mark}", file=out)
        write_message_text(row, out)
    o = p.outcome
    steps = (
        ", ".join(f"{m.key} {m.how} after {spoken(m.after_seconds)}" for m in o.milestones) or "no milestone finished"
    )
    print(f"   outcome: {o.state}" + (f" ({o.reason})" if o.reason and o.state != "activated" else ""), file=out)
    print(f"            first action after {spoken(o.first_action_after_seconds)}; {steps}", file=out)
    print(
        f"            {o.messages} customer messages ({o.proactive} proactive, {o.follow_ups} follow-ups); "
        f"{o.escalations} escalations (humans needed)",
        file=out,
    )
    for warning in p.warnings:
        print(f"   warning: {warning}", file=out)
    for v in p.verdicts:
        print(f"   {'ok  ' if v.held else 'FAIL'} {v.expectation}: {v.happened}  [{v.source}]", file=out)
    print("", file=out)


# Where a message's text starts: under the `what` column, so the timeline stays readable.
_TEXT_INDENT = " " * 54 + "| "


def write_message_text(row: Row, out: TextIO) -> None:
    """The message as its reader gets it, under its line: the subject, then every line of
    the text, each marked `|` (what a CS lead reads before the playbook ships)."""
    if row.what != "message" or not (row.subject or row.body):
        return
    print(f"{_TEXT_INDENT}Subject: {row.subject}", file=out)
    for line in row.body.rstrip("\n").splitlines():
        print(f"{_TEXT_INDENT}{line}".rstrip(), file=out)


def write_summary(report: LabReport, out: TextIO) -> None:
    header = ("persona", "state", "first action", "activated", "messages", "follow-ups", "humans", "expectations")
    rows = [
        (
            p.label,
            p.outcome.state,
            spoken(p.outcome.first_action_after_seconds),
            spoken(p.outcome.activated_after_seconds),
            str(p.outcome.messages),
            str(p.outcome.follow_ups),
            str(p.outcome.escalations),
            f"{sum(v.held for v in p.verdicts)}/{len(p.verdicts)} held",
        )
        for p in report.personas
    ]
    _table(header, rows, out)
    if len({p.variant for p in report.personas if p.variant}) > 1:
        print("", file=out)
        write_variants(report, out)


def write_variants(report: LabReport, out: TextIO) -> None:
    """The arms side by side over the same personas: what a CS lead compares before an
    experiment ships (the report compares them on real journeys, with intervals)."""
    header = ("variant", "personas", "first action (median)", "activated", "messages", "follow-ups", "humans",
              "expectations")  # fmt: skip
    rows = []
    for variant in dict.fromkeys(p.variant for p in report.personas if p.variant):
        walks = [p for p in report.personas if p.variant == variant]
        firsts = [p.outcome.first_action_after_seconds for p in walks if p.outcome.first_action_after_seconds]
        rows.append(
            (
                variant,
                str(len(walks)),
                f"{spoken(statistics.median(firsts)) if firsts else '-'} ({len(firsts)} acted)",
                f"{sum(p.outcome.activated_after_seconds is not None for p in walks)}/{len(walks)}",
                str(sum(p.outcome.messages for p in walks)),
                str(sum(p.outcome.follow_ups for p in walks)),
                str(sum(p.outcome.escalations for p in walks)),
                f"{sum(v.held for p in walks for v in p.verdicts)}/{sum(len(p.verdicts) for p in walks)} held",
            )
        )
    _table(header, rows, out)


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip(), file=out)


def write_failures(report: LabReport, out: TextIO) -> None:
    for v in report.failed:
        print(f"persona {v.persona}: expected {v.expectation} [{v.source}], but: {v.happened}", file=out)
