"""Read the moments of the journeys that match the filters, streamed in journey order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Select, String, func, select, type_coerce

from records.database import Database
from records.tables import escalation_tasks, moments
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


async def levels(db: Database, filters: Filters) -> dict[tuple[str, int], int]:
    """The level each escalation reached, from the escalation tasks (moved up past level 1
    when its SLA ran out): (workflow id, escalation number) -> level."""
    t = escalation_tasks.c
    query = select(t.workflow_id, t.escalation, t.level).where(t.workflow_id.in_(matching_journeys(filters)))
    async with db.begin() as conn:
        return {(w, n): level for w, n, level in (await conn.execute(query)).all()}
