"""Why a history does not replay, in the words of the change that caused it, and what to do.

The replayer's error is a sentence of the SDK core (which event its state machine could
not match). Read together with the history and the commands the new code scheduled
(replay/commands.py), it says: which command the new code produced, what the history holds
there, and which of the usual causes it is:

- an unguarded change (the code now issues other commands where old journeys are):
  guard it with `workflow.patched()`;
- a rollback (the history was written by a newer build: a patch marker or a field this
  build does not know): deploy the newer build again, or keep this one away from them;
- a payload this process cannot decode (encrypted with a key it was not given);
- an order that depends on the process's hash seed (iterating a set)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf.json_format import MessageToDict
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from replay.commands import Scheduled

GUIDE = "docs/versioning.md"

UNGUARDED, ROLLBACK, UNREADABLE_FIELD, UNDECODABLE, HASH_ORDER = (
    "unguarded change",
    "rollback",
    "unreadable field",
    "undecodable payload",
    "hash order",
)

_PATCH_WITHOUT_COMMAND = re.compile(r"patch marker encountered for change (?P<patch>[\w.-]+)")
_SCHEDULED_TYPE = re.compile(
    r"scheduled event '(?P<history>[^']+)' does not match activity type of activity command '(?P<code>[^']+)'"
)
_MACHINE = re.compile(r"(?P<machine>\w+) machine does not handle this event: HistoryEvent\(id: (?P<id>\d+)")
_EVENT_ID = re.compile(r"HistoryEvent\(id: (\d+)")
# pydantic's "1 validation error for JourneyInput\ndeal.amount\n  Input should be a valid number [type=..."
_FIELD_ERROR = re.compile(r"validation errors? for \w+\n(?P<field>[^\n]+)\n\s+(?P<what>[^\n\[]+?)\s*(\[|\n|$)")
_UNDECODABLE = re.compile(
    r"payload encoding binary/encrypted|decrypt|encryption key|undecodable|cannot be decoded", re.IGNORECASE
)


@dataclass
class Diagnosis:
    cause: str
    event_id: int | None = None  # the history's event where code and history part ways
    code: str = ""  # the command the new code produced there
    history: str = ""  # what the history holds there
    detail: str = ""  # the patch id or the field this build does not know

    def advice(self, seeds: Sequence[int] = (), of_seeds: int = 0) -> str:
        if self.cause == HASH_ORDER:
            return (
                f"It fails under PYTHONHASHSEED={', '.join(map(str, seeds))} and replays under the other "
                f"{of_seeds - len(seeds)} of {of_seeds} seeds: the order of the commands depends on the process's "
                "hash seed, so each worker process issues them in its own order. Iterate a sorted list (or a "
                "tuple), never a set or a dict built from one, where the loop issues commands."
            )
        if self.cause == ROLLBACK:
            return (
                f"The history holds the marker of patch '{self.detail}', which this build does not ask for: the "
                "journey was started or moved on by a newer build (a rollback), or the `workflow.patched("
                f"'{self.detail}')` call was moved or removed. Deploy the build that knows it again, or keep the "
                f"call where it was until no running journey carries the marker ({GUIDE}, 'Rolling back' and "
                "'Retiring a version')."
            )
        if self.cause == UNREADABLE_FIELD:
            return (
                f"This build cannot read field {self.detail} of a payload in the history: it was written by "
                "another build, a newer one (a rollback) or one whose model changed incompatibly. Deploy the "
                "build that wrote it again; a model read from history must accept what older and newer builds "
                f"write ({GUIDE})."
            )
        if self.cause == UNDECODABLE:
            return (
                "A payload of the history cannot be decoded in this process: it was encrypted with a key this "
                "process was not given. Give the keys the workers use (ONBOARDING_CODEC_KEYS or "
                "ONBOARDING_CODEC_KEYS_FILE; `make run` keeps them in .data/codec-keys) and replay again; "
                "this is not a change of the workflow code."
            )
        return (
            "A running journey with this history would fail its next workflow task. Guard the change with "
            f"workflow.patched(...) so old histories take the old path: see {GUIDE}."
        )


def cause_of(mismatch: str) -> str:
    """The cause read from the replayer's error alone (cheap: every failure gets one)."""
    if "Nondeterminism" in mismatch:
        return UNGUARDED
    if _UNDECODABLE.search(mismatch):
        return UNDECODABLE
    if _FIELD_ERROR.search(mismatch):
        return UNREADABLE_FIELD
    return UNGUARDED


def diagnose(
    mismatch: str,
    events: Sequence[HistoryEvent],
    scheduled: Sequence[Scheduled],
    known_patches: frozenset[str],
    located: int | None = None,
) -> Diagnosis:
    """The cause, the event, and the new code's command against the history's. `located`:
    the event where the replayer stopped (named in its error, or found by replaying
    prefixes); `scheduled`: the activities the new code scheduled, in order."""
    cause = cause_of(mismatch)
    if cause == UNREADABLE_FIELD and (found := _FIELD_ERROR.search(mismatch)):
        field, what = found["field"].strip(), found["what"].strip()
        at = _carrying(events, field.split(".")[-1].encode())
        return Diagnosis(cause, at, history=f"a payload with '{field}': {what}", detail=f"'{field}' ({what})")
    if cause == UNDECODABLE:
        at = _carrying(events, b"binary/encrypted")
        return Diagnosis(cause, at, history="an encrypted payload" if at else "")

    def event(event_id: int | None) -> HistoryEvent | None:
        return events[event_id - 1] if event_id is not None and 0 < event_id <= len(events) else None

    patch = found["patch"] if (found := _PATCH_WITHOUT_COMMAND.search(mismatch)) else None
    if patch is not None and patch not in known_patches:
        marker = next((e for e in events if patch_id(e) == patch), None)
        return Diagnosis(
            ROLLBACK,
            marker.event_id if marker else located,
            code="no workflow.patched() call for it: this build does not know the patch",
            history=describe_event(marker) if marker else f"patch '{patch}'",
            detail=patch,
        )
    if (difference := _first_difference(events, scheduled)) is not None:
        command, theirs, previous = difference
        # the code's command stands where the replayer stopped when that lies between the
        # last activity both agree on and the history's activity at the command's place
        stopped_between = located is not None and previous < located
        stopped_between = stopped_between and (theirs is None or (located or 0) <= theirs.event_id)
        at = located if stopped_between or theirs is None else theirs.event_id
        history = describe_event(e) if (e := event(at)) is not None else "nothing more"
        if theirs is not None and theirs.event_id != at:
            history += f"; its next activity: {describe_event(theirs)}"
        return Diagnosis(UNGUARDED, at, code=str(command), history=history)
    at_event = event(located)
    history = describe_event(at_event) if at_event is not None else ""
    if found := _MACHINE.search(mismatch):
        return Diagnosis(UNGUARDED, located, code=f"a {found['machine'].lower()} command", history=history)
    if patch is not None:
        return Diagnosis(UNGUARDED, located, code=f"no workflow.patched('{patch}') call here", history=history)
    if found := _SCHEDULED_TYPE.search(mismatch):
        return Diagnosis(UNGUARDED, located, code=f"activity '{found['code']}'", history=history)
    return Diagnosis(UNGUARDED, located, history=history)


def _carrying(events: Sequence[HistoryEvent], needle: bytes) -> int | None:
    """The first event whose payloads hold `needle` (a field's name, an encoding)."""
    return next((e.event_id for e in events if needle in e.SerializeToString()), None)


def _first_difference(
    events: Sequence[HistoryEvent], scheduled: Sequence[Scheduled]
) -> tuple[Scheduled, HistoryEvent | None, int] | None:
    """The first regular activity the new code scheduled that the history does not hold at
    its place (another type, or the same type for another purpose: its summary differs),
    the history's activity at that place (None: it has no more) and the event id of the last
    activity both agree on; None when the code's activities are a prefix of the history's."""
    in_history = [e for e in events if e.HasField("activity_task_scheduled_event_attributes")]
    for n, command in enumerate(s for s in scheduled if not s.local):
        previous = in_history[n - 1].event_id if n else 0
        if n >= len(in_history):
            return command, None, previous
        theirs = in_history[n]
        summary = summary_of(theirs)
        if activity_of(theirs) != command.activity or (summary and command.summary and summary != command.summary):
            return command, theirs, previous
    return None


def locate_in(mismatch: str, window: Sequence[HistoryEvent]) -> HistoryEvent | None:
    """Of the command events of the workflow task where the replay fails, the one the
    replayer's error is about: the history's side of an activity type mismatch, the marker
    of the patch it names, else the first."""
    if found := _SCHEDULED_TYPE.search(mismatch):
        return next((e for e in window if activity_of(e) == found["history"]), window[0] if window else None)
    if found := _PATCH_WITHOUT_COMMAND.search(mismatch):
        return next((e for e in window if patch_id(e) == found["patch"]), window[0] if window else None)
    return window[0] if window else None


def event_named(mismatch: str) -> int | None:
    found = _EVENT_ID.search(mismatch)
    return int(found.group(1)) if found else None


COMMAND_EVENTS = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
    EventType.EVENT_TYPE_TIMER_STARTED,
    EventType.EVENT_TYPE_TIMER_CANCELED,
    EventType.EVENT_TYPE_MARKER_RECORDED,
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
    EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
}


def activity_of(event: HistoryEvent) -> str | None:
    if event.HasField("activity_task_scheduled_event_attributes"):
        return event.activity_task_scheduled_event_attributes.activity_type.name
    return None


def summary_of(event: HistoryEvent) -> str:
    data = event.user_metadata.summary.data
    if not data:
        return ""
    try:
        text = json.loads(data)
    except ValueError:
        return ""
    return text if isinstance(text, str) else ""


def patch_id(event: HistoryEvent) -> str | None:
    if not event.HasField("marker_recorded_event_attributes"):
        return None
    details = event.marker_recorded_event_attributes.details
    if "patch-data" not in details or not details["patch-data"].payloads:
        return None
    try:
        found = json.loads(details["patch-data"].payloads[0].data).get("id")
    except ValueError:
        return None
    return found if isinstance(found, str) else None


def describe_event(event: HistoryEvent) -> str:
    name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    detail = ""
    if event.HasField("activity_task_scheduled_event_attributes"):
        detail = f" activity '{event.activity_task_scheduled_event_attributes.activity_type.name}'"
        if summary := summary_of(event):
            detail += f" ({summary})"
    elif event.HasField("timer_started_event_attributes"):
        a = event.timer_started_event_attributes
        detail = f" timer {a.timer_id} ({a.start_to_fire_timeout.ToTimedelta()})"
        if summary := summary_of(event):
            detail += f": {summary}"
    elif event.HasField("marker_recorded_event_attributes"):
        marker = event.marker_recorded_event_attributes
        patch = patch_id(event)
        if patch is None and MessageToDict(marker).get("details", {}).get("patch_data"):
            patch = "?"
        detail = f" marker '{marker.marker_name}'" + (f" (patch '{patch}')" if patch else "")
    elif event.HasField("workflow_execution_signaled_event_attributes"):
        detail = f" signal '{event.workflow_execution_signaled_event_attributes.signal_name}'"
    elif event.HasField("workflow_execution_update_accepted_event_attributes"):
        detail = f" update '{event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name}'"
    return f"event {event.event_id} {name}{detail}"
