"""Metrics endpoints as the tests read them: a free loopback port for a worker's runtime, a
client on the test server that serves its worker's metrics there, and a scrape that sums
the samples matching a metric name and some labels."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from telemetry.worker_metrics import prometheus_runtime
from tests.harness import privacy_keys


def free_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


@dataclass(frozen=True)
class Scrape:
    samples: list[tuple[str, dict[str, str], float]]

    def value(self, name: str, **labels: str) -> float:
        """The sum of `name`'s samples whose labels include `labels` (0 when there is none)."""
        return sum(v for n, ls, v in self.samples if n == name and all(ls.get(k) == x for k, x in labels.items()))

    def names(self) -> set[str]:
        return {n for n, _, _ in self.samples}


async def scrape(url: str) -> Scrape:
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    response.raise_for_status()
    return parse(response.text)


def parse(text: str) -> Scrape:
    """Prometheus' text format, as Prometheus reads it."""
    return Scrape([(s.name, dict(s.labels), s.value) for f in text_string_to_metric_families(text) for s in f.samples])


async def metered_client(env: WorkflowEnvironment) -> tuple[Client, str]:
    """A client on `env`'s server whose workers serve their metrics (as worker.py's do), and
    the URL to scrape them at."""
    address = free_address()
    client = await Client.connect(
        env.client.service_client.config.target_host,
        namespace=env.client.namespace,
        data_converter=privacy_keys.CONVERTER,
        runtime=prometheus_runtime(address),
    )
    return client, f"http://{address}/metrics"
