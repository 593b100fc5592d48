"""Escalation tasks: opened at level 1, moved up while nobody answers, closed once (resolved
by a human, ended by the customer's own action, or cancelled). Every change is also an
event row, so the history of a task can be read back."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.escalations import CloseEscalationTask, EscalationTaskRecord, TaskOpening, TaskStatus, task_id
from records.database import Database
from records.dialects import insert_new
from records.tables import escalation_task_events as events
from records.tables import escalation_tasks as tasks


class TaskNotFound(LookupError):
    pass


class TaskEvent(BaseModel):
    at: datetime
    event: str
    level: int
    assignee: str | None
    by: str | None
    detail: str | None


class TaskStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(self, opening: TaskOpening, *, id: str | None = None) -> EscalationTaskRecord:
        """Create the task, or move it up to this level; the same call twice changes nothing."""
        ident = id or task_id(opening.workflow_id, opening.escalation)
        who = dict(
            level=opening.level,
            level_name=opening.level_name,
            assignee=opening.assignee,
            assignee_name=opening.assignee_name,
        )
        dialect = self.db.dialect
        async with self.db.begin() as conn:
            created = (
                await conn.execute(
                    insert_new(
                        dialect,
                        tasks,
                        ["id"],
                        dict(
                            id=ident,
                            workflow_id=opening.workflow_id,
                            escalation=opening.escalation,
                            deal_id=opening.deal_id,
                            account_name=opening.account_name,
                            milestone=opening.milestone,
                            reason=opening.reason,
                            status=TaskStatus.open.value,
                            created_at=opening.at,
                            updated_at=opening.at,
                            **who,
                        ),
                    )
                )
            ).first()
            event = "created"
            if created is None:
                moved = (
                    await conn.execute(
                        update(tasks)
                        .where(
                            tasks.c.id == ident, tasks.c.status == TaskStatus.open.value, tasks.c.level < opening.level
                        )
                        .values(updated_at=opening.at, **who)
                        .returning(tasks.c.id)
                    )
                ).first()
                event = "moved_up" if moved is not None else ""
            if event:
                await conn.execute(
                    insert_new(
                        dialect,
                        events,
                        ["task_id", "event", "level"],
                        dict(
                            task_id=ident,
                            at=opening.at,
                            event=event,
                            level=opening.level,
                            assignee=opening.assignee,
                            detail=opening.level_name,
                        ),
                    )
                )
            return await self._get(conn, ident)

    async def close(self, request: CloseEscalationTask) -> EscalationTaskRecord:
        """Close an open task. A task closes once: a later close (a retry, or a second
        decision) leaves the first outcome in place and returns it."""
        ident = task_id(*request.task())
        at = request.at or datetime.now(UTC)
        async with self.db.begin() as conn:
            closed = (
                await conn.execute(
                    update(tasks)
                    .where(tasks.c.id == ident, tasks.c.status == TaskStatus.open.value)
                    .values(
                        status=request.outcome,
                        decision=request.decision,
                        closed_by=request.by,
                        note=request.note,
                        closed_at=at,
                        updated_at=at,
                    )
                    .returning(tasks.c.level)
                )
            ).first()
            if closed is not None:
                await conn.execute(
                    insert_new(
                        self.db.dialect,
                        events,
                        ["task_id", "event", "level"],
                        dict(
                            task_id=ident,
                            at=at,
                            event=request.outcome,
                            level=closed.level,
                            by=request.by,
                            detail=request.decision,
                        ),
                    )
                )
            return await self._get(conn, ident)

    async def get(self, ident: str) -> EscalationTaskRecord:
        async with self.db.begin() as conn:
            return await self._get(conn, ident)

    async def _get(self, conn: AsyncConnection, ident: str) -> EscalationTaskRecord:
        row = (await conn.execute(select(tasks).where(tasks.c.id == ident))).first()
        if row is None:
            raise TaskNotFound(f"no escalation task {ident!r}")
        return EscalationTaskRecord.model_validate(row._asdict())

    async def events(self, ident: str) -> list[TaskEvent]:
        async with self.db.begin() as conn:
            rows = (await conn.execute(select(events).where(events.c.task_id == ident).order_by(events.c.id))).all()
        return [TaskEvent.model_validate(r._asdict()) for r in rows]

    async def list(
        self, *, open_only: bool = False, owner: str | None = None, deal: str | None = None, limit: int = 1000
    ) -> list[EscalationTaskRecord]:
        query = select(tasks).order_by(tasks.c.created_at.desc(), tasks.c.id).limit(limit)
        if open_only:
            query = query.where(tasks.c.status == TaskStatus.open.value)
        if owner:
            query = query.where(tasks.c.assignee == owner)
        if deal:
            query = query.where(tasks.c.deal_id == deal)
        async with self.db.begin() as conn:
            rows = (await conn.execute(query)).all()
        return [EscalationTaskRecord.model_validate(r._asdict()) for r in rows]
