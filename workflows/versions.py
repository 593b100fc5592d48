"""The journey's versions, newest last: each id is a `workflow.patched()` marker that
journeys started on newer code carry in their history (see docs/versioning.md).

- v1: no marker.
- v2 `owner-acknowledgement`: the owner acknowledges before the kickoff.
- v2.1 `extend-deadline-during-hold`: a due time moved while a follow-up waits for
  business hours drops that follow-up.
- v3 `journey-v3`: continue-as-new from every long wait, acknowledgement beside the
  kickoff by default (`owner_acknowledgement.before_kickoff`), owner places from the
  roster (over capacity flagged, unstaffed escalated), places released at the end.
"""

OWNER_ACKNOWLEDGEMENT = "owner-acknowledgement"
EXTEND_DURING_HOLD = "extend-deadline-during-hold"
V3 = "journey-v3"

ALL = (OWNER_ACKNOWLEDGEMENT, EXTEND_DURING_HOLD, V3)
