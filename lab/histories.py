"""Every run of a journey's history, first run first (a journey continues as new when its
history grows long, so one journey may be several runs), with its payloads decrypted by the
client's codec so the lab reads what the journey saw. A payload the codec cannot decrypt (an
input the journey refused as undecodable, a key no longer configured) is read as the worker
reads it (privacy.undecodable): a marker, shown as missing, instead of stopping the lab."""

from __future__ import annotations

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import PayloadCodec

from privacy.codec import KEY_ID
from privacy.keys import FILE_VARIABLE, KEYS_VARIABLE
from privacy.undecodable import ENCODING, NOT_DECRYPTED, REASON, UNKNOWN_KEY, GuardedCodec

# Where the key that can read a history is: `make run` wrote its key once, in .data/codec-keys
# (privacy.keys.dev_keys), and a key made anew, even under the same id, reads nothing it wrote.
WHERE_THE_KEY_IS = (
    f"use the key that wrote the histories: for journeys `make run` started, the key it wrote in "
    f".data/codec-keys ({FILE_VARIABLE}=.data/codec-keys); for a deployment, its own {KEYS_VARIABLE}, "
    f"old keys still listed. A new key cannot read them"
)


async def _decode_in_place(message: Message, codec: PayloadCodec) -> None:
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            items = list(value.values()) if field.message_type.fields_by_name["value"].message_type else []
        elif field.is_repeated:
            items = list(value)
        else:
            items = [value]
        for item in items:
            if isinstance(item, Payloads):
                decoded = await codec.decode(list(item.payloads))
                del item.payloads[:]
                item.payloads.extend(decoded)
            elif isinstance(item, Payload):
                [decoded_one] = await codec.decode([item])
                item.CopyFrom(decoded_one)
            elif isinstance(item, Message):
                await _decode_in_place(item, codec)
    if isinstance(message, Failure) and message.HasField("encoded_attributes"):
        # the message and stack trace travel encrypted too (encoded failure attributes)
        try:
            [attributes] = pydantic_data_converter.payload_converter.from_payloads([message.encoded_attributes])
        except Exception:  # not decrypted: the message stays "Encoded failure"
            attributes = None
        if isinstance(attributes, dict):
            message.message = str(attributes.get("message", message.message))
            message.stack_trace = str(attributes.get("stack_trace", message.stack_trace))


async def decoded(history: WorkflowHistory, codec: PayloadCodec | None) -> WorkflowHistory:
    """`history` with its payloads decrypted in place (a fetched history, or a file exported
    from an encrypted namespace); unchanged without a codec."""
    if codec is not None:
        guarded = GuardedCodec(codec)
        for event in history.events:
            await _decode_in_place(event, guarded)
    return history


async def _fetch(client: Client, workflow_id: str, run_id: str | None) -> WorkflowHistory:
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    return await decoded(history, client.data_converter.payload_codec)


async def journey_runs(client: Client, workflow_id: str, run_id: str | None = None) -> list[WorkflowHistory]:
    """The chain that `run_id` (default: the latest run) belongs to, from its first run."""
    known = await _fetch(client, workflow_id, run_id)
    started = known.events[0].workflow_execution_started_event_attributes
    first = started.first_execution_run_id or started.original_execution_run_id
    if not first or first == started.original_execution_run_id:
        runs = [known]
    else:
        runs = [await _fetch(client, workflow_id, first)]
    while (last := runs[-1].events[-1]).event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        next_run = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        runs.append(await _fetch(client, workflow_id, next_run))
    return runs


def unreadable_key(runs: list[WorkflowHistory]) -> str | None:
    """Why a journey's input could not be decrypted with the configured keys (a key id not
    configured, or a key of that id that is not the one that wrote it), or None."""
    for history in runs[:1]:
        started = history.events[0].workflow_execution_started_event_attributes if history.events else None
        for payload in started.input.payloads if started is not None else []:
            metadata = payload.metadata
            if metadata.get("encoding") != ENCODING:
                continue
            kid = metadata.get(KEY_ID, b"").decode(errors="replace")
            if metadata.get(REASON) == UNKNOWN_KEY:
                return f"its payloads are encrypted with key {kid!r}, which {KEYS_VARIABLE} does not hold: {WHERE_THE_KEY_IS}"
            if metadata.get(REASON) == NOT_DECRYPTED:
                return (
                    f"its payloads do not decrypt with the configured key {kid!r} (a key made anew under the "
                    f"same id?): {WHERE_THE_KEY_IS}"
                )
    return None
