"""The journey's inbox: what the product, the customer and the CRM told it, bounded.

Pure functions over `Inbox` (no I/O, no clock: the caller passes `now`), so a flood of
signals costs a few bytes of state at most and the rules are unit-tested without a server:

- event ids are remembered by age, not by count of other traffic: a redelivery within
  `SEEN_FOR` (7 days) is recognised however many other events came in between, up to
  `SEEN_AT_MOST` ids (10,000, about 200 KB); past that the oldest are forgotten first, down
  to `SEEN_KEPT` (9,000) at once: the last 9,000 distinct ids of the week are always known;
- failed attempts are counted per action with the latest reason, help requests are counted
  with the latest message: a thousand of them are one thing for the journey to act on;
- every text kept is truncated, every list and map has a cap.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from contracts.journey import FailureTally, Inbox
from contracts.signals import ActionFailed, ActionTaken, HelpRequested
from contracts.status import TimelineEntry

SEEN_FOR = timedelta(days=7)
SEEN_AT_MOST = 10_000
SEEN_KEPT = 9_000  # what is left after the oldest are forgotten at the cap
TIMELINE_LENGTH = 50
DETAIL_LENGTH = 200
REASON_LENGTH = 200
HELP_LENGTH = 500
ACTIONS_AT_MOST = 100  # distinct product event names remembered (a playbook has a handful)


def _minute(moment: datetime) -> int:
    return int(moment.timestamp() // 60)


def _digest(event_id: str) -> str:
    # 40 bits: a collision among 10,000 remembered ids is about 1 in 20,000
    return hashlib.sha256(event_id.encode()).hexdigest()[:10]


def first_time(inbox: Inbox, event_id: str, now: datetime) -> bool:
    """Remember `event_id`; False if it was seen within the window (a redelivery)."""
    key = _digest(event_id)
    horizon = _minute(now - SEEN_FOR)
    if inbox.seen.get(key, -1) >= horizon:
        return False
    inbox.seen.pop(key, None)  # seen again after the window: it moves to the newest end
    inbox.seen[key] = _minute(now)  # so the map stays in the order ids were (last) seen
    if len(inbox.seen) > SEEN_AT_MOST:
        _forget_oldest(inbox, horizon)
    return True


def _forget_oldest(inbox: Inbox, horizon: int) -> None:
    """Expired ids go; if still too many, the oldest go down to `SEEN_KEPT` in one sweep, so
    a flood of new ids pays for it once per thousand ids, not at every one (a sort at every
    signal past the cap stalled a workflow task past the deadlock detector)."""
    fresh = [(k, m) for k, m in inbox.seen.items() if m >= horizon]
    inbox.seen = dict(fresh[-SEEN_KEPT:] if len(fresh) > SEEN_AT_MOST else fresh)


def record_taken(inbox: Inbox, event: ActionTaken, now: datetime) -> bool:
    if event.action not in inbox.taken and len(inbox.taken) >= ACTIONS_AT_MOST:
        return False
    inbox.taken.setdefault(event.action, now)
    return True


def record_failure(inbox: Inbox, event: ActionFailed) -> bool:
    tally = inbox.failures.get(event.action)
    if tally is None:
        if len(inbox.failures) >= ACTIONS_AT_MOST:
            return False
        tally = inbox.failures[event.action] = FailureTally()
    tally.count += 1
    tally.reason = event.reason[:REASON_LENGTH]
    return True


def record_help(inbox: Inbox, event: HelpRequested) -> None:
    inbox.help.count += 1
    inbox.help.message = event.message[:HELP_LENGTH]


def take_failures(inbox: Inbox, actions: list[str]) -> tuple[int, str, str] | None:
    """The failures pending for these actions, as (count, action, latest reason), and
    forget them; failures for other steps are dropped with them (they were not this step's)."""
    mine = [(a, t) for a, t in inbox.failures.items() if a in actions and t.count]
    inbox.failures.clear()
    if not mine:
        return None
    action, tally = mine[-1]
    return sum(t.count for _, t in mine), action, tally.reason


def has_failures(inbox: Inbox) -> bool:
    return any(t.count for t in inbox.failures.values())


def take_help(inbox: Inbox) -> tuple[int, str]:
    count, message = inbox.help.count, inbox.help.message
    inbox.help.count, inbox.help.message = 0, ""
    return count, message


def settle(inbox: Inbox) -> str:
    """Forget the help requests and failed attempts that came in while a person had the
    escalation (their decision answers them: a flood is one escalation, not one more per
    resolution); says what was forgotten, or "" when nothing was."""
    helped, _ = take_help(inbox)
    failed = sum(t.count for t in inbox.failures.values())
    inbox.failures.clear()
    parts = [f"{helped} help request(s)" if helped else "", f"{failed} failed attempt(s)" if failed else ""]
    return ", ".join(p for p in parts if p)


def note(inbox: Inbox, at: datetime, event: str, detail: str = "") -> None:
    inbox.timeline.append(TimelineEntry(at=at, event=event[:80], detail=detail[:DETAIL_LENGTH]))
    del inbox.timeline[:-TIMELINE_LENGTH]


def upgrade(inbox: Inbox, now: datetime) -> Inbox:
    """Fold the unbounded shapes of older journeys into the bounded ones."""
    for event_id in inbox.seen_event_ids:
        inbox.seen.setdefault(_digest(event_id), _minute(now))
    for failure in inbox.pending_failures:
        record_failure(inbox, failure)
    for request in inbox.pending_help:
        record_help(inbox, request)
    inbox.seen_event_ids, inbox.pending_failures, inbox.pending_help = [], [], []
    return inbox
