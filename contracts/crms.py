"""The CRMs journeys start from: one line each in `CRMS`.

A line names the CRM and where its parts are. The name is a wire value kept in workflow
histories (`JourneyInput.crm`, the `deal_in_crm` signal, the activity `fetch_<name>_deal`):
never rename one. The parts are `module` or `module:attribute` references, imported only
where they are used, so this module imports nothing of the project and the journey's `Crm`
type is built from it:

- `routes`: the CRM's webhook module (starters/routes/<name>.py): its `router` is included
  in the HTTP app, and its `unconfigured(service)` names what is missing for the endpoint to
  accept anything, as (log event, detail), logged as a warning when the service starts;
- `fetch`: for a CRM whose webhook carries only the deal's id, the factory of the worker's
  activity that reads the deal (`fetch_<name>_deal`, activities/<name>.py); the CRM's
  name is then a `Crm`, which a journey can be started with and told in `deal_in_crm`;
- `lab_stub`: what the lab answers that activity with, a `function(world, request)`;
  None: the persona's deal, as every CRM would describe it (lab/world.py).

Adding a CRM: docs/http.md, "Adding a CRM".
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal


@dataclass(frozen=True)
class CrmEntry:
    name: str
    routes: str
    fetch: str | None = None
    lab_stub: str | None = None

    @property
    def fetch_activity(self) -> str | None:
        """The name the journey calls the deal-reading activity by (workflows/effects.py)."""
        return f"fetch_{self.name}_deal" if self.fetch else None


CRMS: tuple[CrmEntry, ...] = (
    CrmEntry("hubspot", routes="starters.routes.hubspot", fetch="activities.hubspot:hubspot_activities"),
    CrmEntry("salesforce", routes="starters.routes.salesforce"),
    CrmEntry("pipedrive", routes="starters.routes.pipedrive", fetch="activities.pipedrive:pipedrive_activities"),
)

# The CRMs a journey reads its deal from, in registry order.
FETCHING: tuple[str, ...] = tuple(c.name for c in CRMS if c.fetch)

if TYPE_CHECKING:
    Crm = str  # a Literal built at run time is beyond the type checker; pydantic checks the values
else:
    Crm = Literal[FETCHING]


def resolve(reference: str) -> Any:
    """`package.module` or `package.module:attribute` -> the module or the attribute."""
    module, _, attribute = reference.partition(":")
    found: Any = importlib.import_module(module)
    for part in attribute.split(".") if attribute else ():
        found = getattr(found, part)
    return found
