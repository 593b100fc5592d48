"""The workflow runner every worker and replayer uses.

Business hours are computed in the customer's time zone inside the workflow; the default
sandbox restricts `zoneinfo.ZoneInfo`. Zone data is static and read-only, so lifting that
one restriction keeps the workflow deterministic.

The sandbox re-imports the workflow module for every journey it loads (a new module, so no
state leaks between journeys). Python would compile it again from source each time where no
.pyc can be written (PYTHONDONTWRITEBYTECODE, as in the Docker image), and every cached
journey would hold its own fresh code objects. Code objects are immutable, so the workflow
packages' modules (the journey's `workflows`, the owner roster's `owners`) share one compiled
copy per process; each run still executes it into its own fresh module. The pure helpers
(decisions, inbox, status, places, ...) are passed through as the workflow asks (each
package's `__init__.py` makes `from package import x` honour that), and `contracts` always is."""

from __future__ import annotations

import dataclasses
import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Sequence
from types import CodeType, ModuleType
from typing import ClassVar

from temporalio.converter import DataConverter
from temporalio.worker import WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from runtime.context_free import ContextFreeRunner, context_free

# The packages whose modules the sandbox re-imports (the workflow modules and their package):
# the journey's, and the owner roster's (owners/workflow.py).
SHARED_CODE_PACKAGES = frozenset({"workflows", "owners"})


def workflow_runner(converter: DataConverter | None = None) -> WorkflowRunner:
    """The sandboxed runner. Given the converter the worker or replayer uses, and that
    converter ignores serialization context, the runner skips asking the sandbox for one
    (runtime/context_free.py)."""
    share_compiled_code()
    # The contracts are plain data: every journey and roster uses the worker's own modules.
    # Playbook models validate their templates with Jinja2 when deserialised; it is pure,
    # so it passes through rather than being re-imported per workflow run; so does Babel, whose
    # language codes the playbook checks against (read once, at import: contracts/languages.py).
    # OpenTelemetry's context is the process's: the tracing interceptor's workflow spans use it
    # (telemetry/).
    restrictions = dataclasses.replace(
        SandboxRestrictions.default.with_passthrough_modules(
            "contracts", "jinja2", "markupsafe", "email_validator", "dns", "idna", "babel", "opentelemetry"
        ),
        invalid_module_members=SandboxRestrictions.invalid_module_members_default.with_child_unrestricted(
            "zoneinfo", "ZoneInfo"
        ),
    )
    runner = SandboxedWorkflowRunner(restrictions=restrictions)
    return ContextFreeRunner(runner) if converter is not None and context_free(converter) else runner


class _SharedCodeLoader(importlib.machinery.SourceFileLoader):
    """A source loader that compiles (or unmarshals) a file once per version of it."""

    # one cache for every loader instance: the point is sharing compiled code across workers
    _codes: ClassVar[dict[tuple[str, int, int], CodeType]] = {}

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        stat = os.stat(path)
        key = (path, stat.st_mtime_ns, stat.st_size)  # an edited file is compiled again, as usual
        code = self._codes.get(key)
        if code is None:
            code = super().get_code(fullname)
            assert code is not None
            self._codes[key] = code
        return code


class _SharedCodeFinder(importlib.abc.MetaPathFinder):
    """Finds this package's modules as the path finder does, with the sharing loader."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in SHARED_CODE_PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and type(spec.loader) is importlib.machinery.SourceFileLoader:
            spec.loader = _SharedCodeLoader(spec.loader.name, spec.loader.path)
        return spec


def share_compiled_code() -> None:
    """Install the finder (once per process)."""
    if not any(isinstance(finder, _SharedCodeFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SharedCodeFinder())
