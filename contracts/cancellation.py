"""Who requested a journey's cancellation, as the server's history records it (v3.8)."""

from __future__ import annotations

from pydantic import Field

from contracts.strict import Carried


class CancellationRequester(Carried):
    """The identity the request's sender gave (the Web UI's signed-in user, a CLI's or SDK
    client's identity), or None where the history has none."""

    identity: str | None = Field(default=None, max_length=100)
