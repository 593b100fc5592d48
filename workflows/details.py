"""Current details: the short Markdown staff read on the journey's page in the Web UI.

Ids, states, counts, the playbook's own words, and the last five entries of the timeline with
what they say: who did what, why an input was refused or ignored, the customer's own words (a
failure's text, a help request). Current details are a query result, a payload the codec
encrypts like `status`: only staff signed in at the codec server read them (docs/support.md)."""

from __future__ import annotations

from contracts.deal import DealClosed
from contracts.journey import JourneyState, PlaybookHold
from contracts.playbook import Milestone
from contracts.status import Status
from workflows import business_hours


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def current_details(state: JourneyState, milestone: Milestone | None, status: Status) -> str:
    tz = state.deal.account.timezone
    lines = [
        f"**Deal** `{state.deal.deal_id}` · customer `{state.deal.account.id}` · {state.deal.segment}",
        f"**State:** {state.state.value}" + (" (paused)" if state.pause is not None else ""),
        f"**Owner:** `{state.owner.owner.id}`{staffing_note(state)}",
    ]
    if state.playbook.variant:
        lines.append(f"**Playbook:** {state.playbook.playbook.name} · variant `{state.playbook.variant}`")
    if state.playbook.notice:
        lines.append(f"**Playbook:** {state.playbook.playbook.name} — {state.playbook.notice}")
    if milestone is not None and status.next_action is not None:
        lines.append(f"**Milestone:** {milestone.title} (`{milestone.key}`)")
        due = status.next_action.due_at
        when = business_hours.describe(due, tz) if due else "not sent yet"
        lines.append(f"**Next action:** {status.next_action.title} — due {when}")
        lines.append(f"**Waiting on:** {status.waiting_on}")
    if state.escalation_level:
        lines.append(f"**Escalation level:** {state.escalation_level}")
    if status.eligible_touchpoints:
        lines.append(f"**Eligible touchpoints:** {', '.join(status.eligible_touchpoints)}")
    progress = state.progress
    counts = [_plural(state.messages, "message") + " sent"]
    if progress is not None:
        counts.append(_plural(progress.follow_ups_sent, "follow-up") + " in this milestone")
        counts.append(_plural(progress.failures, "failed attempt"))
    counts.append(_plural(state.escalations, "escalation"))
    lines.append(f"**Counts:** {' · '.join(counts)}")
    recent = state.inbox.timeline[-5:]
    if recent:
        lines.append("**Recent:**")
        listened = {event for m in state.playbook.playbook.milestones for event in m.events()}
        lines += [f"- {e.at:%Y-%m-%d %H:%M} UTC {e.event}{_said(e.event, e.detail, listened)}" for e in recent]
    lines.append("**Everything so far:** the `status` query's timeline")
    return "\n".join(lines)


RECENT_DETAIL = 160  # characters of an entry's detail shown: one line each


def _said(event: str, detail: str, listened: set[str]) -> str:
    """What an entry says beyond its name: who did it, why an input was refused or ignored,
    the customer's own words. Nothing is silent: an action no milestone listens for (a
    misspelled event name) is marked as such."""
    text = " ".join(detail.split())
    if len(text) > RECENT_DETAIL:
        text = text[: RECENT_DETAIL - 1] + "…"
    if event == "action taken" and detail not in listened:
        return f": {text} (no milestone listens for this event: misspelled?)"
    return f": {text}" if text else ""


def staffing_note(state: JourneyState) -> str:
    """Why the owner line is not a normal one (docs/owners.md)."""
    if state.owner.unstaffed:
        return f" — **unstaffed**: {state.owner.unstaffed}"
    if state.owner.over_capacity:
        return " — **over capacity** (every eligible owner was full)"
    return ""


def starting_details(deal_id: str, status: Status) -> str:
    """A journey started by an early product event, before the deal's details: it waits on
    the CRM, with no due time (the same answer as `status`, workflows/awaiting.py)."""
    return "\n".join(
        [
            f"**Deal** `{deal_id}` — starting",
            f"**State:** {status.state.value}",
            "**Next action:** the CRM sends the deal's details (`deal_closed` or `deal_in_crm`) — no due time",
            f"**Waiting on:** {status.waiting_on}",
        ]
    )


def hold_details(deal: DealClosed, hold: PlaybookHold, status: Status) -> str:
    """A journey no playbook can run yet. Its reason names playbook files, fields and the
    deal's segment and product (the CRM's labels), never the customer's words: shown here."""
    lines = [
        f"**Deal** `{deal.deal_id}` · customer `{deal.account.id}` · {deal.segment} · product {deal.product or '(none)'}",
        f"**State:** {hold.state.value} — **no playbook can run this journey**",
        f"**Why:** {hold.problem}",
        f"**Owner:** `{hold.owner.owner.id}`",
    ]
    if status.next_action is not None and status.next_action.due_at is not None:
        when = business_hours.describe(status.next_action.due_at, deal.account.timezone)
        lines.append(f"**Next action:** {status.next_action.title} — the journey looks again {when}")
        lines.append(f"**Waiting on:** {status.waiting_on}")
    if status.escalation_level:
        lines.append(f"**Escalation level:** {status.escalation_level}")
    if status.eligible_touchpoints:
        lines.append(f"**Eligible touchpoints:** {', '.join(status.eligible_touchpoints)}")
    lines.append(f"**Counts:** {_plural(hold.escalations, 'escalation')}")
    lines.append("**Playbooks:** `onboarding playbooks` lists every file (ok or broken, with the reason)")
    return "\n".join(lines)
