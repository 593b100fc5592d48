"""Request signatures: Standard Webhooks (generic endpoints) and HubSpot v3.

Both verify the raw body bytes as received, before any parsing, and compare in constant
time. A failure raises SignatureError whose reason is safe to return and to log (it never
contains the secret, the expected signature or the body).
"""

from __future__ import annotations

import binascii
import re
import time
from collections.abc import Mapping, Sequence

from hubspot.exceptions import InvalidSignatureTimestampError
from hubspot.utils.signature import Signature
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

TOLERANCE_SECONDS = 5 * 60
STANDARD_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
HUBSPOT_SIGNATURE_HEADER = "x-hubspot-signature-v3"
HUBSPOT_TIMESTAMP_HEADER = "x-hubspot-request-timestamp"


class SignatureError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StandardWebhookVerifier:
    """Standard Webhooks: `v1,<base64 HMAC-SHA256(secret, "id.timestamp.body")>`, 5-minute
    tolerance (the library's), any of several secrets (rotation)."""

    def __init__(self, secrets: Sequence[str]) -> None:
        self._hooks = [Webhook(secret) for secret in secrets]

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
        reason = "no matching signature"
        for hook in self._hooks:
            try:
                hook.verify(text, wanted, json_parse=False)  # type: ignore[arg-type]
                return wanted["webhook-id"] or ""
            except WebhookVerificationError as err:
                reason = _standard_reason(str(err))
            except (ValueError, binascii.Error, TypeError, UnicodeError):
                # "v1,<sig>" entries that do not split or decode
                reason = "malformed webhook-signature header"
        raise SignatureError(reason)


def _standard_reason(message: str) -> str:
    known = {
        "Message timestamp too old": "webhook-timestamp is older than 5 minutes",
        "Message timestamp too new": "webhook-timestamp is more than 5 minutes in the future",
        "Invalid Signature Headers": "webhook-timestamp is not a Unix time in seconds",
        "No matching signature found": "no matching signature",
    }
    return known.get(message, "signature verification failed")


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
    X-HubSpot-Request-Timestamp in milliseconds no more than 5 minutes away from now."""
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
    try:
        valid = Signature.is_valid(
            signature=signature,
            client_secret=secret,
            request_body=text,
            http_uri=hubspot_signed_uri(uri),
            http_method=method.upper(),
            signature_version="v3",
            timestamp=timestamp,
        )
    except InvalidSignatureTimestampError:
        raise SignatureError("X-HubSpot-Request-Timestamp is older than 5 minutes") from None
    if not valid:
        raise SignatureError("no matching signature")


def sign_standard(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Headers of a Standard Webhooks delivery (for tests, the benchmark and local tools)."""
    from datetime import datetime, timezone

    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, tz=timezone.utc), body.decode("utf-8"))
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
