"""A cancellation request (v3.8): the Web UI's Request Cancellation, `temporal workflow
cancel`, `WorkflowHandle.cancel()`. Temporal delivers it as `asyncio.CancelledError` at the
journey's current await (a wait, a timer, an activity: the activity is asked to stop); the
journey then closes as the `cancel` signal closes it, with the same cleanup
(`OnboardingWorkflow.run`). The request carries the sender's identity to the server's
history only (the workflow sees its reason): the journey reads it there with an activity
(`effects.requester`) and records "cancelled by <identity> (cancellation request)", or
"cancelled by a cancellation request" when it has none, and the request's reason, if any.

A request is delivered once. Whatever must not be cut short by it runs `shielded`, to its
end: the cleanup itself, writing the moments, and what takes something the cleanup gives
back (an owner's place, an escalation's task: `JourneyRun.whole`); the journey hears the
request right after."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import is_cancelled_exception

T = TypeVar("T")

BY_REQUEST = "cancelled by a cancellation request"

# What the journey's run looks at for the request: the CancelledError and the exceptions it
# causes, never GeneratorExit (a run torn down by its worker stays down).
CAUGHT = (asyncio.CancelledError, Exception)


def requested() -> bool:
    """Whether a cancellation request reached the journey (at any time in this run)."""
    return workflow.cancellation_reason() is not None


def interrupted(err: BaseException) -> bool:
    """Whether `err` is the cancellation request reaching the journey at an await (the
    CancelledError itself, or an activity it stopped), not an inner task's cancel."""
    return is_cancelled_exception(err) and requested()


def reason(requester: str | None = None) -> str:
    """Why the journey closed: "cancelled by <requester> (cancellation request)", or "cancelled
    by a cancellation request" while the requester is not known, with the request's reason
    when it gave one."""
    by = f"cancelled by {requester} (cancellation request)" if requester else BY_REQUEST
    given = (workflow.cancellation_reason() or "").strip()
    return f"{by}: {given[:200]}" if given else by


async def shielded(work: Awaitable[T], *, then_raise: bool = True) -> T:
    """Run `work` to its end even when the cancellation request arrives meanwhile (it is
    delivered once, to the journey's main task: here); then raise the request, so the
    journey still closes (`then_raise`: the journey's own end has nothing left to close)."""
    task = asyncio.ensure_future(work)
    interrupted_here = False
    while True:
        try:
            result = await asyncio.shield(task)
            break
        except asyncio.CancelledError:
            if task.done() or not requested():
                raise
            interrupted_here = True
            _uncancel()
    if interrupted_here and then_raise:
        raise asyncio.CancelledError()
    return result


def _uncancel() -> None:
    """The request was taken: this task is no longer being cancelled (asyncio's count)."""
    current = asyncio.current_task()
    if current is not None and current.cancelling():
        current.uncancel()
