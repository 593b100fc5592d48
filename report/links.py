"""Every number in the report links to the Temporal Web UI list of the journeys behind it:
a visibility query on the workflow ids (the report knows them exactly)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from urllib.parse import quote

# A visibility query naming more journeys than this gets long for a URL; past it the link
# lists the group by what defines it (segment, stage, ...) instead of by id.
MAX_IDS = 60


class Links:
    def __init__(self, ui_url: str, namespace: str) -> None:
        self.base = f"{ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows"

    def query(self, query: str) -> str:
        return f"{self.base}?query={quote(query, safe='')}"

    def journeys(self, workflow_ids: Collection[str], group: str) -> tuple[str, bool]:
        """(link, exact): the list of exactly these journeys, or, when they are too many to
        name in a URL, the list of their group (`group`, a visibility query by search
        attributes, which may hold a few more)."""
        if len(workflow_ids) > MAX_IDS:
            return self.query(group), False
        if not workflow_ids:
            return self.query("WorkflowId = ''"), True
        return self.query("WorkflowId IN (" + ", ".join(_quoted(i) for i in sorted(workflow_ids)) + ")"), True


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"


def equals(attribute: str, value: str) -> str:
    return f"{attribute} = {_quoted(value)}"


def started(since: datetime | None, until: datetime | None) -> str | None:
    clauses = []
    if since:
        clauses.append(f"StartTime >= '{since.isoformat()}'")
    if until:
        clauses.append(f"StartTime < '{until.isoformat()}'")
    return " AND ".join(clauses) or None


def all_of(*clauses: str | None) -> str:
    return " AND ".join(c for c in clauses if c)
