"""The records' moments (docs/records.md) read as what each customer did per milestone.

The moments say how each milestone ended and after which touchpoint (`milestone_completed`
with `direction`, `clarify`, `simplify`, `redirect` or `human`) and why an escalation opened
(`help`, `failures`): enough for the signature. They hold less than a history:

- failed attempts show only when they opened an escalation (or when a milestone's moment
  counts `failures` in its detail, which the journey does not write today);

- when a follow-up went out: its place in the playbook's schedule (the window, then each
  follow-up's wait), without business hours; the customer's delay after it is clamped
  inside that follow-up's wait;
- a failed attempt is placed at the escalation it opened (else midway between the
  direction and the milestone's end); a help request at the escalation it opened (one that
  joined an open escalation, or a playbook that does not escalate help, leaves no moment);
- the owner acknowledges after an hour unless a moment says an acknowledgement timed out;
- the deal keeps its segment, product, amount and currency; the records hold no time zone,
  so the persona closes on the lab's default day and zone.

The playbook a journey ran is read from the playbook files by its name (`--playbooks`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from contracts.playbook import Milestone, Playbook
from lab.errors import LabError
from lab.learn.observed import CustomerEvent, DealShape, Observed, StaffAnswer
from lab.learn.signature import Mark, When

MINUTE, HOUR = 60.0, 3600.0
ASSUMED_ACKNOWLEDGEMENT = HOUR
ENDINGS = ("milestone_completed", "milestone_skipped", "milestone_closed")


def _detail(row: dict[str, Any]) -> dict[str, Any]:
    raw = row.get("detail")
    value = json.loads(raw) if isinstance(raw, str) else raw  # SQLite hands back the JSON text
    return value if isinstance(value, dict) else {}


def _number(key: str) -> int:
    last = key.rsplit(":", 1)[-1]
    return int(last) if last.isdigit() else 1


def observe_moments(workflow_id: str, rows: Iterable[dict[str, Any]], playbooks: dict[str, Playbook]) -> Observed:
    """One journey's moments, in time order, read as its customer's behaviour."""
    rows = list(rows)
    started = next((r for r in rows if r["kind"] == "started"), None)
    if started is None:
        raise ValueError("no `started` moment: the journey never began")
    book = playbooks.get(started["playbook"] or "")
    if book is None:
        raise ValueError(f"playbook {started['playbook']!r} is not among the playbook files (--playbooks)")
    start: datetime = started["at"]
    told: dict[str, datetime] = {}
    ended: dict[str, dict[str, Any]] = {}
    escalations: dict[int, dict[str, Any]] = {}
    resolved: dict[int, dict[str, Any]] = {}
    timed_out = False
    for r in rows:
        kind, milestone = r["kind"], r["milestone"]
        if kind == "told" and milestone:
            told.setdefault(milestone, r["at"])
        elif kind in ENDINGS and milestone:
            ended.setdefault(milestone, r)
        elif kind == "escalated":
            escalations.setdefault(_number(r["key"]), r)
        elif kind == "resolved":
            resolved.setdefault(_number(r["key"]), r)
        elif kind == "owner_assigned" and _detail(r).get("reason") == "acknowledgement_timeout":
            timed_out = True

    marks: list[Mark] = []
    events: list[CustomerEvent] = []
    for m in book.milestones:
        end = ended.get(m.key)
        detail = _detail(end) if end else {}
        mine = [e for e in escalations.values() if e["milestone"] == m.key]
        triggers = {_detail(e).get("trigger") for e in mine}
        when: When
        if end is None:
            when = "never"
        elif end["kind"] == "milestone_skipped":
            when = "skipped"
        elif end["kind"] == "milestone_closed":
            when = "cancelled" if detail.get("by") == "cancel" else "never"
        else:
            touchpoint = end["touchpoint"]
            when = touchpoint if touchpoint in ("clarify", "simplify", "redirect", "human") else "direction"
        failures = int(detail.get("failures") or 0)
        marks.append(
            Mark(milestone=m.key, when=when, failed=failures > 0 or "failures" in triggers, help="help" in triggers)
        )
        events += _events(m, book, told.get(m.key), end, when, mine, failures, start)
        if when not in ("direction", "clarify", "simplify", "redirect", "human", "skipped"):
            break
    events.sort(key=lambda e: e.at_seconds)

    staff: list[StaffAnswer | None] = []
    for number in sorted(escalations):
        decision = _detail(resolved[number]).get("decision") if number in resolved else None
        if decision in ("retry", "skip", "reassign", "close"):
            after = (resolved[number]["at"] - escalations[number]["at"]).total_seconds()
            staff.append(StaffAnswer(decision=decision, after_seconds=after))
        else:
            staff.append(None)
    opening = _detail(started)
    last = max(r["at"] for r in rows)
    return Observed(
        workflow_id=workflow_id,
        playbook=book.name,
        marks=marks,
        events=events,
        owner_acknowledges_after=None if timed_out else ASSUMED_ACKNOWLEDGEMENT,
        staff=staff,
        deal=DealShape(
            segment=started["segment"] or None,
            product=started["product"] or None,
            amount=float(opening["amount"]) if isinstance(opening.get("amount"), int | float) else None,
            currency=opening.get("currency") or None,
        ),
        span_seconds=(last - start).total_seconds(),
    )


def _events(
    m: Milestone,
    book: Playbook,
    told: datetime | None,
    end: dict[str, Any] | None,
    when: When,
    escalations: list[dict[str, Any]],
    failures: int,
    start: datetime,
) -> list[CustomerEvent]:
    """The customer's steps in one milestone, placed as well as the moments allow."""
    anchor_at = told or start
    direction = f"{m.key}.direction" if told else None

    def event(do: str, at: datetime, action: str | None = None, anchor: str | None = None, after: float = 0) -> None:
        out.append(
            CustomerEvent(
                do=do,
                action=action,
                milestone=m.key,
                at_seconds=(at - start).total_seconds(),
                anchor=anchor if anchor else direction,
                after_anchor_seconds=after if anchor else (at - anchor_at).total_seconds(),
            )
        )

    out: list[CustomerEvent] = []
    action = m.action.events[0]
    by_failures = next((e for e in escalations if _detail(e).get("trigger") == "failures"), None)
    if by_failures is not None:
        n = book.escalation.after_failed_attempts or 1
        for i in range(n):
            event("failed", by_failures["at"] - (n - 1 - i) * timedelta(seconds=MINUTE), action)
    elif failures:
        until = end["at"] if end else anchor_at + timedelta(hours=1)
        for _ in range(failures):
            event("failed", anchor_at + (until - anchor_at) / 2, action)
    for e in escalations:
        if _detail(e).get("trigger") == "help":
            event("help", e["at"])
    if end is None:
        return out
    if when == "cancelled":
        event("cancel", end["at"])
    elif when == "human" and escalations:
        opened = max((e for e in escalations if e["at"] <= end["at"]), key=lambda e: e["at"], default=escalations[0])
        event("taken", end["at"], action, f"{m.key}.escalation", (end["at"] - opened["at"]).total_seconds())
    elif when in ("clarify", "simplify", "redirect") and told is not None:
        offset, wait, taken = m.window_hours.nominal_hours * HOUR, None, action
        for f in m.follow_ups:
            if f.kind.value == when:
                wait = f.wait_hours.nominal_hours * HOUR
                if f.alternate is not None:
                    taken = f.alternate.events[0]
                break
            offset += f.wait_hours.nominal_hours * HOUR
        after = (end["at"] - told).total_seconds() - offset
        if wait is not None:
            after = min(after, wait - HOUR)
        event("taken", end["at"], taken, f"{m.key}.{when}", max(MINUTE, after))
    elif when in ("direction", "human"):
        event("taken", end["at"], action)
    return out


async def observe_records(url: str, playbooks_dir: Path | None, problems: list[str]) -> list[Observed]:
    """Every journey in the records, read from its moments; one that cannot be read is named
    in `problems` and left out."""
    from playbooks import loader
    from records.config import DatabaseUrlError, describe
    from records.database import Database
    from report.journeys import COLUMNS
    from report.models import Filters
    from report.query import moment_rows

    playbooks = {s.playbook.name: s.playbook for s in loader.load_all(playbooks_dir)}
    try:
        db = Database.from_settings(url, Path(".data"))
    except DatabaseUrlError as err:
        raise LabError(f"--records: {err}") from None
    if db.url.get_backend_name() == "sqlite" and not Path(db.url.database or "").is_file():
        # reading must not leave an empty database behind a mistyped path
        raise LabError(f"--records: no SQLite file at {db.url.database}")
    observed: list[Observed] = []

    def fold(workflow_id: str, rows: list[dict[str, Any]]) -> None:
        try:
            observed.append(observe_moments(workflow_id, rows, playbooks))
        except (ValueError, KeyError) as err:
            problems.append(f"{workflow_id}: {err}")

    # The rows come grouped by journey: one journey's moments are held at a time.
    current: str | None = None
    rows: list[dict[str, Any]] = []
    try:
        async for row in moment_rows(db, Filters()):
            if row[0] != current:
                if current is not None:
                    fold(current, rows)
                current, rows = row[0], []
            rows.append(dict(zip(COLUMNS, row, strict=True)))
    except (OSError, SQLAlchemyError) as err:
        raise LabError(f"--records: the records database {describe(db.url)} is not usable: {err}") from None
    finally:
        await db.dispose()
    if current is not None:
        fold(current, rows)
    return observed
