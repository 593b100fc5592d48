"""What Segment signs, checked against requests built by Segment's own signing code.

segmentio/action-destinations, packages/destination-actions/src/destinations/webhook/index.ts
(`extendRequest`): `X-Signature` = hex HMAC-SHA1 of `JSON.stringify(payload[0].data)`;
send/index.ts: `perform` posts `json: payload.data` (one call), `performBatch` posts
`json: payload.map(({ data }) => data)` (a batch). tests/fixtures/vendors/segment/signed-batch.js
runs that code's steps under Node to write signed-batch.json (the body, byte for byte) and
signed-batch.sig (the header). No server needed."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from starters.segment import first_call_bytes, sign_segment, verify_segment
from starters.signatures import SignatureError
from tests.harness.vendor_fixtures import OLD_SEGMENT_SECRET, SEGMENT_SECRET, fixture

BATCH = fixture("segment/signed-batch.json")
SIGNATURE = fixture("segment/signed-batch.sig").decode().strip()
SECRETS = [OLD_SEGMENT_SECRET, SEGMENT_SECRET]


def test_a_batch_is_verified_by_its_first_call_as_segment_signs_it() -> None:
    verify_segment(SECRETS, BATCH, {"X-Signature": SIGNATURE})
    # the signature is not of the body: the body form alone would have refused this batch
    assert hmac.new(SEGMENT_SECRET.encode(), BATCH, hashlib.sha1).hexdigest() != SIGNATURE


def test_the_first_call_is_compared_as_javascript_wrote_it() -> None:
    """JSON.stringify writes 1e-7, 1e+21, 123 for 123.0, 0 for -0, a 20-digit integer
    rounded to a double, non-ASCII and U+2028 unescaped; json.dumps writes none of these
    the same way, so re-serialising the parsed call could never match."""
    first = json.loads(BATCH)[0]
    for rewritten in (
        json.dumps(first, separators=(",", ":"), ensure_ascii=False),
        json.dumps(first, separators=(",", ":")),
        json.dumps(first),
    ):
        with pytest.raises(SignatureError):
            verify_segment(SECRETS, b"[" + rewritten.encode() + b"]", {"X-Signature": SIGNATURE})
    raw = first_call_bytes(BATCH)
    assert raw is not None and b'"tiny":1e-7,"huge":1e+21,"whole":123,"negative_zero":0' in raw
    assert "東京 🎉 a/b \u2028".encode() in raw
    assert hmac.new(SEGMENT_SECRET.encode(), raw, hashlib.sha1).hexdigest() == SIGNATURE


def test_one_call_is_verified_by_its_body() -> None:
    call = first_call_bytes(BATCH)
    assert call is not None
    verify_segment(SECRETS, call, {"X-Signature": SIGNATURE})  # `perform`: body = the one call
    verify_segment(SECRETS, BATCH, sign_segment(OLD_SEGMENT_SECRET, BATCH))  # a whole-body signature


def test_a_changed_first_call_is_refused() -> None:
    changed = BATCH.replace(b"ajs-next-batch-signed-0001", b"ajs-next-batch-signed-0009")
    with pytest.raises(SignatureError):
        verify_segment(SECRETS, changed, {"X-Signature": SIGNATURE})
    # whitespace around the first call is not part of what was signed
    spaced = b"[ \n" + BATCH[1:].replace(b"},{", b"} , {", 1)
    verify_segment(SECRETS, spaced, {"X-Signature": SIGNATURE})


@pytest.mark.parametrize("body", [b"", b"[", b"[]", b"{}", b"[1", b'["\xff"]', b"[" * 100_000])
def test_bodies_without_a_first_call_have_no_first_call_signature(body: bytes) -> None:
    with pytest.raises(SignatureError):
        verify_segment(SECRETS, body, {"X-Signature": SIGNATURE})
