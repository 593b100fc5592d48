"""Request signatures: Standard Webhooks (generic endpoints) and HubSpot v3.

Both verify the raw body bytes as received, before any parsing, and compare in constant
time. A failure raises SignatureError whose reason is safe to return and to log (it never
contains the secret, the expected signature or the body).
"""

from __future__ import annotations

import binascii
import hmac
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from hubspot.utils.signature import Signature
from standardwebhooks.webhooks import Webhook

TOLERANCE_SECONDS = 5 * 60
# Unix time in seconds: time.time in production; tests freeze it to check the window's edges.
Clock = Callable[[], float]
STANDARD_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
HUBSPOT_SIGNATURE_HEADER = "x-hubspot-signature-v3"
HUBSPOT_TIMESTAMP_HEADER = "x-hubspot-request-timestamp"


class SignatureError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StandardWebhookVerifier:
    """Standard Webhooks: `v1,<base64 HMAC-SHA256(secret, "id.timestamp.body")>`, 5-minute
    tolerance, any of several secrets (rotation).

    The library signs (Webhook.sign); the window is checked here, against `clock`: the
    library's own verify reads datetime.now() with no way to pass a time, so its window could
    not be tested at its edges."""

    def __init__(self, secrets: Sequence[str], clock: Clock = time.time) -> None:
        self._hooks = [Webhook(secret) for secret in secrets]
        self._clock = clock

    def verify(self, body: bytes, headers: Mapping[str, str]) -> str:
        """Return the delivery's webhook-id, or raise SignatureError."""
        if not self._hooks:
            raise SignatureError("no webhook secret is configured on this service")
        lowered = {k.lower(): v for k, v in headers.items()}
        wanted = {name: lowered.get(name) for name in STANDARD_HEADERS}
        missing = [name for name, value in wanted.items() if not value]
        if missing:
            raise SignatureError(f"missing header(s): {', '.join(missing)}")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise SignatureError("body is not UTF-8, so its signature cannot be checked") from None
        msg_id, timestamp_header, signatures = (wanted[name] or "" for name in STANDARD_HEADERS)
        timestamp = self._timestamp_within_window(timestamp_header)
        try:
            passed = [s.encode() for s in signatures.split(" ")]
            # Every secret and every passed signature is compared, always (constant time).
            matched = [
                hmac.compare_digest(hook.sign(msg_id, timestamp, text).encode(), candidate)
                for hook in self._hooks
                for candidate in passed
            ]
        except (ValueError, binascii.Error, TypeError, UnicodeError):
            raise SignatureError("malformed webhook-signature header") from None
        if not any(matched):
            raise SignatureError("no matching signature")
        return msg_id

    def _timestamp_within_window(self, header: str) -> datetime:
        """The library's reading of webhook-timestamp (a float of seconds), and its bounds
        (inclusive) around this verifier's clock."""
        try:
            timestamp = datetime.fromtimestamp(float(header), tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise SignatureError("webhook-timestamp is not a Unix time in seconds") from None
        now = datetime.fromtimestamp(self._clock(), tz=UTC)
        tolerance = timedelta(seconds=TOLERANCE_SECONDS)
        if timestamp < now - tolerance:
            raise SignatureError("webhook-timestamp is older than 5 minutes")
        if timestamp > now + tolerance:
            raise SignatureError("webhook-timestamp is more than 5 minutes in the future")
        return timestamp


# HubSpot decodes these percent-escapes in the URI before signing (their v3 documentation).
_HUBSPOT_DECODE = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
_ESCAPE = re.compile("|".join(_HUBSPOT_DECODE), re.IGNORECASE)


def hubspot_signed_uri(uri: str) -> str:
    return _ESCAPE.sub(lambda m: _HUBSPOT_DECODE[m.group(0).upper()], uri)


def verify_hubspot_v3(
    *,
    secret: str | None,
    method: str,
    uri: str,
    body: bytes,
    headers: Mapping[str, str],
    now: float | None = None,
) -> None:
    """HubSpot v3: base64 HMAC-SHA256(app secret, method + URI + body + timestamp), with
    X-HubSpot-Request-Timestamp in milliseconds no more than 5 minutes away from `now` (Unix
    seconds; the real clock unless given). The window is checked here only: the library's
    Signature.is_valid checks its own against datetime.now(), so the signature is computed
    with Signature.get_signature and compared here."""
    if not secret:
        raise SignatureError("no HubSpot client secret is configured on this service")
    lowered = {k.lower(): v for k, v in headers.items()}
    signature = lowered.get(HUBSPOT_SIGNATURE_HEADER)
    timestamp = lowered.get(HUBSPOT_TIMESTAMP_HEADER)
    if not signature or not timestamp:
        raise SignatureError("missing header(s): X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp are required")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 16:
        raise SignatureError("X-HubSpot-Request-Timestamp is not a Unix time in milliseconds")
    age_ms = (time.time() if now is None else now) * 1000 - int(timestamp)
    if age_ms > TOLERANCE_SECONDS * 1000:
        raise SignatureError("X-HubSpot-Request-Timestamp is older than 5 minutes")
    if age_ms < -TOLERANCE_SECONDS * 1000:
        raise SignatureError("X-HubSpot-Request-Timestamp is more than 5 minutes in the future")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureError("body is not UTF-8, so its signature cannot be checked") from None
    if not signature.isascii():
        raise SignatureError("no matching signature")
    expected = Signature.get_signature(secret, text, "v3", hubspot_signed_uri(uri), method.upper(), timestamp)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureError("no matching signature")


def sign_standard(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Headers of a Standard Webhooks delivery (for tests, the benchmark and local tools)."""
    from datetime import datetime

    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, tz=UTC), body.decode("utf-8"))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def sign_hubspot_v3(secret: str, method: str, uri: str, body: bytes, timestamp_ms: int) -> dict[str, str]:
    """Headers of a HubSpot v3-signed request (for tests and local tools)."""
    signature = Signature.get_signature(
        secret, body.decode("utf-8"), "v3", hubspot_signed_uri(uri), method.upper(), str(timestamp_ms)
    )
    return {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": str(timestamp_ms)}
