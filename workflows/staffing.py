"""What a journey says and whom it tells when its owner assignment is not a normal one:
the owner took it over capacity, or nobody on the roster could (unstaffed, the manager owns
it). Pure: the journey calls these and runs the activities (docs/owners.md)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.deal import DealClosed
    from contracts.escalations import EscalationTaskRequest
    from contracts.owners import OwnerAssignment


def assigned_reason(assignment: OwnerAssignment) -> str:
    """The journey's reason (status, timeline, current details) right after assignment."""
    owner = assignment.owner
    if assignment.unstaffed:
        return f"unstaffed: {assignment.unstaffed}; {owner.name} (manager) owns the journey"
    if assignment.over_capacity:
        return f"owner {owner.name} assigned over capacity: every eligible owner is full"
    return f"owner {owner.name} assigned"


def sender_name(assignment: OwnerAssignment) -> str:
    """`owner_name` in customer messages: an unstaffed journey's kickoff comes from the team,
    in the manager's name ("I'm Dana Okafor (onboarding team), your onboarding owner")."""
    if assignment.unstaffed:
        return f"{assignment.owner.name} (onboarding team)"
    return assignment.owner.name


def needs_manager(assignment: OwnerAssignment) -> bool:
    return assignment.over_capacity or bool(assignment.unstaffed)


def manager_task(
    workflow_id: str, deal: DealClosed, milestone: str, assignment: OwnerAssignment, channel: str = "email"
) -> EscalationTaskRequest | None:
    """A task for the manager when the team is short of places, or nobody could take the
    journey; None otherwise, or when the roster names no manager. Keyed by the owner, so a
    retry or replay never tells twice, and a later reassignment that is short again does."""
    manager = assignment.manager
    if manager is None or not needs_manager(assignment):
        return None
    if assignment.unstaffed:
        reason = (
            f"Nobody can own this journey ({assignment.unstaffed}). You own it for now and the "
            "kickoff went out from the team; reassign it (reassign_owner) when someone can take it."
        )
    else:
        reason = (
            f"{assignment.owner.name} took this journey over capacity: every eligible owner for "
            f"segment {deal.segment!r} is full. Reassign it (reassign_owner) if someone has room, "
            "or add capacity in the roster."
        )
    return EscalationTaskRequest(
        key=f"{workflow_id}:staffing:{assignment.owner.id}",
        workflow_id=workflow_id,
        deal_id=deal.deal_id,
        account_name=deal.account.name,
        milestone=milestone,
        level=3,
        level_name="manager",
        assignee=manager,
        reason=reason,
        channel=channel,
    )
