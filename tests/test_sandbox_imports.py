"""What the workflow sandbox loads per journey (docs/performance.md): the workflow module is
re-imported for each journey (no state shared between journeys), the pure helpers it
imports inside `imports_passed_through()` are the worker's own modules, the compiled
code of the workflow module is shared, not compiled again, and the sandbox is asked for a
serialization context only when the converter reads one."""

from __future__ import annotations

import asyncio
import dataclasses
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

import workflows
import workflows.business_hours
import workflows.decisions
from runtime.context_free import ContextFreeRunner, context_free
from runtime.sandbox import workflow_runner
from tests import privacy_keys
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


def journey_details() -> WorkflowInstanceDetails:
    return WorkflowInstanceDetails(
        payload_converter_factory=DataConverter.default._new_payload_converter,
        failure_converter_class=DataConverter.default.failure_converter_class,
        interceptor_classes=[],
        defn=workflow._Definition.must_from_class(OnboardingWorkflow),
        info=INFO,
        randomness_seed=1,
        extern_functions={},
        disable_eager_activity_execution=False,
        worker_level_failure_exception_types=[],
        patch_activation_callback=None,
        last_completion_result=Payloads(),
        last_failure=Failure(),
    )


def sandboxed_workflow_module(instance: WorkflowInstance) -> ModuleType:
    # The sandbox keeps the modules it loaded on its importer (SDK internals: if this breaks
    # after an SDK upgrade, find the equivalent; the properties below must keep holding).
    return instance.importer.new_modules["workflows.onboarding"]  # type: ignore[attr-defined]


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
