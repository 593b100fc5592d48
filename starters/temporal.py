"""A lazily connected Temporal client whose failures become TemporalUnavailable (-> 503).

The service starts and answers /healthz while Temporal is down; the first request that
needs Temporal connects, and a failed connection is retried by the next request rather
than cached.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import structlog
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client, Interceptor
from temporalio.converter import DataConverter
from temporalio.service import RetryConfig, RPCError, RPCStatusCode

from starters.settings import StarterSettings

log = structlog.get_logger("starters.temporal")

# Statuses that mean "Temporal cannot serve this now": retrying later can succeed.
_TRANSIENT = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.ABORTED,
    RPCStatusCode.INTERNAL,
    RPCStatusCode.UNKNOWN,
    RPCStatusCode.CANCELLED,
}


class TemporalUnavailable(Exception):
    """Temporal could not be reached or did not answer in time."""


class TemporalGateway:
    def __init__(
        self, settings: StarterSettings, converter: DataConverter, interceptors: Sequence[Interceptor] = ()
    ) -> None:
        """`interceptors`: the service's tracing (telemetry/tracing.py), on every call it makes."""
        self._settings = settings
        self._converter = converter
        self._interceptors = list(interceptors)
        self._client: Client | None = None
        self._lock: asyncio.Lock | None = None

    @property
    def rpc_timeout(self) -> timedelta:
        return timedelta(seconds=self._settings.temporal_rpc_timeout_seconds)

    def _connect_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self._settings.temporal_env_config:
            # TLS, API key and profiles from the SDK's environment configuration.
            from temporalio.envconfig import ClientConfig

            try:
                kwargs.update(ClientConfig.load_client_connect_config())
            except Exception as err:  # a broken config file must not hide the address we have
                log.warning("temporal_env_config_ignored", error=type(err).__name__)
        kwargs["target_host"] = self._settings.temporal_address
        kwargs["namespace"] = self._settings.temporal_namespace
        return kwargs

    async def client(self) -> Client:
        if self._client is not None:
            return self._client
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._client is None:
                timeout = self._settings.temporal_rpc_timeout_seconds
                try:
                    self._client = await asyncio.wait_for(
                        Client.connect(
                            **self._connect_kwargs(),
                            data_converter=self._converter,
                            interceptors=self._interceptors,
                            # Bounded retries: a webhook caller waits on them.
                            retry_config=RetryConfig(
                                max_retries=3,
                                max_elapsed_time_millis=int(timeout * 1000),
                            ),
                        ),
                        timeout=timeout,
                    )
                except (TimeoutError, RuntimeError, OSError, RPCError) as err:
                    log.warning(
                        "temporal_connect_failed", address=self._settings.temporal_address, error=type(err).__name__
                    )
                    raise TemporalUnavailable(
                        f"cannot connect to Temporal at {self._settings.temporal_address}"
                    ) from err
                log.info(
                    "temporal_connected",
                    address=self._settings.temporal_address,
                    namespace=self._settings.temporal_namespace,
                )
        return self._client

    @asynccontextmanager
    async def calls(self) -> AsyncIterator[Client]:
        """Yield the client; transient failures and timeouts inside become TemporalUnavailable."""
        client = await self.client()
        try:
            async with asyncio.timeout(self._settings.temporal_rpc_timeout_seconds * 2):
                yield client
        except RPCError as err:
            if err.status in _TRANSIENT:
                raise TemporalUnavailable(f"Temporal call failed: {err.status.name}") from err
            raise
        except TimeoutError as err:
            raise TemporalUnavailable("Temporal did not answer in time") from err
        except RuntimeError as err:
            # The core client reports lost connections as RuntimeError("Failed client connect...")
            if "connect" in str(err).lower():
                raise TemporalUnavailable("Temporal connection lost") from err
            raise

    async def healthy(self) -> tuple[bool, str]:
        try:
            async with self.calls() as client:
                await client.workflow_service.get_system_info(
                    GetSystemInfoRequest(), retry=False, timeout=self.rpc_timeout
                )
        except TemporalUnavailable as err:
            return False, str(err)
        except RPCError as err:
            return False, f"Temporal answered {err.status.name}"
        return True, "reachable"
