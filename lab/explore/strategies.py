"""What the explorer generates (hypothesis strategies): the deal, the customer, the owner and
staff, the playbook. Every draw is a persona (and playbook) file's content, validated by the
same schema `onboarding simulate` reads, and times lean to the edges where defects live: a
window's end ± 1 minute, business-hour edges, weekends, DST-change weeks, the moments a
message waits for business hours or the daily cap, while paused, during an escalation."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from lab.explore.scenario import Scenario, base_playbook
from lab.personas import Persona

# Whole-hour, half-hour and 45-minute offsets; zones with and without DST, both hemispheres.
ZONES = (
    "UTC",
    "America/Chicago",
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tokyo",
    "Australia/Adelaide",
    "Australia/Sydney",
    "Pacific/Chatham",
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TOUCHPOINTS = ("direction", "clarify", "simplify", "redirect", "help")
STAFF = ("pause", "resume", "extend", "reassign", "retry", "skip", "close")
OWNERS = ("maya", "leo", "priya", "nobody-by-that-name")
MINUTE = 60


def minutes(seconds: int) -> str:
    """A persona duration: `26h`, `3d`, `71h 59m` is written `4319m`."""
    m = max(0, seconds) // MINUTE
    if m % (24 * 60) == 0 and m:
        return f"{m // (24 * 60)}d"
    if m % 60 == 0 and m:
        return f"{m // 60}h"
    return f"{m}m"


@functools.lru_cache(maxsize=64)
def dst_changes(zone: str, today: date) -> tuple[date, ...]:
    """The days this zone's UTC offset changes in the coming year (none for most of Asia)."""
    tz = ZoneInfo(zone)
    found = []
    noon = datetime.combine(today + timedelta(days=10), datetime.min.time(), tzinfo=UTC).replace(hour=12)
    before = noon.astimezone(tz).utcoffset()
    for day in range(1, 380):
        moment = noon + timedelta(days=day)
        offset = moment.astimezone(tz).utcoffset()
        if offset != before:
            found.append(moment.astimezone(tz).date())
        before = offset
    return tuple(found)


# ------------------------------------------------------------------ the playbook


@st.composite
def playbooks(draw: st.DrawFn, base: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The base playbook, or a variation of it: business hours (24/7 included), the daily cap,
    window lengths, the acknowledgement before or beside the kickoff, escalation, variants."""
    if draw(st.booleans()):
        return None, None
    data: dict[str, Any] = {**base, "expectations": {}}
    hours = draw(
        st.sampled_from(
            [
                {"start": "09:00", "end": "17:00", "days": list(WEEKDAYS[:5])},
                {"start": "00:00", "end": "23:59:59", "days": list(WEEKDAYS)},
                {"start": "08:30", "end": "18:45", "days": list(WEEKDAYS[:6])},
                {"start": "10:00", "end": "11:00", "days": ["mon", "wed", "fri"]},
                {"start": "09:00", "end": "17:00", "days": ["sun", "mon", "tue", "wed", "thu"]},
            ]
        )
    )
    data["business_hours"] = {**hours, "proactive_per_day": draw(st.integers(1, 2))}
    data["owner_acknowledgement"] = {
        "hours": draw(st.sampled_from([0, 1, 4, 8])),
        "before_kickoff": draw(st.booleans()),
    }
    data["escalation"] = {
        **base.get("escalation", {}),
        "after_failed_attempts": draw(st.integers(1, 3)),
        "sla_hours": draw(st.sampled_from([1, 4, 24])),
        "levels": draw(st.sampled_from([["owner", "backup", "manager"], ["owner"], ["owner", "manager"]])),
    }
    scale = draw(st.sampled_from([0.25, 0.5, 1.0]))
    milestones = []
    for m in base["milestones"]:
        window = max(2.0, m.get("window_hours", 72) * scale)
        follow_ups = [{**f, "wait_hours": min(window - 1, max(1.0, f["wait_hours"] * scale))} for f in m["follow_ups"]]
        milestones.append({**m, "window_hours": window, "follow_ups": follow_ups})
    data["milestones"] = milestones
    variant = None
    if draw(st.integers(0, 3)) == 0:
        data["variants"] = [
            {"name": "control"},
            {"name": "fast", "overrides": {"follow_up_wait_hours": 1}},
        ]
        variant = draw(st.sampled_from(["control", "fast"]))
    return data, variant


# ------------------------------------------------------------------ the deal


@st.composite
def deals(draw: st.DrawFn, threshold: float | None) -> dict[str, Any]:
    zone = draw(st.sampled_from(ZONES))
    at = f"{draw(st.sampled_from([0, 8, 9, 12, 16, 17, 23, draw(st.integers(0, 23))])):02d}:" + (
        f"{draw(st.sampled_from([0, 1, 29, 30, 45, 59, draw(st.integers(0, 59))])):02d}"
    )
    changes = dst_changes(zone, datetime.now(UTC).date())
    if changes and draw(st.integers(0, 3)) == 0:
        day = draw(st.sampled_from(changes)) + timedelta(days=draw(st.integers(-3, 2)))
        closes: dict[str, Any] = {"date": day.isoformat(), "at": at}
    else:
        closes = {"day": draw(st.sampled_from(WEEKDAYS)), "at": at}
    high = threshold if threshold is not None else 250000
    amount = draw(st.sampled_from([0, 1200, 24000, high, high + 1, high * 2, draw(st.integers(0, int(high * 3)))]))
    return {
        "segment": draw(st.sampled_from(["smb", "mid-market", "enterprise"])),
        "product": draw(st.sampled_from(["analytics", "Analytics"])),
        "amount": float(amount),
        "currency": draw(st.sampled_from(["USD", "EUR", "JPY", "INR"])),
        "account": {"timezone": zone},
        "closes": closes,
    }


# ------------------------------------------------------------------ moments, on the edges


@st.composite
def moments(draw: st.DrawFn, book: dict[str, Any], horizon_h: int) -> dict[str, Any]:
    """`at` (and maybe `after`) for a step: on the close's clock near a window's end, a
    follow-up's due time, a day boundary; or right after a touchpoint goes out. Timed steps
    stay an hour clear of the horizon: a step delivered as the walk ends is cut short."""
    drawn = draw(_moments(book, horizon_h))
    if "after" not in drawn and _seconds(drawn["at"]) > (horizon_h - 1) * 3600:
        drawn["at"] = minutes((horizon_h - 1) * 3600)
    return drawn


def _seconds(text: str) -> int:
    unit = {"m": 60, "h": 3600, "d": 86400}[text[-1]]
    return int(text[:-1]) * unit


@st.composite
def _moments(draw: st.DrawFn, book: dict[str, Any], horizon_h: int) -> dict[str, Any]:
    kind = draw(st.integers(0, 3))
    if kind == 0:  # just after a touchpoint: while the next waits for business hours or the cap
        touchpoint = draw(st.sampled_from(TOUCHPOINTS))
        milestone = draw(st.sampled_from([None, *(m["key"] for m in book["milestones"])]))
        after = f"{milestone}.{touchpoint}" if milestone else touchpoint
        # just past the next follow-up's due time: if that falls outside business hours (or
        # over the cap) the follow-up is overdue and held, and this step meets it waiting
        waits = [int(f["wait_hours"] * 3600) for m in book["milestones"] for f in m["follow_ups"]]
        past_due = [w + extra for w in waits for extra in (MINUTE, 3600)]
        return {"after": after, "at": minutes(draw(st.sampled_from([0, 60, 3600, 8 * 3600, 16 * 3600, *past_due])))}
    if kind == 1:  # a window's end, or a follow-up's due time, ± 1 minute
        first = book["milestones"][0]
        edges = [first.get("window_hours", 72)] + [f["wait_hours"] for f in first["follow_ups"]]
        edge = draw(st.sampled_from(edges)) * 3600 * draw(st.sampled_from([1, 2]))
        return {"at": minutes(int(edge) + draw(st.sampled_from([-MINUTE, 0, MINUTE])))}
    if kind == 2:  # a day later, on the hour
        return {"at": minutes(draw(st.integers(0, horizon_h // 24)) * 86400 + draw(st.integers(0, 23)) * 3600)}
    return {"at": minutes(draw(st.integers(0, horizon_h * 60)) * MINUTE)}


# ------------------------------------------------------------------ the customer, owner, staff


@st.composite
def customer_steps(draw: st.DrawFn, book: dict[str, Any], horizon_h: int) -> list[dict[str, Any]]:
    events = [e for m in book["milestones"] for e in m["action"]["events"]]
    alternates = [
        e for m in book["milestones"] for f in m["follow_ups"] for e in (f.get("alternate") or {}).get("events", [])
    ]
    actions = st.sampled_from([*events, *alternates, "unknown_event"])
    steps: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 6))):
        do = draw(st.sampled_from(["taken", "taken", "failed", "failed", "help", "unsubscribe", "cancel"]))
        step: dict[str, Any] = {**draw(moments(book, horizon_h)), "do": do}
        if do in ("taken", "failed"):
            step["action"] = draw(actions)
        if do == "failed":
            step["reason"] = "invalid header in row 1"
        if do == "help":
            step["message"] = "stuck"
        twins = [s for s in steps if s.get("event_id")]
        if twins and draw(st.integers(0, 3)) == 0:  # the same event delivered twice, later
            twin = {k: v for k, v in draw(st.sampled_from(twins)).items() if k not in ("at", "after")}
            step = twin | {k: v for k, v in step.items() if k in ("at", "after")}
        if do in ("taken", "failed", "help") and "event_id" not in step and draw(st.integers(0, 2)) == 0:
            step["event_id"] = f"e{len(steps)}"
        steps.append(step)
    return steps


@st.composite
def staff_actions(draw: st.DrawFn, book: dict[str, Any], horizon_h: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(0, 3))):
        do = draw(st.sampled_from(STAFF))
        action: dict[str, Any] = {**draw(moments(book, horizon_h)), "do": do}
        if do == "reassign":
            action["owner"] = draw(st.sampled_from(OWNERS))
        if do == "extend":
            action["until"] = minutes(draw(st.integers(1, 10 * 24)) * 3600)
        out.append(action)
    return out


@st.composite
def scenarios(draw: st.DrawFn, base: dict[str, Any] | None = None) -> Scenario:
    base = base or base_playbook()
    book, variant = draw(playbooks(base))
    walked = book or base
    horizon_h = draw(st.sampled_from([3 * 24, 7 * 24, 10 * 24]))
    threshold = walked.get("escalation", {}).get("kickoff_amount_above")
    if isinstance(threshold, dict):  # {amount, currency, rates}: the edge is in its own currency
        threshold = threshold.get("amount")
    persona: dict[str, Any] = {
        "name": "explore",
        "deal": draw(deals(threshold)),
        "customer": draw(customer_steps(walked, horizon_h)) or "never",
        "horizon": f"{horizon_h // 24}d",
    }
    if draw(st.booleans()):
        persona["owner"] = {"acknowledges_after": minutes(draw(st.sampled_from([0, 60, 3 * 3600, 5 * 3600])))}
    staff = draw(st.sampled_from(["never", "one", "each"]))
    decision = st.fixed_dictionaries(
        {
            "resolve": st.sampled_from(["retry", "skip", "close"]),
            "after": st.sampled_from([0, 60, 3600, 5 * 3600, 30 * 3600]).map(minutes),
        }
    )
    if staff == "one":
        persona["staff"] = draw(decision)
    elif staff == "each":
        persona["staff"] = draw(st.lists(decision, min_size=1, max_size=3))
    actions = draw(staff_actions(walked, horizon_h))
    if actions:
        persona["staff_actions"] = actions
    if draw(st.integers(0, 3)) == 0:
        persona["continue_as_new_after"] = draw(st.integers(1, 6))
    return Scenario(persona=Persona.model_validate(persona), playbook=book, variant=variant)


def batches(size: int, base: dict[str, Any] | None = None) -> st.SearchStrategy[list[Scenario]]:
    """A batch of journeys walked side by side, always `size` of them (a lab walks 12 in the
    time it walks 2); hypothesis shrinks a failing batch's journeys, the failing one to its
    simplest form and the rest to the simplest journey there is."""
    return st.lists(scenarios(base), min_size=size, max_size=size)
