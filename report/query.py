"""Read the moments of the journeys that match the filters, streamed in journey order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Select, String, func, select, type_coerce

from records.database import Database
from records.tables import escalation_task_events, escalation_tasks, moments
from report.journeys import COLUMNS
from report.models import Filters


def matching_journeys(filters: Filters) -> Select[Any]:
    """Workflow ids of the journeys started inside the filters (segment, product and
    playbook are the journey's, from its `started` moment)."""
    m = moments.c
    query = select(m.workflow_id).where(m.kind == "started")
    if filters.since:
        query = query.where(m.at >= filters.since)
    if filters.until:
        query = query.where(m.at < filters.until)
    for column, value in ((m.segment, filters.segment), (m.product, filters.product), (m.playbook, filters.playbook)):
        if value is not None:
            query = query.where(column == value)
    if filters.owner is not None:
        held = select(m.workflow_id).where(m.owner == filters.owner)
        query = query.where(m.workflow_id.in_(held))
    return query


async def moment_rows(db: Database, filters: Filters) -> AsyncIterator[tuple[Any, ...]]:
    m = moments.c
    # `detail` comes as its JSON text: only a few kinds need it parsed (report.journeys).
    columns = [type_coerce(m.detail, String) if c == "detail" else getattr(m, c) for c in COLUMNS]
    query = (
        select(*columns)
        .where(m.workflow_id.in_(matching_journeys(filters)))
        .order_by(m.workflow_id, m.at, m.id)
        .execution_options(yield_per=5000)
    )
    async with db.begin() as conn:
        result = await conn.stream(query)
        # A partition at a time: one switch into the driver per 5,000 rows, not per row.
        async for partition in result.partitions(5000):
            for row in partition:
                yield tuple(row)


async def count(db: Database, filters: Filters) -> int:
    query = select(func.count()).select_from(moments).where(moments.c.workflow_id.in_(matching_journeys(filters)))
    async with db.begin() as conn:
        return int((await conn.execute(query)).scalar_one())


async def assignees(db: Database, filters: Filters) -> dict[tuple[str, int], dict[int, str]]:
    """Who held each level of each escalation, from the escalation tasks' history (the task
    is created at level 1 and moved up a level each time the SLA runs out):
    (workflow id, escalation number) -> {level: assignee}."""
    t, e = escalation_tasks.c, escalation_task_events.c
    query = (
        select(t.workflow_id, t.escalation, e.level, e.assignee)
        .select_from(escalation_tasks.join(escalation_task_events, e.task_id == t.id))
        .where(e.event.in_(("created", "moved_up")), t.workflow_id.in_(matching_journeys(filters)))
    )
    out: dict[tuple[str, int], dict[int, str]] = {}
    async with db.begin() as conn:
        for w, n, level, assignee in (await conn.execute(query)).all():
            out.setdefault((w, n), {})[level] = assignee or ""
    return out
