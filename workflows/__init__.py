"""Deterministic journey logic: the OnboardingWorkflow, its parts and pure decisions (the
shapes it exchanges with the world: contracts/)."""

from __future__ import annotations

from types import ModuleType


def __getattr__(name: str) -> ModuleType:
    """`from workflows import decisions` imports the submodule through `__import__`.

    Inside the workflow sandbox this package is a fresh copy, and Python resolves such a
    "from package import submodule" with its internal import machinery, bypassing the
    sandbox's importer: the submodule was executed again for every journey, even inside
    `workflow.unsafe.imports_passed_through()`. Asking `__import__` (the sandbox's importer
    while a workflow is loaded) keeps the pass-through the workflow asks for; outside the
    sandbox it is an ordinary import."""
    if name.startswith("__"):
        raise AttributeError(name)
    qualified = f"{__name__}.{name}"
    try:
        __import__(qualified)
    except ModuleNotFoundError as err:
        if err.name != qualified:
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    module: ModuleType = globals()[name]
    return module
