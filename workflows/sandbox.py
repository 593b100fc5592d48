"""The workflow runner every worker and replayer uses.

Business hours are computed in the customer's time zone inside the workflow; the default
sandbox restricts `zoneinfo.ZoneInfo`. Zone data is static and read-only, so lifting that
one restriction keeps the workflow deterministic."""

from __future__ import annotations

import dataclasses

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions


def workflow_runner() -> SandboxedWorkflowRunner:
    # Playbook models validate their templates with Jinja2 when deserialised; it is pure,
    # so it passes through rather than being re-imported per workflow run.
    restrictions = dataclasses.replace(
        SandboxRestrictions.default.with_passthrough_modules("jinja2", "markupsafe", "email_validator", "dns", "idna"),
        invalid_module_members=SandboxRestrictions.invalid_module_members_default.with_child_unrestricted(
            "zoneinfo", "ZoneInfo"
        ),
    )
    return SandboxedWorkflowRunner(restrictions=restrictions)
