"""The OpenAPI document (/openapi.json, /docs).

Webhook bodies are read raw (their signature covers the exact bytes), so FastAPI does not see
their models: a route names its body with `request_body(name, schema)`, and `document` adds the
schemas the app's routes name to the document's components."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, TypeAdapter

_REF = "#/components/schemas/"
# name -> the model or TypeAdapter of a body documented by hand
_BODIES: dict[str, type[BaseModel] | TypeAdapter[Any]] = {}


def request_body(name: str, schema: type[BaseModel] | TypeAdapter[Any]) -> dict[str, Any]:
    """`openapi_extra` of a route whose JSON body is `schema`, shown as components/schemas/<name>."""
    _BODIES[name] = schema
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": _REF + name}}}}}


def document(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    named, defs = TypeAdapter.json_schemas(
        [(name, "validation", _adapter(_BODIES[name])) for name in _body_names(schema)], ref_template=_REF + "{model}"
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(defs.get("$defs", {}))
    for (name, _), body in named.items():
        if body.get("$ref") != _REF + name:  # a model of that name is among the $defs already
            components[name] = body
    app.openapi_schema = schema
    return schema


def _body_names(schema: dict[str, Any]) -> list[str]:
    """The hand-documented bodies the document's operations refer to, in order."""
    names: dict[str, None] = {}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
            if ref.startswith(_REF) and ref[len(_REF) :] in _BODIES:
                names[ref[len(_REF) :]] = None
    return list(names)


def _adapter(body: type[BaseModel] | TypeAdapter[Any]) -> TypeAdapter[Any]:
    return body if isinstance(body, TypeAdapter) else TypeAdapter(body)
