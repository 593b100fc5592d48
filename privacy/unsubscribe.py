"""Signed one-click unsubscribe links (RFC 8058).

A token is `<claims>.<signature>`, both base64url: the claims name the journey (workflow id),
the contact (privacy.contacts.contact_hash) and an expiry; the signature is HMAC-SHA256 under
ONBOARDING_UNSUBSCRIBE_SECRET. Several secrets may be configured while one is rotated: the
first signs, any verifies. The token carries no address and no name."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SECRET_VARIABLE = "ONBOARDING_UNSUBSCRIBE_SECRET"
MIN_SECRET_BYTES = 16
# CAN-SPAM wants a link that works for 30 days; journey emails sit in inboxes far longer.
DEFAULT_LIFETIME = timedelta(days=365)
_CONTEXT = b"onboarding-unsubscribe:v1."
MAX_TOKEN_CHARS = 2048
# What the signer writes: two unpadded base64url parts. Anything else is refused before any
# decoding or comparison (hmac.compare_digest refuses non-ASCII text with a TypeError).
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class InvalidToken(ValueError):
    """Forged, altered or malformed: the request changes nothing."""


class ExpiredToken(ValueError):
    """Genuine but past its expiry."""


def parse_secrets(value: str | Sequence[str], *, source: str = SECRET_VARIABLE) -> list[bytes]:
    parts = [p for p in re.split(r"[,\s]+", value.strip()) if p] if isinstance(value, str) else list(value)
    out: list[bytes] = []
    for index, secret in enumerate(parts):
        raw = secret.encode()
        if len(raw) < MIN_SECRET_BYTES:
            raise ValueError(f"{source}: secret #{index + 1} must be at least {MIN_SECRET_BYTES} characters")
        out.append(raw)
    return out


@dataclass(frozen=True)
class UnsubscribeClaim:
    workflow_id: str
    contact_hash: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class UnsubscribeSigner:
    def __init__(self, secrets: Sequence[bytes]) -> None:
        if not secrets:
            raise ValueError(f"{SECRET_VARIABLE} is not set: customer emails need a signed unsubscribe link")
        self._secrets = list(secrets)

    def _sign(self, secret: bytes, claims: str) -> str:
        return _b64(hmac.new(secret, _CONTEXT + claims.encode(), hashlib.sha256).digest())

    def token(self, workflow_id: str, contact_hash: str, expires_at: datetime) -> str:
        body = {"w": workflow_id, "c": contact_hash, "e": int(expires_at.timestamp())}
        claims = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{claims}.{self._sign(self._secrets[0], claims)}"

    def verify(self, token: str, now: datetime | None = None) -> UnsubscribeClaim:
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or not _TOKEN.fullmatch(token):
            raise InvalidToken("malformed token")
        claims, _, signature = token.partition(".")
        # Every secret is tried, always: the time taken does not tell which one matched.
        if not any([hmac.compare_digest(signature.encode(), self._sign(s, claims).encode()) for s in self._secrets]):
            raise InvalidToken("signature does not match")
        try:
            body = json.loads(_unb64(claims))
            claim = UnsubscribeClaim(
                workflow_id=str(body["w"]),
                contact_hash=str(body["c"]),
                expires_at=datetime.fromtimestamp(int(body["e"]), UTC),
            )
        except (binascii.Error, ValueError, KeyError, TypeError, OverflowError):
            raise InvalidToken("malformed claims") from None
        if claim.expires_at < (now or datetime.now(UTC)):
            raise ExpiredToken("link expired")
        return claim


def list_unsubscribe_headers(public_url: str, token: str) -> dict[str, str]:
    """The two headers of RFC 8058 one-click unsubscribe."""
    return {
        "List-Unsubscribe": f"<{public_url.rstrip('/')}/unsubscribe/{token}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
