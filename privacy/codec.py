"""EncryptionCodec: every payload encrypted with AES-256-GCM before it leaves the process.

An encrypted payload carries `encoding: binary/encrypted` and `encryption-key-id: <kid>` in
its metadata; its data is the 12-byte nonce followed by the ciphertext and tag of the whole
original Payload message (metadata included, so the encoding of the value is hidden too). The
key id is bound to the ciphertext as associated data: a payload relabelled with another key
id does not decrypt.

Decoding passes payloads that are not `binary/encrypted` through untouched. That is what lets
histories recorded before encryption (tests/histories/) replay, and input typed into the Web
UI without the codec server still reach the journey; it never turns ciphertext into plain
text by mistake, because an encrypted payload that cannot be decrypted raises. Workers and
replayers read through `privacy.undecodable`, which turns that error into an input the journey
refuses instead of a workflow task that fails."""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from privacy.keys import CodecKeys

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class PayloadDecryptionError(ValueError):
    """An encrypted payload that cannot be decrypted: unknown key id or altered bytes.
    `key_id` is the payload's own label (the sender's bytes, not checked); `unknown_key` tells
    the two cases apart for privacy.undecodable."""

    def __init__(self, message: str, *, key_id: bytes, unknown_key: bool) -> None:
        super().__init__(message)
        self.key_id = key_id
        self.unknown_key = unknown_key


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: CodecKeys) -> None:
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.keys.items()}
        self._current = keys.current
        self._current_cipher = self._ciphers[keys.current]
        self._current_label = keys.current.encode()

    @property
    def current_key_id(self) -> str:
        return self._current

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._current_cipher.encrypt(nonce, payload.SerializeToString(), self._current_label)
        return Payload(metadata={"encoding": ENCODING, KEY_ID: self._current_label}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # not ours: recorded before encryption, or typed in plain text
        label = payload.metadata.get(KEY_ID, b"")
        kid = label.decode(errors="replace")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise PayloadDecryptionError(
                f"payload encrypted with key {kid!r}, which is not configured (ONBOARDING_CODEC_KEYS "
                f"has {sorted(self._ciphers)}): keep old keys listed until no history needs them",
                key_id=label,
                unknown_key=True,
            )
        data = payload.data
        try:
            plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], label)
        except InvalidTag:
            raise PayloadDecryptionError(
                f"payload under key {kid!r} does not decrypt: it was altered", key_id=label, unknown_key=False
            ) from None
        return Payload.FromString(plain)
