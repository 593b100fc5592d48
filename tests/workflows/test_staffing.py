"""What a journey says, and whom it tells, when its owner took it over capacity or nobody
could (workflows/staffing.py); the manager's notice goes through the real escalation activity."""

from temporalio.testing import ActivityEnvironment

from activities.escalation import EscalationActivities
from activities.messaging import MessagingActivities
from activities.settings import ActivitySettings
from contracts.owners import OwnerAssignment, Person
from tests.harness.support import make_deal
from workflows import staffing

MAYA = Person(id="maya", name="Maya Chen", email="maya@vendor.example")
DANA = Person(id="dana", name="Dana Okafor", email="dana@vendor.example")


def test_a_normal_assignment_reads_as_before_and_tells_nobody():
    normal = OwnerAssignment(owner=MAYA, manager=DANA)
    assert staffing.assigned_reason(normal) == "owner Maya Chen assigned"
    assert staffing.manager_task("onboarding-D-1", make_deal("D-1"), "first_action", normal) is None


def test_over_capacity_is_said_and_the_manager_gets_a_task():
    over = OwnerAssignment(owner=MAYA, manager=DANA, over_capacity=True)
    assert staffing.assigned_reason(over) == "owner Maya Chen assigned over capacity: every eligible owner is full"
    task = staffing.manager_task("onboarding-D-1", make_deal("D-1"), "first_action", over)
    assert task.assignee == DANA and task.key == "onboarding-D-1:staffing:maya" and task.level_name == "manager"
    assert "Maya Chen took this journey over capacity" in task.reason and "'smb'" in task.reason


def test_unstaffed_is_said_and_the_manager_gets_a_task():
    unstaffed = OwnerAssignment(owner=DANA, manager=DANA, unstaffed="nobody on the roster serves segment 'enterprise'")
    assert staffing.assigned_reason(unstaffed) == (
        "unstaffed: nobody on the roster serves segment 'enterprise'; Dana Okafor (manager) owns the journey"
    )
    task = staffing.manager_task("onboarding-D-2", make_deal("D-2"), "first_action", unstaffed)
    assert task.assignee == DANA and "kickoff went out from the team" in task.reason
    assert staffing.sender_name(unstaffed) == "Dana Okafor (onboarding team)"
    assert staffing.sender_name(OwnerAssignment(owner=MAYA, over_capacity=True)) == "Maya Chen"


def test_no_manager_no_task():
    over = OwnerAssignment(owner=MAYA, over_capacity=True)
    assert staffing.manager_task("onboarding-D-1", make_deal("D-1"), "first_action", over) is None


async def test_the_manager_is_told_through_the_escalation_activity(tmp_path):
    settings = ActivitySettings(SMTP_URL=None, ONBOARDING_DATA_DIR=tmp_path / "data")
    activities = EscalationActivities(settings, MessagingActivities(settings))
    over = OwnerAssignment(owner=MAYA, manager=DANA, over_capacity=True)
    task = staffing.manager_task("onboarding-D-1", make_deal("D-1"), "first_action", over)
    created = await ActivityEnvironment().run(activities.create_escalation_task, task)
    assert created.assignee == "dana"
    [notice] = (tmp_path / "data" / "outbox").iterdir()
    text = notice.read_text()
    assert text.startswith("To: Dana Okafor <dana@vendor.example>")
    assert "Maya Chen took this journey over capacity" in text
