"""The journey's versions, newest last: each id is a `workflow.patched()` marker that
journeys started on newer code carry in their history (see docs/versioning.md), and the
one object a run asks which of them it takes (`Versions`).

Retired (their journeys no longer replay on this code; docs/versioning.md, "Retiring v1
and v2"):

- v1: no marker.
- v2 `owner-acknowledgement`: the owner acknowledges before the kickoff.
- v2.1 `extend-deadline-during-hold`: a due time moved while a follow-up waits for
  business hours drops that follow-up (every v3 journey does).

Current:

- v3 `journey-v3` (deprecated: every run takes it, and the marker it records is flagged
  deprecated): continue-as-new from every long wait, acknowledgement beside the kickoff by
  default (`owner_acknowledgement.before_kickoff`), owner places from the roster (over
  capacity flagged, unstaffed escalated), places released at the end.
- v3.1 `owner-wait-across-runs`: a run that takes over while the kickoff waits for the
  owner (`before_kickoff: true`) waits on instead of sending the kickoff unacknowledged.
- v3.2 `fewer-commands`: a step's moments are written by one `record_moments` local
  activity (not one `record_moment` each), and a transition upserts only the search
  attributes whose value changed (none: no upsert at all).
- v3.3 `playbook-unavailable`: a journey no playbook can run (the snapshot activity's
  `NoPlaybook` error) is escalated to a human with the reason, instead of failing; it
  looks again every day and on the human's `retry`, or closes on `close`.
- v3.4 `inbox-before-due`: once a due time has passed, the customer's input waiting in the
  inbox (their action, a failed attempt, a help request, an unsubscribe) is answered before
  the follow-up that fell due. Before, the follow-up came first, and when it had to wait
  for business hours or the daily cap the same input dropped it at once, again and again
  without waiting: the workflow task spun until the SDK's deadlock detector stopped it.
- v3.5 `due-while-held`: `NextActionDue` always names a due time while the journey runs,
  the same one `status.next_action` shows (workflows/awaiting.py): a message held for
  business hours or the daily cap upserts its send time (the journey waits on itself),
  a pause its review time, an escalation its SLA as soon as it opens or moves up. Before,
  such waits upserted nothing new: `NextActionDue` stayed empty (a kickoff waiting for
  Monday, a pause, a high-value review) or kept a missed due time.
- v3.6 `input-before-kickoff`: while the kickoff waits for the owner's acknowledgement
  (`before_kickoff: true`) the customer's failed attempt at the first milestone's action gets
  its help at once, a help request or an unsubscribe escalates at once (to the owner who has
  not acknowledged yet), as after the kickoff; the kickoff still goes out after the
  acknowledgement. The wait moved into the first milestone's loop (`_kickoff_waits_for_owner`).
  Before, that wait heard only the owner and the customer's action: the rest was answered
  after the kickoff, hours or days later.
- v3.7 `proactive-after-remembered`: the next milestone's direction is a reply (at once) only
  when the customer's action that completed the milestone just arrived; a milestone completed
  by an action remembered from earlier (done ahead of its milestone, then reached after a
  staff skip or the previous milestone; or done during a pause, then the resume) leaves a
  proactive direction: business hours and the daily cap. Before, it went out at once, at
  night too (`OnboardingWorkflow._replies_at_once`).
- v3.8 `assignee-and-cancel-request` (read at the start of each run, holds for the run): a
  cancellation request (the Web UI's Request Cancellation, `temporal workflow cancel`,
  `WorkflowHandle.cancel()`) closes the journey as the `cancel` signal does, with its
  cleanup, "cancelled by a cancellation request" (`OnboardingWorkflow.run`,
  workflows/cancellation.py); before, the workflow stopped as Canceled with none of it. And
  the `OnboardingAssignee` search attribute: the person the journey is with now
  (workflows/awaiting.py `assignee`). A run that started before keeps both old ways until it
  continues as new.
- v3.9 `moments-by-activity` (read at the start of each run, holds for the run): a step's
  moments are written by a regular `record_moments` activity, not a local one. Under load a
  local activity's result could reach the workflow one workflow task after the task whose
  completion recorded its marker; a signal arriving meanwhile was then handled before the
  moments live and after them in a replay, and the replay failed (nondeterminism). A
  regular activity's result is an event of its own, in the same place live and in replay.
- v3.10 `coalesce-identical-help`: a failed attempt at the same action for the same reason
  as the help sent in this milestone less than `help_coalesce_minutes` ago gets no second,
  identical help email; the timeline notes it, and the attempt still counts toward the
  failure escalation (`Steps.answer_failure`). Before, every failed attempt sent help.
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow

V3 = "journey-v3"
OWNER_WAIT_ACROSS_RUNS = "owner-wait-across-runs"
FEWER_COMMANDS = "fewer-commands"
PLAYBOOK_UNAVAILABLE = "playbook-unavailable"
INBOX_BEFORE_DUE = "inbox-before-due"
DUE_WHILE_HELD = "due-while-held"
INPUT_BEFORE_KICKOFF = "input-before-kickoff"
PROACTIVE_AFTER_REMEMBERED = "proactive-after-remembered"
ASSIGNEE_AND_CANCEL_REQUEST = "assignee-and-cancel-request"
MOMENTS_BY_ACTIVITY = "moments-by-activity"
COALESCE_IDENTICAL_HELP = "coalesce-identical-help"

ALL = (
    V3,
    OWNER_WAIT_ACROSS_RUNS,
    FEWER_COMMANDS,
    PLAYBOOK_UNAVAILABLE,
    INBOX_BEFORE_DUE,
    DUE_WHILE_HELD,
    INPUT_BEFORE_KICKOFF,
    PROACTIVE_AFTER_REMEMBERED,
    ASSIGNEE_AND_CANCEL_REQUEST,
    MOMENTS_BY_ACTIVITY,
    COALESCE_IDENTICAL_HELP,
)


class Versions:
    """Which versions this run takes. Read once at the start of each run (`read`): v3 is
    deprecated (every run takes it); v3.2 (`fewer_commands`), v3.8 (`closes_on_cancel_request`,
    `upserts_assignee`) and v3.9 (`moments_by_activity`) hold for the whole run.
    The others are asked where their path first differs, and only there, so a journey that
    never reaches that point carries no marker: a marker written earlier than the history
    has it would not replay (`workflow.patched` remembers each answer for the run).

    `patched` is the workflow's `_patched` seam: a test stands in for an older worker by
    answering it differently (tests/harness/versions.py)."""

    def __init__(
        self,
        patched: Callable[[str], bool],
        *,
        fewer_commands: bool = False,
        assignee_and_cancel_request: bool = False,
        moments_by_activity: bool = False,
    ) -> None:
        self._patched = patched
        self.fewer_commands = fewer_commands
        # v3.8: both hold for the whole run (one marker, at its start)
        self.closes_on_cancel_request = self.upserts_assignee = assignee_and_cancel_request
        self.moments_by_activity = moments_by_activity  # v3.9: for the whole run as well

    @classmethod
    def read(cls, patched: Callable[[str], bool]) -> Versions:
        workflow.deprecate_patch(V3)  # v1/v2 retired: every run is v3
        fewer_commands = patched(FEWER_COMMANDS)
        assignee_and_cancel_request = patched(ASSIGNEE_AND_CANCEL_REQUEST)
        return cls(
            patched,
            fewer_commands=fewer_commands,
            assignee_and_cancel_request=assignee_and_cancel_request,
            moments_by_activity=patched(MOMENTS_BY_ACTIVITY),
        )

    def owner_wait_across_runs(self) -> bool:
        """v3.1: asked by a continued run whose kickoff waits for the owner."""
        return self._patched(OWNER_WAIT_ACROSS_RUNS)

    def playbook_unavailable(self) -> bool:
        """v3.3: asked when the snapshot says no playbook can run the journey."""
        return self._patched(PLAYBOOK_UNAVAILABLE)

    def inbox_before_due(self) -> bool:
        """v3.4: asked where the customer's input waits at an overdue follow-up."""
        return self._patched(INBOX_BEFORE_DUE)

    def due_while_held(self) -> bool:
        """v3.5: asked where the `NextActionDue` to upsert differs from what v3.4 upserted."""
        return self._patched(DUE_WHILE_HELD)

    def input_before_kickoff(self) -> bool:
        """v3.6: asked where the kickoff begins to wait for the owner (a new journey after its
        owner is assigned, a continued run that takes over that wait)."""
        return self._patched(INPUT_BEFORE_KICKOFF)

    def proactive_after_remembered(self) -> bool:
        """v3.7: asked where a milestone completed by an action remembered from earlier (not one
        that just arrived) leads to the next direction."""
        return self._patched(PROACTIVE_AFTER_REMEMBERED)

    def coalesces_identical_help(self) -> bool:
        """v3.10: asked where a failed attempt repeats the help sent within the milestone's
        `help_coalesce_minutes` (same action, same reason)."""
        return self._patched(COALESCE_IDENTICAL_HELP)
