"""Payload encryption keys, read from the environment.

    ONBOARDING_CODEC_KEYS="2026-06:BASE64KEY,2026-01:BASE64KEY"   (first = current)
    ONBOARDING_CODEC_CURRENT=2026-06                              (optional: which one encrypts)
    ONBOARDING_CODEC_KEYS_FILE=/run/secrets/codec-keys            (same format, one or more lines)

Each key is 32 random bytes (AES-256), base64. New payloads are encrypted with the current
key; payloads written with any listed key still decrypt, so a key is rotated by putting the
new one first and keeping the old ones until no history needs them. `plaintext` as the
whole value runs without encryption, deliberately (a throwaway local test)."""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

KEYS_VARIABLE = "ONBOARDING_CODEC_KEYS"
CURRENT_VARIABLE = "ONBOARDING_CODEC_CURRENT"
FILE_VARIABLE = "ONBOARDING_CODEC_KEYS_FILE"
PLAINTEXT = "plaintext"

_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
KEY_BYTES = 32


class CodecConfigError(ValueError):
    """The key configuration cannot be used. The message names the variable and the key id,
    never the key material."""


@dataclass(frozen=True)
class CodecKeys:
    keys: Mapping[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise CodecConfigError(f"{CURRENT_VARIABLE}: no key with id {self.current!r} is configured")

    def spec(self) -> str:
        """The value of ONBOARDING_CODEC_KEYS that configures exactly these keys, current first."""
        order = [self.current, *(k for k in self.keys if k != self.current)]
        return ",".join(f"{kid}:{base64.b64encode(self.keys[kid]).decode()}" for kid in order)


def new_key_spec(key_id: str) -> str:
    """A fresh random key as `kid:base64`, e.g. for .data/ or a secrets manager."""
    if not _KEY_ID.match(key_id):
        raise CodecConfigError(f"key id {key_id!r}: letters, digits, '.', '_' or '-', at most 64")
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def parse_keys(spec: str, current: str | None = None, *, source: str = KEYS_VARIABLE) -> CodecKeys:
    """Parse `kid:base64key` entries separated by commas, spaces or newlines."""
    keys: dict[str, bytes] = {}
    for index, entry in enumerate(e for e in re.split(r"[,\s]+", spec.strip()) if e):
        kid, sep, material = entry.partition(":")
        where = f"{source}: entry #{index + 1}"
        if not sep or not _KEY_ID.match(kid):
            raise CodecConfigError(
                f"{where} must be 'key-id:base64-key' with a key id of letters, digits, '.', '_' or '-'"
            )
        if kid in keys:
            raise CodecConfigError(f"{where}: key id {kid!r} appears twice")
        try:
            raw = base64.b64decode(material, validate=True)
        except (binascii.Error, ValueError):
            raise CodecConfigError(f"{where} (key id {kid!r}): the key is not valid base64") from None
        if len(raw) != KEY_BYTES:
            raise CodecConfigError(
                f"{where} (key id {kid!r}): the key must be {KEY_BYTES} bytes (AES-256), it is {len(raw)}"
            )
        keys[kid] = raw
    if not keys:
        raise CodecConfigError(f"{source}: no keys")
    return CodecKeys(keys=keys, current=current or next(iter(keys)))


def load_keys(env: Mapping[str, str] | None = None) -> CodecKeys | None:
    """The configured keys; None when the configuration says `plaintext`. Raises
    CodecConfigError when nothing is configured: payloads are never left in plain text by
    omission."""
    env = os.environ if env is None else env
    spec = env.get(KEYS_VARIABLE, "").strip()
    source = KEYS_VARIABLE
    path = env.get(FILE_VARIABLE, "").strip()
    if path:
        if spec:
            raise CodecConfigError(f"set {KEYS_VARIABLE} or {FILE_VARIABLE}, not both")
        try:
            spec = Path(path).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise CodecConfigError(f"{FILE_VARIABLE}: cannot read {path}: {err.strerror}") from None
        source = f"{FILE_VARIABLE} ({path})"
    if not spec:
        raise CodecConfigError(
            f"no payload encryption key: set {KEYS_VARIABLE}='key-id:base64-of-32-bytes' (or {FILE_VARIABLE}); "
            f"`python -m privacy.keys new KEY-ID` makes one; {KEYS_VARIABLE}={PLAINTEXT} runs unencrypted"
        )
    if spec == PLAINTEXT:
        return None
    return parse_keys(spec, env.get(CURRENT_VARIABLE, "").strip() or None, source=source)


def dev_keys(data_dir: Path) -> str:
    """`make run`'s key: made once under the data dir, then reused, so the local history
    stays readable across reruns. Returns the ONBOARDING_CODEC_KEYS value."""
    path = data_dir / "codec-keys"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(new_key_spec("dev-1") + "\n")
    return path.read_text(encoding="utf-8").strip()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m privacy.keys", description="Make a payload encryption key.")
    sub = parser.add_subparsers(dest="command", required=True)
    new = sub.add_parser("new", help="print a new key as KEY-ID:BASE64 for ONBOARDING_CODEC_KEYS")
    new.add_argument("key_id")
    args = parser.parse_args(argv)
    print(new_key_spec(args.key_id))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
