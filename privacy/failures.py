"""Which failures staff read in plain text: an update's refusal. Everything else is encrypted.

Every failure's message and stack trace go into its encoded attributes (through the codec),
because an error text may quote a customer: an activity's error, a workflow task's, a journey's
failure. Then the Web UI shows "Encoded failure" to everyone not signed in at the codec server,
and a staff member who sent `resolve_escalation` with `"decision": "retyr"` learns nothing.

A refusal of a staff update is written to be read by whoever sent it, signed in or not: the
update, the field and the rule ("resolve_escalation: decision: Input should be 'retry', ...",
"pause: the journey is escalated; resolve the escalation instead"), never the values sent
(workflows/inputs.py echoes none). So a refusal keeps its message in plain text (without a
stack trace: it is an answer, not a bug), when all of these hold:

- it is converted inside an update's handling (validator or handler) on the worker: the SDK
  says so (`workflow.current_update_info()`); an activity's error (converted on its own
  task, even one that answered a roster question for an update) or a failing workflow task
  never is;
- it is one of the journey's own refusal types: a `ValueError` raised as such (the
  validators' refusals, `workflows.inputs.Refused`), an `ApplicationError` raised by workflow
  code with no type and no details ("not applied: the escalation ended ..."), or the SDK's
  answer to an update name the workflow does not have;
- it has no cause: a refusal raised while handling another error could carry that error's
  text, so it stays encrypted.

A `ValueError` subclass from a library (pydantic's `ValidationError` quotes the input) or
anything else stays encrypted. Whoever adds a refusal to a workflow's update keeps the rule
of workflows/inputs.py: name the field and the reason, never the customer's text."""

from __future__ import annotations

import re

from temporalio import workflow
from temporalio.api.failure.v1 import Failure
from temporalio.converter import DefaultFailureConverterWithEncodedAttributes, PayloadConverter
from temporalio.exceptions import ApplicationError

# By name, not by class: the sandbox imports workflow modules afresh for each workflow, so
# the class a journey raises is not the one this module could import.
REFUSAL_TYPES = frozenset({"builtins.ValueError", "workflows.inputs.Refused"})
# temporalio/worker/_workflow_instance.py, `_apply_do_update`: the rejection of an update
# name the workflow has no handler for (tests/privacy/test_refusal_failures.py pins it).
_NO_SUCH_UPDATE = re.compile(r"Update handler for '[^\n]*' expected but not found, and there is no dynamic handler\.")


def _qualified(err: BaseException) -> str:
    kind = type(err)
    return f"{kind.__module__}.{kind.__qualname__}"


def _has_cause(err: BaseException) -> bool:
    return err.__cause__ is not None or (err.__context__ is not None and not err.__suppress_context__)


def refusal_text(err: BaseException) -> str | None:
    """The plain text of an update's refusal, or None for every other failure (see module)."""
    if workflow.current_update_info() is None or _has_cause(err):
        return None
    if _qualified(err) in REFUSAL_TYPES:
        return str(err)
    if type(err) is ApplicationError and not err.type and not err.details and err.failure is None:
        return err.message
    if type(err) is RuntimeError and _NO_SUCH_UPDATE.match(str(err)):
        return str(err)
    return None


class RefusalsReadable(DefaultFailureConverterWithEncodedAttributes):
    """Encoded message and stack trace for every failure but an update's refusal."""

    def to_failure(self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure) -> None:
        super().to_failure(exception, payload_converter, failure)
        text = refusal_text(exception)
        if text is not None:
            failure.ClearField("encoded_attributes")
            failure.message = text
            failure.stack_trace = ""
