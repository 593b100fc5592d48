"""The OpenAPI document (/openapi.json, /docs).

Webhook bodies are read raw (their signature covers the exact bytes), so FastAPI does not see
their models: a route names its body with `request_body(name, schema)`, and `document` adds
every schema so named to the document's components."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, TypeAdapter

# name -> the model or TypeAdapter of a body documented by hand, in the order routes named them
_BODIES: dict[str, type[BaseModel] | TypeAdapter[Any]] = {}


def request_body(name: str, schema: type[BaseModel] | TypeAdapter[Any]) -> dict[str, Any]:
    """`openapi_extra` of a route whose JSON body is `schema`, shown as components/schemas/<name>."""
    _BODIES[name] = schema
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    }


def document(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    named, defs = TypeAdapter.json_schemas(
        [(name, "validation", _adapter(body)) for name, body in _BODIES.items()],
        ref_template="#/components/schemas/{model}",
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(defs.get("$defs", {}))
    for (name, _), body in named.items():
        # a model of that name is among the $defs already; a list (a batch) is not
        if body.get("$ref") != f"#/components/schemas/{name}":
            components[name] = body
    app.openapi_schema = schema
    return schema


def _adapter(body: type[BaseModel] | TypeAdapter[Any]) -> TypeAdapter[Any]:
    return body if isinstance(body, TypeAdapter) else TypeAdapter(body)
