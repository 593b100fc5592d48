"""The worker's reading of payloads it cannot decode (privacy.undecodable): markers instead of
codec errors, `Undecodable` where the workflow asked for no type, a clear error where it
asked for one, and reasons that never repeat what the sender wrote."""

from __future__ import annotations

import dataclasses
import os

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.common import RawValue
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DefaultPayloadConverter
from temporalio.exceptions import ApplicationError

from contracts.signals import Cancel
from privacy.undecodable import (
    ENCODING,
    GuardedCodec,
    Undecodable,
    UndecodablePayloadError,
    WorkflowPayloadConverter,
    workflow_converter,
)
from runtime.context_free import context_free
from tests.harness.privacy_keys import CONVERTER, KEY_B, converter

WORKER = workflow_converter(CONVERTER)
CUSTOMER = b"Ana Ruiz ana@acme.example"


def raw(encoding: bytes, data: bytes = b"", **metadata: bytes) -> Payload:
    return Payload(metadata={"encoding": encoding, **metadata}, data=data)


async def read(payloads: list[Payload]) -> list[object]:
    """What a handler that asks for no type receives, as the worker decodes and converts."""
    return WORKER.payload_converter.from_payloads(await WORKER.payload_codec.decode(payloads))  # type: ignore[union-attr]


async def test_what_cannot_be_decoded_is_read_as_undecodable_with_the_reason():
    [ours] = await CONVERTER.encode([Cancel(reason="x")])
    [under_b] = await converter(KEY_B).encode([Cancel(reason="x")])
    altered = Payload()
    altered.CopyFrom(ours)
    altered.data = ours.data[:-1] + bytes([ours.data[-1] ^ 1])
    [not_json] = await CONVERTER.encode([RawValue(raw(b"json/plain", b'{"reason": "' + CUSTOMER))])
    cases = {
        "ours": (ours, {"reason": "x"}),
        "unknown key": (under_b, Undecodable("input could not be decrypted (key 'test-b' is not configured)")),
        "no key": (
            raw(b"binary/encrypted", os.urandom(40)),
            Undecodable("input could not be decrypted (it names no key)"),
        ),
        "random under our key": (
            raw(b"binary/encrypted", os.urandom(40), **{"encryption-key-id": b"test-a"}),
            Undecodable("input could not be decrypted (it was altered, or not encrypted with key 'test-a')"),
        ),
        "altered": (
            altered,
            Undecodable("input could not be decrypted (it was altered, or not encrypted with key 'test-a')"),
        ),
        "not JSON, plain": (raw(b"json/plain", CUSTOMER), Undecodable("input is not valid JSON")),
        "not JSON, encrypted": (not_json, Undecodable("input is not valid JSON")),
        "unknown encoding": (
            raw(b"application/x-v9", b"{}"),
            Undecodable("input has an encoding this worker does not read ('application/x-v9')"),
        ),
        # what the sender chose is shown only when it cannot be anything but a name
        "key id with text": (
            raw(b"binary/encrypted", b"x", **{"encryption-key-id": CUSTOMER}),
            Undecodable("input could not be decrypted (the key it names is not configured)"),
        ),
        "encoding with text": (raw(CUSTOMER), Undecodable("input has an encoding this worker does not read")),
        "a marker sent from outside": (
            raw(ENCODING, **{"undecodable-reason": CUSTOMER}),
            Undecodable("input could not be decoded"),
        ),
        "binary": (raw(b"binary/plain", b"\x00"), b"\x00"),
        "null": (raw(b"binary/null"), None),
    }
    values = await read([payload for payload, _ in cases.values()])
    assert dict(zip(cases, values, strict=True)) == {name: expected for name, (_, expected) in cases.items()}


async def test_the_guard_hands_back_what_the_codec_decodes_and_writes_what_it_writes():
    payloads = await CONVERTER.encode([Cancel(reason="a"), {"b": 1}])
    guarded = WORKER.payload_codec
    assert isinstance(guarded, GuardedCodec)
    assert await guarded.decode(payloads) == await CONVERTER.payload_codec.decode(payloads)
    # what the worker writes, a client reads: the same keys, the same converter
    written = await WORKER.encode([Cancel(reason="c")])
    assert await CONVERTER.decode(written, [Cancel]) == [Cancel(reason="c")]
    # the worker's converter still lets the sandbox skip serialization contexts (runtime/context_free.py)
    assert context_free(WORKER) and context_free(workflow_converter(pydantic_data_converter))
    assert workflow_converter(WORKER) is WORKER


async def test_where_a_type_is_asked_for_a_marker_raises_and_so_does_a_failure_carrying_one():
    [under_b] = await WORKER.payload_codec.decode(await converter(KEY_B).encode([Cancel(reason="x")]))
    assert under_b.metadata["encoding"] == ENCODING
    with pytest.raises(UndecodablePayloadError, match=r"^payload could not be decrypted \(key 'test-b'"):
        WORKER.payload_converter.from_payloads([under_b], [Cancel])

    failure = Failure()
    CONVERTER.failure_converter.to_failure(ApplicationError("boom", "detail"), CONVERTER.payload_converter, failure)
    assert isinstance(WORKER.failure_converter.from_failure(failure, WORKER.payload_converter), ApplicationError)
    for field in ("encoded_attributes", "details"):
        marked = Failure()
        marked.CopyFrom(failure)
        if field == "encoded_attributes":
            marked.encoded_attributes.CopyFrom(under_b)
        else:
            marked.application_failure_info.details.payloads[0].CopyFrom(under_b)
        with pytest.raises(UndecodablePayloadError, match=r"^failure could not be decrypted"):
            WORKER.failure_converter.from_failure(marked, WORKER.payload_converter)


async def test_without_keys_an_encrypted_input_is_one_this_worker_does_not_read():
    plaintext = workflow_converter(pydantic_data_converter)
    assert plaintext.payload_codec is None and plaintext.payload_converter_class is WorkflowPayloadConverter
    [value] = plaintext.payload_converter.from_payloads([raw(b"binary/encrypted", b"x")])
    assert value == Undecodable("input has an encoding this worker does not read ('binary/encrypted')")


def test_only_the_converter_it_knows_is_wrapped():
    with pytest.raises(TypeError, match="pydantic payload converter"):
        workflow_converter(dataclasses.replace(CONVERTER, payload_converter_class=DefaultPayloadConverter))
