"""Every number in the report links to the Temporal Web UI list of the journeys behind it:
a visibility query on the workflow ids (the report knows them exactly)."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import quote

# A visibility query naming more journeys than this gets long for a URL; past it the link
# lists the group by what defines it (segment, stage, ...) instead of by id.
MAX_IDS = 60


class Links:
    def __init__(self, ui_url: str, namespace: str) -> None:
        self.base = f"{ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows"

    def query(self, query: str) -> str:
        return f"{self.base}?query={quote(query, safe='')}"

    def journeys(self, workflow_ids: Collection[str], fallback: str | None = None) -> str:
        """The list of exactly these journeys; `fallback` (a visibility query describing the
        group) when they are too many to name."""
        ids = sorted(workflow_ids)
        if not ids:
            return self.query("WorkflowId = ''")
        if len(ids) > MAX_IDS and fallback:
            return self.query(fallback)
        return self.query("WorkflowId IN (" + ", ".join(_quoted(i) for i in ids[:MAX_IDS * 20]) + ")")


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"


def equals(attribute: str, value: str) -> str:
    return f"{attribute} = {_quoted(value)}"


def all_of(*clauses: str | None) -> str:
    return " AND ".join(c for c in clauses if c)
