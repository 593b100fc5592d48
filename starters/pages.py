"""The service's few HTML pages for people (unsubscribe, the staff links): one small shell,
the title escaped, kept out of search engines."""

from __future__ import annotations

import html
from collections.abc import Mapping

from fastapi.responses import HTMLResponse


def page(title: str, body: str, status: int = 200, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """`body` is HTML the caller built (escaping what it quotes)."""
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex"></head>'
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>",
        status_code=status,
        headers=dict(headers or {}),
    )
