"""Current details: the short Markdown staff read on the journey's page in the Web UI.

Ids, states, counts, the playbook's own words and why an input was refused (field names
and reasons, never the values) only. The reason for the state and the
timeline's details may quote the customer (a help request, a failure, a cancel reason): they
are in the `status` query, whose result is a payload the codec encrypts, and so readable only
through the codec server (docs/support.md)."""

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
        lines += [f"- {e.at:%Y-%m-%d %H:%M} UTC {e.event}{_refusal(e.event, e.detail)}" for e in recent]
    lines.append("**Why, and the customer's words:** the `status` query (through the codec server)")
    return "\n".join(lines)


def _refusal(event: str, detail: str) -> str:
    """A refused input is shown with why: the refusal names only the handler, fields and
    reasons (workflows/inputs.py never echoes the sender's values), so staff see it here."""
    return f": {detail}" if event == "ignored" and detail else ""


def staffing_note(state: JourneyState) -> str:
    """Why the owner line is not a normal one (docs/owners.md)."""
    if state.owner.unstaffed:
        return f" — **unstaffed**: {state.owner.unstaffed}"
    if state.owner.over_capacity:
        return " — **over capacity** (every eligible owner was full)"
    return ""


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
