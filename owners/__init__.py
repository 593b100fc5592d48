"""Owners: who is accountable for a journey. The roster file (roster.py, owners.yaml), the
owner-roster workflow that hands out places (workflow.py, places.py), the owner activities
(activities.py), the roster's client (client.py) and `onboarding roster-sync` (sync.py)."""

from __future__ import annotations

from types import ModuleType
from typing import cast


def __getattr__(name: str) -> ModuleType:
    """`from owners import places` imports the submodule through `__import__`, so inside the
    workflow sandbox (which re-imports the roster workflow's module, and this package with
    it) the pass-through the workflow asks for holds: see workflows/__init__.py."""
    if name.startswith("__"):
        raise AttributeError(name)
    qualified = f"{__name__}.{name}"
    try:
        __import__(qualified)
    except ModuleNotFoundError as err:
        if err.name != qualified:
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return cast(ModuleType, globals()[name])
