"""RFC 9457 problem details (application/problem+json) for every refused request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "urn:onboarding:problem:"


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class ProblemDetails(BaseModel):
    """The body of every error response (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


class Problem(Exception):
    """Raised anywhere in request handling; rendered as application/problem+json."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {
            "type": _TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = [e.model_dump() for e in self.errors]
        return JSONResponse(body, status_code=self.status, headers=self.headers, media_type=PROBLEM_JSON)


def validation_problem(errors: Sequence[Mapping[str, Any]]) -> Problem:
    """422 naming each invalid field. Input values are left out: they may be contact details."""
    fields = [
        FieldError(
            field=".".join(str(part) for part in err.get("loc", ())) or "(body)",
            message=err.get("msg", "invalid"),
            type=err.get("type", "value_error"),
        )
        for err in errors
    ]
    names = ", ".join(dict.fromkeys(f.field for f in fields))
    return Problem(
        422,
        "invalid-body",
        "The body does not match the schema",
        f"invalid field(s): {names}",
        errors=fields,
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given error statuses."""
    titles = {
        400: "Malformed JSON",
        401: "Missing, invalid or stale signature",
        404: "No journey found for the event (deliver again later)",
        413: "Body larger than the limit",
        415: "Content type is not JSON",
        422: "Body does not match the schema; each invalid field is named",
        429: "Too many events for this journey, or its run's signal limit reached; retry after Retry-After seconds",
        503: "Temporal or the records unreachable; retry after Retry-After seconds",
    }
    return {
        status: {
            "description": titles.get(status, "Problem"),
            "content": {PROBLEM_JSON: {"schema": ProblemDetails.model_json_schema()}},
        }
        for status in statuses
    }
