"""A runner for converters that ignore serialization context: no trip into the sandbox per payload.

For every payload list of every activation and completion (decoded, encoded, checked for
external storage: seven passes), the SDK asks the workflow instance which serialization
context applies, and the sandboxed instance answers by compiling and running a snippet
inside the sandbox, imports swapped in and out. The profile of a burst showed this at about
a tenth of the worker's Python CPU. The answer only matters to a converter that reads it:
when `DataConverter.with_context` gives the very same converter back for any context, and
no external storage is configured, "no context" (the documented `None` of
`WorkflowInstance.get_serialization_context`) decodes and encodes exactly the same bytes.
`privacy.converter` (pydantic JSON + the encryption codec) is such a converter; a test keeps
it so (tests/worker/test_sandbox_imports.py), and any other converter gets the SDK's runner as is."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    SerializationContext,
    StorageDriverStoreContext,
    WorkflowSerializationContext,
)
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner
from temporalio.workflow import Info, _Definition

_PROBES: tuple[SerializationContext, ...] = (
    WorkflowSerializationContext(namespace="probe", workflow_id="probe"),
    ActivitySerializationContext(
        namespace="probe",
        activity_id="probe",
        activity_type="probe",
        activity_task_queue="probe",
        workflow_id="probe",
        workflow_type="probe",
        is_local=False,
    ),
)


def context_free(converter: DataConverter) -> bool:
    """True when no serialization context can change what `converter` reads or writes."""
    if converter.external_storage is not None:
        return False
    return all(converter.with_context(probe) is converter for probe in _PROBES)


class ContextFreeRunner(WorkflowRunner):
    """The given runner, whose instances answer "no context" without entering the sandbox."""

    def __init__(self, runner: WorkflowRunner) -> None:
        self.runner = runner

    def prepare_workflow(self, defn: _Definition) -> None:
        self.runner.prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _ContextFreeInstance(self.runner.create_instance(det))

    def set_worker_level_failure_exception_types(self, types: Sequence[type[BaseException]]) -> None:
        self.runner.set_worker_level_failure_exception_types(types)


class _ContextFreeInstance(WorkflowInstance):
    def __init__(self, inner: WorkflowInstance) -> None:
        self.inner = inner

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        return self.inner.activate(act)

    def get_serialization_context(self, command_info: object) -> SerializationContext | None:
        return None

    def get_external_store_context(self, command_info: object) -> StorageDriverStoreContext:
        # Without external storage the store context is never read (DataConverter
        # ._with_store_context returns the converter itself); an empty one is enough.
        return StorageDriverStoreContext()

    def get_info(self) -> Info:
        return self.inner.get_info()

    def get_thread_id(self) -> int | None:
        return self.inner.get_thread_id()
