"""The lab's captured world answers activities the journey does not call yet (a newer
journey's `release_owner`, `record_moment`, `close_escalation_task`), and the history
reader shows them, so the lab keeps working when they appear (time-skipping server)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.worker import Worker

from lab.histories import journey_runs
from lab.record import read_journey
from lab.world import World
from owners.roster import load_roster

NEWER_ACTIVITIES = ("release_owner", "record_moment", "close_escalation_task")


@workflow.defn(name="NewerJourney", sandboxed=False)
class NewerJourney:
    """Stands in for a journey version that calls activities the lab does not model."""

    @workflow.run
    async def run(self) -> list[object]:
        results = []
        for name in NEWER_ACTIVITIES:
            results.append(
                await workflow.execute_activity(
                    name, {"deal_id": "D-1", "owner": "leo"}, start_to_close_timeout=timedelta(seconds=10)
                )
            )
        return results


async def test_activities_the_lab_does_not_model_are_answered_and_recorded(ts_env):
    client = ts_env.client
    world = World(client, f"world-{uuid.uuid4().hex[:8]}", load_roster())
    async with Worker(client, task_queue=world.task_queue, workflows=[NewerJourney], activities=world.activities()):
        workflow_id = f"newer-{uuid.uuid4().hex[:8]}"
        result = await client.execute_workflow(NewerJourney.run, id=workflow_id, task_queue=world.task_queue)
        record = read_journey(workflow_id, await journey_runs(client, workflow_id))
    assert result == [None, None, None]
    assert [t.kind for t in record.touches if t.what == "activity"] == list(NEWER_ACTIVITIES)
    assert record.status == "COMPLETED"


async def test_the_real_rendering_runs_in_the_lab(ts_env, tmp_path):
    """A contact whose name is a link: the lab's send_message is the real rendering, which
    removes the link (activities.messaging.FROM_OUTSIDE), so the kickoff goes out with its one
    call to action, as in production."""
    import yaml

    from lab.personas import load_persona
    from lab.simulate import plan, simulate

    persona = tmp_path / "link-in-name.yaml"
    persona.write_text(
        yaml.safe_dump(
            {
                "name": "link-in-name",
                "deal": {
                    "contacts": [{"email": "bob@acme.example", "name": "https://spam.example Bob", "role": "champion"}]
                },
                "horizon": "2d",
            }
        )
    )
    report = (await simulate(plan([load_persona(persona)], all_personas=False), load_roster(), env=ts_env)).personas[0]
    assert not report.outcome.state.startswith("failed"), report.outcome.state
    assert report.outcome.by_kind.get("direction") == 1
    [kickoff] = [t for t in report.touches if t.what == "message" and t.kind == "direction"]
    assert kickoff.ok and kickoff.cta == "https://app.example.com/datasets/new"


def test_the_lab_answers_every_crm_fetch_the_journey_can_call():
    """The journey reads a deal with `fetch_<crm>_deal` (workflows/effects.py); the lab fakes
    each, or a lab journey started from a CRM would wait for an activity nobody runs."""
    from typing import get_args

    from temporalio import activity

    from contracts.deal import Crm
    from lab.world import World

    names = {activity._Definition.must_from_callable(a).name for a in World(None, "lab", load_roster()).activities()}
    assert {f"fetch_{crm}_deal" for crm in get_args(Crm)} <= names
