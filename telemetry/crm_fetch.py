"""Counts the failed attempts to read a deal from a CRM (`fetch_<crm>_deal`, contracts/crms.py),
by CRM and error type, for every CRM at once: an interceptor on the journeys' worker, so no
CRM's activity has to count for itself (docs/operations.md "Metrics")."""

from __future__ import annotations

import re
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from contracts import metrics

_FETCH = re.compile(r"^fetch_(?P<crm>[a-z0-9]+)_deal$")


class CrmFetchMetrics(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Counting(next)


class _Counting(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        fetch = _FETCH.match(activity.info().activity_type)
        if fetch is None:
            return await self.next.execute_activity(input)
        try:
            return await self.next.execute_activity(input)
        except Exception as err:
            # the error's type names the failure (e.g. HubSpotUnavailable); never its message
            error = (err.type or "ApplicationError") if isinstance(err, ApplicationError) else type(err).__name__
            m = metrics.CRM_FETCH_ERRORS
            activity.metric_meter().create_counter(m.name, m.description).add(1, {"crm": fetch["crm"], "error": error})
            raise
