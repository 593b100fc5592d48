"""ProductEventIntake: a batch of product events accepted by the HTTP service, delivered to
its journeys (contracts/intake.py says why it exists).

Slices of `SLICE` events go to `deliver_product_events` one after the other, so each journey
gets its events in the order the sender sent them. History stays bounded: after `SLICES_PER_RUN`
slices (or when the server suggests it) the workflow continues as new, carrying only the
events not delivered yet. Events addressed to an account with no running journey are tried
again after `RETRY_DELAYS` (a journey may start meanwhile), then reported: logged with their
ids and returned in the outcome."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from contracts.intake import (
        DELIVER_ACTIVITY,
        INTAKE_WORKFLOW_TYPE,
        Delivered,
        DeliverEvents,
        Intake,
        IntakeOutcome,
        QueuedEvent,
    )

SLICE = 200
SLICES_PER_RUN = 10
# What a sender's own retries would have covered, had it been refused: a journey is most
# often started within minutes of the product's first events.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
)
# Temporal down or slow: keep trying, a batch accepted is never dropped.
DELIVERY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


@workflow.defn(name=INTAKE_WORKFLOW_TYPE)
class ProductEventIntake:
    @workflow.run
    async def run(self, intake: Intake) -> IntakeOutcome:
        slices = 0
        while intake.position < len(intake.events):
            if slices >= SLICES_PER_RUN or workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(_rest(intake))
            part = intake.events[intake.position : intake.position + SLICE]
            done = await self._deliver(intake, part)
            intake.waiting.extend(part[i] for i in done.without_journey)
            intake.position += len(part)
            slices += 1
        while intake.waiting and intake.retries < len(RETRY_DELAYS):
            if slices >= SLICES_PER_RUN or workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(_rest(intake))
            await workflow.sleep(RETRY_DELAYS[intake.retries])
            intake.retries += 1
            done = await self._deliver(intake, intake.waiting)
            intake.waiting = [intake.waiting[i] for i in done.without_journey]
            slices += 1
        lost = [e.body.event_id for e in intake.waiting]
        if lost:
            workflow.logger.warning(
                "events_without_journey", extra={"source": intake.source, "count": len(lost), "event_ids": lost[:50]}
            )
        delivered = intake.delivered_before + len(intake.events) - len(lost)
        return IntakeOutcome(delivered=delivered, without_journey=lost, runs=intake.run)

    async def _deliver(self, intake: Intake, events: list[QueuedEvent]) -> Delivered:
        done: Delivered = await workflow.execute_activity(
            DELIVER_ACTIVITY,
            DeliverEvents(journeys_task_queue=intake.journeys_task_queue, events=events),
            result_type=Delivered,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=DELIVERY_RETRY,
            summary=f"deliver {len(events)} {intake.source} event(s)",
        )
        return done


def _rest(intake: Intake) -> Intake:
    """The next run's input: only what is left, so each run starts small."""
    return intake.model_copy(
        update={
            "events": intake.events[intake.position :],
            "position": 0,
            "delivered_before": intake.delivered_before + intake.position,
            "run": intake.run + 1,
        }
    )
