"""What the records' moments tell `onboarding personas --from-history --records`: moments
written with the records' own store to a SQLite file, read back into marks, steps, staff
answers and owners (the walks themselves: test_lab_personas_learned.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from contracts.moments import MomentKind, MomentRequest, Touchpoint, moment_key
from lab.learn.from_moments import observe_records
from records.database import Database
from records.moments import MomentStore

T0 = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def moment(journey: str, kind: MomentKind, hours: float, *parts: object, **fields: Any) -> MomentRequest:
    return MomentRequest(
        key=moment_key(f"onboarding-{journey}", kind, *parts),
        kind=kind,
        at=at(hours),
        workflow_id=f"onboarding-{journey}",
        deal_id=journey,
        segment="smb",
        product="analytics",
        playbook="default",
        **fields,
    )


async def test_moments_read_as_behaviour(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    db = Database.from_settings(url, tmp_path)
    await db.ready()
    k = MomentKind
    await MomentStore(db).record_all(
        [
            # helped: asks for help on day one, a human retries 5h later, acts; the deal is lost later
            moment("helped", k.started, 0, detail={"amount": 12000, "currency": "EUR"}),
            moment("helped", k.told, 0, "first_action", 1, milestone="first_action", touchpoint=Touchpoint.direction),
            moment("helped", k.escalated, 20, "first_action", 1, milestone="first_action", detail={"trigger": "help"}),
            moment("helped", k.resolved, 25, "first_action", 1, milestone="first_action", detail={"decision": "retry"}),
            moment(
                "helped",
                k.milestone_completed,
                30,
                "first_action",
                milestone="first_action",
                touchpoint=Touchpoint.direction,
            ),
            moment("helped", k.told, 30, "first_value", 2, milestone="first_value", touchpoint=Touchpoint.direction),
            moment("helped", k.milestone_closed, 40, "first_value", milestone="first_value", detail={"by": "cancel"}),
            # failing: two failures escalate, staff skip the milestone, then nothing
            moment("failing", k.started, 0),
            moment("failing", k.owner_assigned, 4, 2, detail={"reason": "acknowledgement_timeout"}),
            moment("failing", k.told, 0, "first_action", 1, milestone="first_action", touchpoint=Touchpoint.direction),
            moment(
                "failing", k.escalated, 10, "first_action", 1, milestone="first_action", detail={"trigger": "failures"}
            ),
            moment(
                "failing",
                k.milestone_skipped,
                12,
                "first_action",
                milestone="first_action",
                touchpoint=Touchpoint.human,
            ),
            moment("failing", k.told, 12, "first_value", 2, milestone="first_value", touchpoint=Touchpoint.direction),
            # acts a day after the simplify went out (72h window, clarify's 24h wait)
            moment("simplified", k.started, 0),
            moment(
                "simplified", k.told, 0, "first_action", 1, milestone="first_action", touchpoint=Touchpoint.direction
            ),
            moment(
                "simplified",
                k.milestone_completed,
                100,
                "first_action",
                milestone="first_action",
                touchpoint=Touchpoint.simplify,
            ),
            # a journey whose start is not in the records: not read
            moment("headless", k.told, 0, "first_action", 1, milestone="first_action", touchpoint=Touchpoint.direction),
        ]
    )
    await db.dispose()

    problems: list[str] = []
    observed = {o.workflow_id.removeprefix("onboarding-"): o for o in await observe_records(url, None, problems)}
    assert problems == [] and "headless" not in observed  # a journey is read from its start

    helped = observed["helped"]
    assert str(helped.signature) == "first_action: direction +help · first_value: cancelled"
    assert [(e.do, e.anchor, e.after_anchor_seconds / 3600) for e in helped.events] == [
        ("help", "first_action.direction", 20),
        ("taken", "first_action.direction", 30),
        ("cancel", "first_value.direction", 10),
    ]
    assert [(a.decision, a.after_seconds / 3600) for a in helped.staff if a] == [("retry", 5)]
    assert (helped.deal.amount, helped.deal.currency, helped.deal.timezone) == (12000, "EUR", None)
    assert helped.owner_acknowledges_after == 3600  # no timeout on record: assumed

    failing = observed["failing"]
    assert str(failing.signature) == "first_action: skipped +failed · first_value: never"
    assert [e.do for e in failing.events] == ["failed", "failed"]  # the playbook escalates at two
    assert failing.staff == [None] and failing.owner_acknowledges_after is None

    simplified = observed["simplified"]
    assert str(simplified.signature) == "first_action: simplify · first_value: never"
    [taken] = simplified.events
    # the simplify is due 96h after the direction: the customer acted about 4h after it
    assert (taken.action, taken.anchor, taken.after_anchor_seconds / 3600) == (
        "sample_dataset_loaded",
        "first_action.simplify",
        4,
    )
