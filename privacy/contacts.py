"""A contact's pseudonymous reference: what unsubscribe links, suppression records, signals
and logs carry instead of an email address. Pure (no I/O), so journeys can compute it too."""

from __future__ import annotations

import hashlib


def contact_hash(email: str) -> str:
    """Stable for one address (case and surrounding spaces ignored); 128 bits of SHA-256.
    Pseudonymous, not anonymous: whoever holds an address can recompute it."""
    normalized = email.strip().lower()
    return hashlib.sha256(b"onboarding-contact:" + normalized.encode()).hexdigest()[:32]
