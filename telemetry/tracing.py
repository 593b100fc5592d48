"""OpenTelemetry traces for the worker and the HTTP service, configured by the standard
`OTEL_*` variables: one trace runs from a webhook's request through the journey's start,
its workflow tasks and its activities (docs/operations.md "Traces").

On when OTEL_TRACES_EXPORTER names an exporter (`otlp`, `console`) or an OTLP endpoint is
set (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); off with
OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. The OTLP exporter (HTTP/protobuf)
reads its own settings (endpoint, headers, timeout) from the same variables, and
OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES name the process.

What a span carries: span names (route templates, workflow and activity types), workflow
and activity ids, HTTP method and status. No request or response body, no headers, no
payload: the SDK's interceptor propagates the context in a header of its own and records
no arguments; the FastAPI instrumentation is told to keep query strings out."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def exporter_from_env(env: Mapping[str, str] = os.environ) -> SpanExporter | None:
    """The span exporter the OTEL_* variables ask for, or None: no traces."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    named = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if named == "none" or (not named and not any(env.get(v, "").strip() for v in _ENDPOINTS)):
        return None
    if named == "console":
        return ConsoleSpanExporter()
    if named not in ("", "otlp"):
        raise ValueError(f"OTEL_TRACES_EXPORTER must be otlp, console or none, got {named!r}")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout: from the OTEL_EXPORTER_OTLP_* variables


class Tracing:
    """The traces of one process: its tracer provider (None: tracing is off), the SDK's
    interceptor for its Temporal client (a worker built on that client traces with it), and
    the FastAPI instrumentation."""

    def __init__(self, provider: TracerProvider | None) -> None:
        self.provider = provider

    @classmethod
    def off(cls) -> Tracing:
        return cls(None)

    @classmethod
    def with_processor(cls, service_name: str, processor: SpanProcessor) -> Tracing:
        """Spans of `service_name` go to `processor` (a test's in-memory exporter, say)."""
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
        provider.add_span_processor(processor)
        return cls(provider)

    @classmethod
    def from_env(cls, default_service_name: str, env: Mapping[str, str] = os.environ) -> Tracing:
        """As the OTEL_* variables say; the process's global tracer provider when on."""
        exporter = exporter_from_env(env)
        if exporter is None:
            return cls.off()
        name = env.get("OTEL_SERVICE_NAME", "").strip() or default_service_name
        tracing = cls.with_processor(name, BatchSpanProcessor(exporter))
        assert tracing.provider is not None
        trace.set_tracer_provider(tracing.provider)
        return tracing

    @property
    def on(self) -> bool:
        return self.provider is not None

    def interceptors(self) -> Sequence[Interceptor]:
        """For `Client.connect(interceptors=...)`: client calls and the worker built on it."""
        if self.provider is None:
            return []
        return [TracingInterceptor(self.provider.get_tracer("onboarding"))]

    def instrument(self, app: Any) -> None:
        """Server spans for the FastAPI app's requests, named by route template."""
        if self.provider is None:
            return
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.provider,
            excluded_urls="/metrics,/healthz",
            # the URL's path can hold an unsubscribe token; the route template says the same
            server_request_hook=_without_url_details,
        )

    def shutdown(self) -> None:
        """Flush the spans still batched (at the process's end)."""
        if self.provider is not None:
            self.provider.shutdown()


def _without_url_details(span: Any, scope: Mapping[str, Any]) -> None:
    """Drop the attributes that carry the request's own path and query (tokens, ids that
    name a person); the route template stays in the span's name and `http.route`."""
    if span is None or not span.is_recording():
        return
    for key in ("http.target", "http.url", "url.path", "url.query", "url.full"):
        span.set_attribute(key, "")
