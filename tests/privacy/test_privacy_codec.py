"""The payload codec and its keys: AES-GCM with the key id in the metadata, rotation, and
plain payloads passed through untouched (the recorded corpus, input typed without a codec)."""

import base64

import pytest
from temporalio.api.common.v1 import Payload

from contracts.journey import JourneyInput
from privacy.codec import ENCODING, KEY_ID, EncryptionCodec, PayloadDecryptionError
from privacy.converter import data_converter, data_converter_for
from privacy.keys import CodecConfigError, load_keys, new_key_spec, parse_keys
from replay.corpus import corpus_files, replay_files
from tests.harness.privacy_keys import CONVERTER, KEY_A, KEY_B
from tests.harness.support import make_deal


def codec(spec: str) -> EncryptionCodec:
    return EncryptionCodec(parse_keys(spec))


async def test_every_payload_is_encrypted_with_the_current_key_and_decrypts():
    deal = make_deal("D-9", contacts=[{"email": "ana@acme.example", "name": "Ana Ruiz", "role": "champion"}])
    [payload] = await CONVERTER.encode([JourneyInput(deal_id="D-9", deal=deal)])
    assert payload.metadata["encoding"] == ENCODING
    assert payload.metadata[KEY_ID] == b"test-a"
    raw = payload.SerializeToString()
    for text in (b"ana@acme.example", b"Ana Ruiz", b"Acme Corp", b"json/plain"):
        assert text not in raw
    [back] = await CONVERTER.decode([payload], [JourneyInput])
    assert back.deal == deal


async def test_rotation_new_payloads_use_the_current_key_old_ones_still_decrypt():
    old = await codec(KEY_A).encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"hello"')])
    rotated = codec(f"{KEY_B},{KEY_A}")  # B first: the current key
    [new] = await rotated.encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"again"')])
    assert new.metadata[KEY_ID] == b"test-b" and old[0].metadata[KEY_ID] == b"test-a"
    assert [p.data for p in await rotated.decode([*old, new])] == [b'"hello"', b'"again"']
    # ONBOARDING_CODEC_CURRENT picks the current key without reordering the list
    chosen = EncryptionCodec(parse_keys(f"{KEY_A},{KEY_B}", "test-b"))
    assert chosen.current_key_id == "test-b"
    # a key dropped too early: the payload names the key it needs
    with pytest.raises(PayloadDecryptionError, match="'test-a', which is not configured"):
        await codec(KEY_B).decode(old)


async def test_altered_or_relabelled_ciphertext_does_not_decrypt():
    [payload] = await codec(KEY_A).encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"x"')])
    tampered = Payload()
    tampered.CopyFrom(payload)
    tampered.data = payload.data[:-1] + bytes([payload.data[-1] ^ 1])
    with pytest.raises(PayloadDecryptionError, match="altered"):
        await codec(KEY_A).decode([tampered])
    # the same key bytes under another id: the key id is bound to the ciphertext
    same_key_other_id = "other:" + KEY_A.split(":", 1)[1]
    relabelled = Payload()
    relabelled.CopyFrom(payload)
    relabelled.metadata[KEY_ID] = b"other"
    with pytest.raises(PayloadDecryptionError, match="altered"):
        await codec(same_key_other_id).decode([relabelled])


async def test_plain_payloads_pass_through_decode_untouched():
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"reason": "deal lost"}')
    binary_null = Payload(metadata={"encoding": b"binary/null"})
    assert await codec(KEY_A).decode([plain, binary_null]) == [plain, binary_null]


async def test_the_recorded_plain_corpus_replays_through_the_encrypting_converter():
    files = corpus_files()
    assert len(files) >= 10
    assert await replay_files(files, converter=CONVERTER) == []


async def test_failure_messages_go_through_the_codec():
    from temporalio.api.failure.v1 import Failure
    from temporalio.exceptions import ApplicationError

    failure = Failure()
    await CONVERTER.encode_failure(ApplicationError("customer said: ana@acme.example"), failure)
    assert b"ana@acme.example" not in failure.SerializeToString()
    error = await CONVERTER.decode_failure(failure)
    assert "ana@acme.example" in str(error)


def test_keys_come_from_the_environment_or_the_service_refuses():
    with pytest.raises(CodecConfigError, match="no payload encryption key: set ONBOARDING_CODEC_KEYS"):
        load_keys({})
    assert load_keys({"ONBOARDING_CODEC_KEYS": "plaintext"}) is None
    assert data_converter({"ONBOARDING_CODEC_KEYS": "plaintext"}).payload_codec is None
    keys = load_keys({"ONBOARDING_CODEC_KEYS": f"{KEY_A} {KEY_B}", "ONBOARDING_CODEC_CURRENT": "test-b"})
    assert keys is not None and keys.current == "test-b" and set(keys.keys) == {"test-a", "test-b"}
    assert isinstance(data_converter_for(keys).payload_codec, EncryptionCodec)
    spec = new_key_spec("2026-06")
    assert len(base64.b64decode(spec.split(":")[1])) == 32


def test_key_files_and_bad_keys_are_named_without_their_material(tmp_path):
    path = tmp_path / "keys"
    path.write_text(f"{KEY_B}\n{KEY_A}\n")
    keys = load_keys({"ONBOARDING_CODEC_KEYS_FILE": str(path)})
    assert keys is not None and keys.current == "test-b"
    short = "k1:" + base64.b64encode(b"sixteen-byte-key").decode()
    cases = {
        "k1:not base64!!": "entry #1 (key id 'k1'): the key is not valid base64",
        short: "entry #1 (key id 'k1'): the key must be 32 bytes (AES-256), it is 16",
        f"{KEY_A},{KEY_A}": "entry #2: key id 'test-a' appears twice",
        "no-colon": "entry #1 must be 'key-id:base64-key'",
    }
    for spec, message in cases.items():
        with pytest.raises(CodecConfigError) as err:
            load_keys({"ONBOARDING_CODEC_KEYS": spec})
        assert message in str(err.value)
        assert "c2l4dGVlbi1ieXRlLWtleQ" not in str(err.value)
    with pytest.raises(CodecConfigError, match="ONBOARDING_CODEC_CURRENT: no key with id 'nope'"):
        load_keys({"ONBOARDING_CODEC_KEYS": KEY_A, "ONBOARDING_CODEC_CURRENT": "nope"})
    with pytest.raises(CodecConfigError, match="cannot read"):
        load_keys({"ONBOARDING_CODEC_KEYS_FILE": str(tmp_path / "missing")})
