"""The journey's versions, newest last: each id is a `workflow.patched()` marker that
journeys started on newer code carry in their history (see docs/versioning.md).

- v1: no marker.
- v2 `owner-acknowledgement`: the owner acknowledges before the kickoff.
- v2.1 `extend-deadline-during-hold`: a due time moved while a follow-up waits for
  business hours drops that follow-up.
- v3 `journey-v3`: continue-as-new from every long wait, acknowledgement beside the
  kickoff by default (`owner_acknowledgement.before_kickoff`), owner places from the
  roster (over capacity flagged, unstaffed escalated), places released at the end.
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
"""

OWNER_ACKNOWLEDGEMENT = "owner-acknowledgement"
EXTEND_DURING_HOLD = "extend-deadline-during-hold"
V3 = "journey-v3"
OWNER_WAIT_ACROSS_RUNS = "owner-wait-across-runs"
FEWER_COMMANDS = "fewer-commands"
PLAYBOOK_UNAVAILABLE = "playbook-unavailable"
INBOX_BEFORE_DUE = "inbox-before-due"

ALL = (
    OWNER_ACKNOWLEDGEMENT,
    EXTEND_DURING_HOLD,
    V3,
    OWNER_WAIT_ACROSS_RUNS,
    FEWER_COMMANDS,
    PLAYBOOK_UNAVAILABLE,
    INBOX_BEFORE_DUE,
)
