"""What the workflow sandbox loads per journey (docs/performance.md): the workflow module is
re-imported for each journey (no state shared between journeys), the pure helpers it
imports inside `imports_passed_through()` are the worker's own modules, the compiled
code of the workflow module is shared, not compiled again, and the sandbox is asked for a
serialization context only when the converter reads one."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from types import ModuleType

import pytest
from temporalio import workflow
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.failure.v1 import Failure
from temporalio.common import Priority, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec, SerializationContext, WithSerializationContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import contracts.journey
import contracts.owners
import contracts.status
import owners.places
import owners.workflow
import workflows
import workflows.business_hours
import workflows.decisions
from owners.workflow import OwnerRosterWorkflow
from runtime.context_free import ContextFreeRunner, context_free
from runtime.sandbox import workflow_runner
from tests.harness import privacy_keys
from workflows.onboarding import OnboardingWorkflow

INFO = workflow.Info(
    attempt=1,
    continued_run_id=None,
    cron_schedule=None,
    execution_timeout=None,
    first_execution_run_id="run",
    headers={},
    namespace="default",
    original_execution_run_id="run",
    parent=None,
    root=None,
    raw_memo={},
    retry_policy=None,
    run_id="run",
    run_timeout=None,
    search_attributes={},
    start_time=datetime.now(UTC),
    workflow_start_time=datetime.now(UTC),
    task_queue="q",
    task_timeout=timedelta(seconds=10),
    typed_search_attributes=TypedSearchAttributes.empty,
    workflow_id="onboarding-sandbox-test",
    workflow_type="OnboardingWorkflow",
    priority=Priority.default,
)


def new_journey_instance() -> WorkflowInstance:
    """What the worker creates for each journey it loads (the runner's public interface)."""
    return workflow_runner().create_instance(journey_details())


def journey_details(workflow_class: type = OnboardingWorkflow) -> WorkflowInstanceDetails:
    return WorkflowInstanceDetails(
        payload_converter_factory=DataConverter.default._new_payload_converter,
        failure_converter_class=DataConverter.default.failure_converter_class,
        interceptor_classes=[],
        defn=workflow._Definition.must_from_class(workflow_class),
        info=INFO,
        randomness_seed=1,
        extern_functions={},
        disable_eager_activity_execution=False,
        worker_level_failure_exception_types=[],
        patch_activation_callback=None,
        last_completion_result=Payloads(),
        last_failure=Failure(),
    )


def sandboxed_workflow_module(instance: WorkflowInstance, name: str = "workflows.onboarding") -> ModuleType:
    # The sandbox keeps the modules it loaded on its importer (SDK internals: if this breaks
    # after an SDK upgrade, find the equivalent; the properties below must keep holding).
    return instance.importer.new_modules[name]  # type: ignore[attr-defined]


async def test_each_journey_gets_its_own_workflow_module_with_shared_code_and_passed_through_helpers():
    await asyncio.sleep(0)  # instances attach to the running loop
    first, second = new_journey_instance(), new_journey_instance()
    one, two = sandboxed_workflow_module(first), sandboxed_workflow_module(second)
    import workflows.onboarding as host

    # isolation: a fresh module (and class) per journey, never the worker's own
    assert one is not two and one is not host
    assert one.OnboardingWorkflow is not two.OnboardingWorkflow
    # compiled once: both re-imports run the very same code objects
    assert one.OnboardingWorkflow.run.__code__ is two.OnboardingWorkflow.run.__code__
    # `from workflows import decisions, acknowledgement` inside imports_passed_through():
    # the worker's modules, not copies executed again for every journey
    assert one.decisions is workflows.decisions and two.decisions is workflows.decisions
    assert one.acknowledgement is workflows.acknowledgement


async def test_the_contracts_and_the_rosters_helpers_are_the_workers_own_modules():
    await asyncio.sleep(0)
    journey = sandboxed_workflow_module(new_journey_instance())
    # the contracts pass through as a whole: the journey's models are the worker's own
    assert journey.JourneyState is contracts.journey.JourneyState and journey.Status is contracts.status.Status
    assert journey_modules(new_journey_instance()) == {"workflows", "workflows.onboarding"}

    # the owner roster (owners/workflow.py) is re-imported per run like the journey, its code
    # shared, its places and requests passed through
    first, second = (workflow_runner().create_instance(journey_details(OwnerRosterWorkflow)) for _ in range(2))
    one, two = (sandboxed_workflow_module(i, "owners.workflow") for i in (first, second))
    assert one is not two and one is not owners.workflow
    assert one.OwnerRosterWorkflow.run.__code__ is two.OwnerRosterWorkflow.run.__code__
    assert one.Places is owners.places.Places and one.Allocate is contracts.owners.Allocate
    assert journey_modules(first) == {"owners", "owners.workflow"}


def journey_modules(instance: WorkflowInstance) -> set[str]:
    """The modules the sandbox executed afresh for this instance (not the worker's own)."""
    loaded = instance.importer.new_modules  # type: ignore[attr-defined]
    return {name for name, module in loaded.items() if sys.modules.get(name) is not module} - {"__main__"}


def test_package_attribute_lookup_imports_submodules_only():
    assert workflows.__getattr__("decisions") is workflows.decisions
    assert not hasattr(workflows, "no_such_module")
    with pytest.raises(AttributeError):
        workflows.__getattr__("__wrapped__")


class ContextAwareCodec(PayloadCodec, WithSerializationContext):
    """A codec that reads the serialization context (e.g. keys per workflow)."""

    def __init__(self, context: SerializationContext | None = None) -> None:
        self.context = context

    def with_context(self, context: SerializationContext) -> ContextAwareCodec:
        return ContextAwareCodec(context)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


async def test_the_sandbox_is_not_asked_for_a_context_only_when_the_converter_ignores_it():
    # the deployment's converter (pydantic JSON + encryption) ignores context: the shortcut applies
    assert context_free(privacy_keys.CONVERTER) and context_free(pydantic_data_converter)
    runner = workflow_runner(privacy_keys.CONVERTER)
    assert isinstance(runner, ContextFreeRunner)
    assert runner.create_instance(journey_details()).get_serialization_context(None) is None

    # a converter that reads the context keeps the SDK's runner, which answers it
    aware = dataclasses.replace(pydantic_data_converter, payload_codec=ContextAwareCodec())
    assert not context_free(aware)
    assert isinstance(workflow_runner(aware), SandboxedWorkflowRunner)
    assert isinstance(workflow_runner(), SandboxedWorkflowRunner)  # no converter given: as the SDK does
