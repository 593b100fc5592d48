"""Living links to the support guide's time-based lists: the Web UI's Workflows list with the
query filled in for the moment the link is opened (docs/support.md, "Saved lists").

The visibility query language has no "now" or "today", so a saved view with a typed timestamp
is right only when it is saved: "Stuck past due" saved at 09:00 misses everything that fell
due by 14:00. These queries are the guide's, word for word, with its example timestamps
replaced by the current time and the staff member's day and week (tests/starters/
test_support_links.py checks them against the guide). The HTTP service serves them
(starters/routes/support.py) and `make run` prints them (devstack), hence their place here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from contracts.journey import WORKFLOW_TYPE

_JOURNEYS = f"WorkflowType = '{WORKFLOW_TYPE}'"
_RUNNING_WAITING = "ExecutionStatus = 'Running' AND OnboardingState IN ('awaiting_action', 'clarifying')"


@dataclass(frozen=True)
class Moment:
    """When the link is opened, and in which zone the staff member's day and week begin."""

    now: datetime
    zone: ZoneInfo

    @property
    def now_utc(self) -> str:
        return self.now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _midnight(self, days_from_today: int) -> datetime:
        day = self.now.astimezone(self.zone).date() + timedelta(days=days_from_today)
        return datetime(day.year, day.month, day.day, tzinfo=self.zone)

    @property
    def today(self) -> str:
        return self._midnight(0).isoformat()

    @property
    def tomorrow(self) -> str:
        return self._midnight(1).isoformat()

    @property
    def monday(self) -> str:
        return self._midnight(-self.now.astimezone(self.zone).weekday()).isoformat()


@dataclass(frozen=True)
class LivingList:
    """One of the guide's time-based lists: `name` is its `list-filter` marker in the guide,
    `path` its link under /support."""

    name: str
    path: str
    title: str
    what: str
    query: Callable[[Moment], str]


LISTS = (
    LivingList(
        "stuck-past-due",
        "stuck",
        "Stuck past their due time",
        "not done by its due time, not yet with a person",
        lambda m: f"{_JOURNEYS} AND {_RUNNING_WAITING} AND NextActionDue < '{m.now_utc}'",
    ),
    LivingList(
        "due-today",
        "due-today",
        "Due today",
        "the one next action falls due today (overdue ones included)",
        lambda m: (
            f"{_JOURNEYS} AND {_RUNNING_WAITING} AND NextActionDue >= '{m.today}' AND NextActionDue < '{m.tomorrow}'"
        ),
    ),
    LivingList(
        "activated-this-week",
        "activated-this-week",
        "Activated this week",
        "every milestone done since Monday 00:00",
        lambda m: f"{_JOURNEYS} AND OnboardingState = 'activated' AND CloseTime >= '{m.monday}'",
    ),
    LivingList(
        "closed-this-week",
        "closed-this-week",
        "Closed this week",
        "deal lost, or an escalation closed, since Monday 00:00",
        lambda m: f"{_JOURNEYS} AND OnboardingState = 'closed' AND CloseTime >= '{m.monday}'",
    ),
)
BY_PATH = {living.path: living for living in LISTS}


def workflows_list_url(ui_url: str, namespace: str, query: str) -> str:
    """The Web UI's Workflows list of `namespace`, filtered by `query`."""
    return f"{ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows?query={quote(query, safe='')}"


def journey_url(ui_url: str, namespace: str, workflow_id: str) -> str:
    """One journey's page in the Web UI."""
    return f"{ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"
