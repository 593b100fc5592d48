"""The failure converter (privacy.failures): a staff update's refusal keeps its message in plain
text, every other failure (an activity's error, anything raised outside an update, a library's
error inside one) stays encrypted. Both the clients' and the workers' converters."""

from __future__ import annotations

import contextvars
import uuid

import pytest
from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.api.common.v1 import Payload, Payloads, WorkflowExecution
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage
from temporalio.api.failure.v1 import Failure
from temporalio.api.update.v1 import Input, Meta, WaitPolicy
from temporalio.api.update.v1 import Request as UpdateRequest
from temporalio.api.workflowservice.v1 import UpdateWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from contracts.status import OnboardingState
from privacy.codec import ENCODING
from privacy.undecodable import workflow_converter
from tests.harness.privacy_keys import CONVERTER
from tests.harness.support import always_open, make_deal, start_journey, status, wait_for_status, write_playbook
from workflows.inputs import Refused
from workflows.onboarding import OnboardingWorkflow
from workflows.staff import NOT_APPLIED

WORKER = workflow_converter(CONVERTER)
CUSTOMER = "ana@acme.example"


def in_update(make: object) -> object:
    """Run `make` as the SDK runs an update's validator and handler: with the update's info set.
    (The setter is the SDK's own, private: the integration test drives the real path.)"""

    def run() -> object:
        workflow._set_current_update_info(workflow.UpdateInfo(id="u-1", name="pause"))
        return make()  # type: ignore[operator]

    return contextvars.copy_context().run(run)


def raised(err: BaseException) -> BaseException:
    try:
        raise err
    except BaseException as caught:
        return caught


class Model(BaseModel):
    by: str


def validation_error() -> ValidationError:
    try:
        Model.model_validate({"by": CUSTOMER.encode() + b"\xff"})
    except ValidationError as err:
        return err
    raise AssertionError("expected a validation error")


REFUSALS = [
    raised(ValueError("pause: the journey is escalated; resolve the escalation instead")),
    raised(Refused("resolve_escalation: decision: Input should be 'retry', 'skip', 'reassign' or 'close'")),
    raised(ApplicationError(NOT_APPLIED, non_retryable=True)),
    RuntimeError(
        "Update handler for 'puase' expected but not found, and there is no dynamic handler. "
        "known updates: [extend_deadline pause reassign_owner resolve_escalation resume]"
    ),
]


def with_cause() -> BaseException:
    """A refusal raised while handling another error, which may quote the customer."""
    try:
        try:
            raise KeyError(CUSTOMER)
        except KeyError as inner:
            raise ValueError("pause: could not read the request") from inner
    except ValueError as err:
        return err


KEPT_SECRET = [
    raised(ValueError(f"smtp refused {CUSTOMER}")),  # outside an update: an activity, a workflow task
    validation_error(),  # a library's ValueError quotes the input
    raised(ApplicationError(f"bounced: {CUSTOMER}", type="DeliveryFailed")),
    raised(ApplicationError(f"bounced: {CUSTOMER}", {"to": CUSTOMER})),
    raised(KeyError(CUSTOMER)),
    with_cause(),
]


@pytest.mark.parametrize("converter", [CONVERTER, WORKER], ids=["client", "worker"])
@pytest.mark.parametrize("err", REFUSALS, ids=["ValueError", "Refused", "not-applied", "no-such-update"])
async def test_an_update_refusal_keeps_its_message_in_plain_text(converter, err):
    failure = Failure()
    in_update(lambda: converter.failure_converter.to_failure(err, converter.payload_converter, failure))
    await converter.payload_codec.encode_failure(failure)  # what the worker does before sending it
    text = err.message if isinstance(err, ApplicationError) else str(err)
    assert failure.message == text
    assert not failure.HasField("encoded_attributes")
    assert failure.stack_trace == ""  # an answer, not a bug
    back = await converter.decode_failure(failure)
    assert isinstance(back, ApplicationError)
    assert back.message == text


@pytest.mark.parametrize("converter", [CONVERTER, WORKER], ids=["client", "worker"])
@pytest.mark.parametrize("err", KEPT_SECRET, ids=["outside", "pydantic", "typed", "details", "KeyError", "cause"])
async def test_every_other_failure_stays_encrypted(converter, err):
    failure = Failure()

    def convert() -> None:
        converter.failure_converter.to_failure(err, converter.payload_converter, failure)

    if err is KEPT_SECRET[0]:
        convert()  # as an activity or a workflow task converts it: no update under way
    else:
        in_update(convert)
    await converter.payload_codec.encode_failure(failure)
    assert failure.message == "Encoded failure"
    assert failure.encoded_attributes.metadata["encoding"] == ENCODING
    assert CUSTOMER.encode() not in failure.SerializeToString()
    back = await converter.decode_failure(failure)
    assert CUSTOMER in f"{back} {back.__cause__}"  # readable through the codec, as before


# --- on a dev server: what the Web UI and the CLI receive -----------------------------------------


async def raw_update(client: Client, workflow_id: str, name: str, payloads: list[Payload]) -> Failure:
    """Send an update as the Web UI does (gRPC, no SDK conversion) and return the failure of
    its outcome exactly as the server hands it out."""
    response = await client.workflow_service.update_workflow_execution(
        UpdateWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id),
            wait_policy=WaitPolicy(
                lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
            ),
            request=UpdateRequest(
                meta=Meta(update_id=uuid.uuid4().hex, identity="support-test"),
                input=Input(name=name, args=Payloads(payloads=payloads)),
            ),
        )
    )
    assert response.outcome.HasField("failure"), f"{name} was not refused"
    return response.outcome.failure


# (update, input or None for an empty submit, what the refusal must say)
REFUSED = [
    ("pause", None, "pause: no input; expected an object with by, reason"),
    (
        "resolve_escalation",
        {"decision": "retyr", "by": "maya"},
        "resolve_escalation: decision: Input should be 'retry', 'skip', 'reassign' or 'close'",
    ),
    (
        "resolve_escalation",
        {"decision": "reassign", "by": "maya"},
        "resolve_escalation: input: Value error, owner: required when decision is 'reassign'",
    ),
    (
        "extend_deadline",
        {"until": "2026-11-27T09:00:00", "by": "maya"},
        "extend_deadline: until: Value error, needs a time zone offset, e.g. 2026-11-27T09:00:00+09:00",
    ),
    ("pause", {"by": "maya", "reason": "IT review"}, "pause: the journey is escalated; resolve the escalation instead"),
    ("puase", {"by": "maya"}, "Update handler for 'puase' expected but not found"),
]


async def test_refused_updates_answer_in_plain_text_signed_in_or_not(dev_env, journeys, tmp_path):
    client = dev_env.client
    # hours around the clock: the real clock may be outside the default playbook's hours
    async with journeys(client, playbooks=write_playbook(tmp_path / "pb", always_open)) as task_queue:
        deal = make_deal(account={"id": "ACME-R", "name": "Acme Refusals", "timezone": "UTC"})
        handle = await start_journey(client, task_queue, deal)
        await wait_for_status(handle, lambda s: s.waiting_on == "customer")
        await handle.signal(OnboardingWorkflow.help_requested, {"message": f"call {CUSTOMER}", "event_id": "h-1"})
        await wait_for_status(handle, lambda s: s.state is OnboardingState.escalated)

        for name, body, says in REFUSED:
            values = [] if body is None else [body]
            signed_in = await CONVERTER.encode(values)  # the UI encodes through the codec server
            signed_out = pydantic_data_converter.payload_converter.to_payloads(values)  # typed in plain text
            for payloads in (signed_in, signed_out):
                failure = await raw_update(client, handle.id, name, payloads)
                assert failure.message.startswith(says), (name, failure.message)
                assert not failure.HasField("encoded_attributes")
                assert CUSTOMER not in failure.message

        # refused: nothing changed, nothing failed (a rejected update leaves no event)
        events = (await handle.fetch_history()).events
        assert not [e for e in events if e.HasField("workflow_execution_update_accepted_event_attributes")]
        assert not [e for e in events if e.HasField("workflow_task_failed_event_attributes")]
        assert (await status(handle)).state is OnboardingState.escalated

        # Accepted, then refused by the roster (an activity's answer): the refusal is in the
        # history too, in plain text, and the activity's own failure stays encrypted.
        unknown = await CONVERTER.encode([{"owner": "nobody", "by": "maya"}])
        failure = await raw_update(client, handle.id, "reassign_owner", unknown)
        assert failure.message == "reassign refused: owner: no owner with id 'nobody' in the roster"
        history = (await handle.fetch_history()).events
        completed = [e for e in history if e.HasField("workflow_execution_update_completed_event_attributes")]
        recorded = completed[-1].workflow_execution_update_completed_event_attributes.outcome.failure
        assert recorded.message == failure.message
        assert not recorded.HasField("encoded_attributes")
        activity_failures = [
            e.activity_task_failed_event_attributes.failure
            for e in history
            if e.HasField("activity_task_failed_event_attributes")
        ]
        assert activity_failures, "the roster's refusal is an activity failure"
        assert all(f.message == "Encoded failure" for f in activity_failures)
