"""The journey's decisions as pure functions over its state: what completes a milestone,
which follow-up is next, when to escalate and to whom, what is eligible next. No I/O, no
clock: unit-tested without a server, and safe to call from workflow code."""

from __future__ import annotations

from datetime import datetime, timedelta

from contracts.deal import DealClosed
from contracts.durations import Duration
from contracts.journey import Inbox, JourneyState, MilestoneProgress, SentHelp
from contracts.owners import OwnerAssignment, Person
from contracts.playbook import Action, AmountThreshold, EscalationPolicy, FollowUp, Milestone
from contracts.staff import EXTEND_AT_MOST_DAYS
from contracts.status import OnboardingState
from workflows import business_hours


def completing_event(milestone: Milestone, inbox: Inbox) -> str | None:
    """The product event, already seen, that completes this milestone (its action or any
    alternate), or None. Early events for later milestones wait in the inbox until then."""
    return next((e for e in milestone.events() if e in inbox.taken), None)


def acted_since(milestone: Milestone, inbox: Inbox, since: datetime) -> bool:
    """Whether an event completing this milestone arrived at or after `since`: the customer's
    action that just moved the journey, not one remembered from before."""
    return any(inbox.taken[e] >= since for e in milestone.events() if e in inbox.taken)


def next_follow_up(milestone: Milestone, progress: MilestoneProgress) -> FollowUp | None:
    if progress.follow_ups_sent < len(milestone.follow_ups):
        return milestone.follow_ups[progress.follow_ups_sent]
    return None


def repeats_help(milestone: Milestone, last: SentHelp | None, action: str, reason: str, now: datetime) -> bool:
    """Whether help for this failure would repeat the help last sent in the milestone: the
    same action, the same reason, within `help_coalesce_minutes` (0: never)."""
    window = timedelta(minutes=milestone.help_coalesce_minutes)
    return (
        last is not None
        and window > timedelta(0)
        and (last.action, last.reason) == (action, reason)
        and now - last.at < window
    )


def current_action(milestone: Milestone, progress: MilestoneProgress | None) -> Action:
    """The ONE action the customer was last pointed to: the latest alternate offered, else
    the milestone's own action."""
    sent = milestone.follow_ups[: progress.follow_ups_sent] if progress else []
    for follow_up in reversed(sent):
        if follow_up.alternate is not None:
            return follow_up.alternate
    return milestone.action


HIGH_VALUE = "high-value deal: a human reviews the kickoff"


def high_value_review(policy: EscalationPolicy, deal: DealClosed) -> str | None:
    """Why a human reviews this deal's kickoff, or None: its amount is above the playbook's
    `kickoff_amount_above`, converted to the threshold's currency when it names one; a deal
    in a currency the playbook has no rate for cannot be compared, and gets the review."""
    limit = policy.kickoff_amount_above
    if limit is None:
        return None
    if not isinstance(limit, AmountThreshold):  # a plain number: the deal's own currency
        return HIGH_VALUE if deal.amount > limit else None
    amount = limit.in_own_currency(deal.amount, deal.currency)
    if amount is None:
        return (
            f"high-value check: the playbook has no rate from {deal.currency.upper()} to {limit.currency}, "
            "so a human reviews the kickoff"
        )
    return HIGH_VALUE if amount > limit.amount else None


def is_high_risk(policy: EscalationPolicy, deal: DealClosed) -> bool:
    return high_value_review(policy, deal) is not None


def proactive_send_time(s: JourneyState, now: datetime) -> datetime:
    """The earliest moment a proactive message may go out: the customer's business hours
    and the playbook's daily cap (`now` when both allow it)."""
    hours = s.playbook.playbook.business_hours
    full = s.proactive_day if s.proactive_count >= hours.proactive_per_day else None
    closed = s.playbook.customer_closed_days(s.deal.reader_locale)
    return business_hours.next_send_time(now, s.deal.account.timezone, hours, full, closed)


def customer_due(s: JourneyState, start: datetime, duration: Duration) -> datetime:
    """When a customer-facing window or follow-up wait that begins at `start` ends: calendar
    hours, or business time in the customer's calendar (their zone, the playbook's business
    hours, its closed days)."""
    hours, closed = s.playbook.playbook.business_hours, s.playbook.customer_closed_days(s.deal.reader_locale)
    return business_hours.after(start, duration, s.deal.account.timezone, hours, closed)


def sla_due(s: JourneyState, level: int, since: datetime) -> datetime:
    """When an escalation open at `level` since `since` moves up: its SLA in calendar hours,
    or in business time in the calendar of the person it waits on at that level (their zone,
    the playbook's business hours and closed days)."""
    policy = s.playbook.playbook.escalation
    _, person = escalation_assignee(policy, level, s.owner)
    hours = s.playbook.playbook.business_hours
    return business_hours.after(since, policy.sla_hours, person.timezone, hours, s.playbook.closed_days)


def failures_exhausted(policy: EscalationPolicy, failures: int) -> bool:
    return failures >= policy.after_failed_attempts


def escalation_assignee(policy: EscalationPolicy, level: int, owners: OwnerAssignment) -> tuple[str, Person]:
    """Who gets the human task at this escalation level (1-based). A level with nobody
    behind it (no backup, no manager) falls back to the nearest level below that has one."""
    people = {"owner": owners.owner, "backup": owners.backup, "manager": owners.manager}
    index = min(level, len(policy.levels)) - 1
    for name in reversed(policy.levels[: index + 1]):
        if people[name] is not None:
            return name, people[name]  # type: ignore[return-value]
    return "owner", owners.owner


def has_next_level(policy: EscalationPolicy, level: int) -> bool:
    return level < len(policy.levels)


def eligible_touchpoints(
    state: OnboardingState,
    milestone: Milestone | None,
    progress: MilestoneProgress | None,
    policy: EscalationPolicy,
    paused: bool = False,
) -> list[str]:
    """What may reach the customer or a human next, in the order it would happen."""
    if state in (OnboardingState.activated, OnboardingState.closed) or milestone is None:
        return []
    if paused:
        return ["resume"]
    if state is OnboardingState.escalated:
        return ["resolve_escalation"]
    points: list[str] = []
    if progress is None or progress.direction_sent_at is None:
        points.append("direction")
    sent = progress.follow_ups_sent if progress else 0
    points += [f.kind.value for f in milestone.follow_ups[sent:]]
    points.append("help (on a failed attempt)")
    if policy.after_follow_ups or policy.on_help_request:
        points.append("escalation")
    return points


def message_key(workflow_id: str, milestone_key: str, step: str, sequence: int) -> str:
    """Idempotency key of one message: stable across retries, replays, continue-as-new and
    resets (never the run id)."""
    return f"{workflow_id}:{milestone_key}:{step}:{sequence}"


def extension_problem(state: JourneyState, until: datetime, now: datetime) -> str | None:
    """Why staff cannot move the due time to `until` now, or None when they can."""
    if state.state not in (OnboardingState.awaiting_action, OnboardingState.clarifying):
        return f"extend_deadline: the journey is {state.state.value}; only a waiting journey has a due time"
    if state.pause is not None:
        return "extend_deadline: the journey is paused; resume it first"
    due = state.progress.due_at if state.progress else None
    if due is None:
        return "extend_deadline: no due time yet (the direction has not gone out, or its due time is being set: try again in a few seconds)"
    if until <= due:
        return f"until: must be later than the current due time {due.isoformat()}"
    # A due time already past while a follow-up waits for business hours: a new one between
    # it and now would be spent before it took effect (and leave the move pending).
    if until <= now:
        return f"until: must be in the future (it is {now.isoformat()} now)"
    if until > now + timedelta(days=EXTEND_AT_MOST_DAYS):
        return f"until: at most {EXTEND_AT_MOST_DAYS} days from now"
    return None
