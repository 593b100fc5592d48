"""Turning a raw request into verified, parsed, validated data, or a Problem.

Order matters: content type (415), size (413), signature over the raw bytes (401), JSON
(400), schema (422). Nothing reaches Temporal before all of them pass.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, TypeAdapter, ValidationError

from starters.problems import Problem, validation_problem

M = TypeVar("M", bound=BaseModel)


def require_json(request: Request) -> None:
    raw = request.headers.get("content-type", "")
    media = raw.split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            f"expected Content-Type application/json, got {media or 'none'!r}"[:200],
        )


async def read_body(request: Request, limit: int) -> bytes:
    too_large = Problem(413, "body-too-large", "Body too large", f"the body must not exceed {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # chunked bodies have no Content-Length: count as they arrive
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as err:
        # ValueError covers JSONDecodeError, non-UTF-8 bytes and oversized integers.
        detail = (
            f"{err.msg} at line {err.lineno} column {err.colno}"
            if isinstance(err, json.JSONDecodeError)
            else ("nesting too deep" if isinstance(err, RecursionError) else "not valid JSON")
        )
        raise Problem(400, "malformed-json", "Malformed JSON", f"the body is not valid JSON: {detail}") from None


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise validation_problem(err.errors(include_input=False, include_url=False)) from None
    except RecursionError:
        raise Problem(400, "malformed-json", "Malformed JSON", "nesting too deep") from None


def validate_adapter(adapter: TypeAdapter[Any], data: Any) -> Any:
    try:
        return adapter.validate_python(data)
    except ValidationError as err:
        raise validation_problem(err.errors(include_input=False, include_url=False)) from None
