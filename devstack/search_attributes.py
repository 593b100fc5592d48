"""The custom search attributes a journey sets (DESIGN.md section 4), in one list.

The dev server flags, the reconcile step of `make run`, the docker-compose setup job and the
docs all derive from or are checked against `SEARCH_ATTRIBUTES`.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client

from contracts.search_attributes import ALL, cli_type

# (name, kind), kind spelled as the Temporal CLI accepts it; derived from the workflow's
# own definition so the two can never disagree.
SEARCH_ATTRIBUTES: tuple[tuple[str, str], ...] = tuple((key.name, cli_type(key)) for key in ALL)

_INDEXED_TYPES: dict[str, IndexedValueType.ValueType] = {
    "Text": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Double": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    "KeywordList": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}
_KINDS_BY_TYPE = {v: k for k, v in _INDEXED_TYPES.items()}


def dev_server_flags(attributes: tuple[tuple[str, str], ...] = SEARCH_ATTRIBUTES) -> list[str]:
    """`--search-attribute Name=Kind` pairs for `temporal server start-dev`."""
    flags: list[str] = []
    for name, kind in attributes:
        flags += ["--search-attribute", f"{name}={kind}"]
    return flags


def cli_create_commands(namespace: str = "default") -> list[str]:
    """The commands that register the attributes on an existing cluster."""
    return [
        f"temporal operator search-attribute create --namespace {namespace} --name {name} --type {kind}"
        for name, kind in SEARCH_ATTRIBUTES
    ]


class SearchAttributeConflict(RuntimeError):
    pass


async def registered(client: Client, namespace: str) -> dict[str, str]:
    """Custom search attributes of `namespace` as {name: kind}."""
    resp = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    return {
        name: _KINDS_BY_TYPE.get(value, IndexedValueType.Name(value)) for name, value in resp.custom_attributes.items()
    }


async def ensure_registered(
    client: Client,
    namespace: str,
    attributes: tuple[tuple[str, str], ...] = SEARCH_ATTRIBUTES,
) -> list[str]:
    """Add the attributes the namespace lacks; return the names added.

    Needed because `start-dev --search-attribute` only takes effect when the SQLite file is
    new: on a rerun, attributes added to the list since are silently skipped. The server also
    silently ignores an add for an existing name with another type, so types are compared
    here and a mismatch is an error rather than a journey failing later on upsert.
    """
    have = await registered(client, namespace)
    conflicts = [
        f"{name} is {have[name]}, expected {kind}" for name, kind in attributes if name in have and have[name] != kind
    ]
    if conflicts:
        raise SearchAttributeConflict(
            f"search attributes in namespace {namespace!r} have the wrong type: " + "; ".join(conflicts)
        )
    missing = {name: kind for name, kind in attributes if name not in have}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace,
                search_attributes={n: _INDEXED_TYPES[k] for n, k in missing.items()},
            )
        )
    return list(missing)
