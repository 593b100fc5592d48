"""Current details: the short Markdown staff read on the journey's page in the Web UI."""

from __future__ import annotations

from playbooks.schema import Milestone
from workflows import business_hours
from workflows.models import JourneyState, Status


def current_details(state: JourneyState, milestone: Milestone | None, status: Status) -> str:
    tz = state.deal.account.timezone
    lines = [
        f"**{state.deal.account.name}** · deal {state.deal.deal_id} · {state.deal.segment}",
        f"**State:** {state.state.value} — {state.reason}",
        f"**Owner:** {state.owner.owner.name} ({state.owner.owner.id}){staffing_note(state)}",
    ]
    if milestone is not None and status.next_action is not None:
        lines.append(f"**Milestone:** {milestone.title} (`{milestone.key}`)")
        due = status.next_action.due_at
        when = business_hours.describe(due, tz) if due else "not sent yet"
        lines.append(f"**Next action:** {status.next_action.title} — due {when}")
    if state.escalation_level:
        lines.append(f"**Escalation level:** {state.escalation_level}")
    if status.eligible_touchpoints:
        lines.append(f"**Eligible touchpoints:** {', '.join(status.eligible_touchpoints)}")
    recent = state.inbox.timeline[-5:]
    if recent:
        lines.append("**Recent:**")
        lines += [f"- {e.at:%Y-%m-%d %H:%M} UTC {e.event}{': ' + e.detail if e.detail else ''}" for e in recent]
    return "\n".join(lines)


def staffing_note(state: JourneyState) -> str:
    """Why the owner line is not a normal one (docs/owners.md)."""
    if state.owner.unstaffed:
        return f" — **unstaffed**: {state.owner.unstaffed}"
    if state.owner.over_capacity:
        return " — **over capacity** (every eligible owner was full)"
    return ""
