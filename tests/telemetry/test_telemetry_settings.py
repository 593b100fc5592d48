"""The telemetry settings: ONBOARDING_METRICS_ADDRESS and the OTEL_* variables, read as the
worker and the HTTP service read them; a malformed one stops the worker before it polls."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter

import worker
from telemetry.tracing import Tracing, exporter_from_env
from telemetry.worker_metrics import metrics_address, worker_runtime


def test_metrics_address_is_host_and_port():
    assert metrics_address({}) is None
    assert worker_runtime({}) is None
    assert metrics_address({"ONBOARDING_METRICS_ADDRESS": " 0.0.0.0:9464 "}) == "0.0.0.0:9464"
    for bad in ("9464", "localhost", "host:port", "host:70000", ":9464"):
        with pytest.raises(ValueError, match="ONBOARDING_METRICS_ADDRESS must be host:port"):
            metrics_address({"ONBOARDING_METRICS_ADDRESS": bad})


def test_traces_follow_the_otel_variables():
    assert exporter_from_env({}) is None
    assert not Tracing.from_env("x", {}).on and Tracing.off().interceptors() == []
    assert isinstance(exporter_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}), OTLPSpanExporter)
    assert isinstance(exporter_from_env({"OTEL_TRACES_EXPORTER": "otlp"}), OTLPSpanExporter)
    assert isinstance(exporter_from_env({"OTEL_TRACES_EXPORTER": "console"}), ConsoleSpanExporter)
    assert exporter_from_env({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) is None
    assert exporter_from_env({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) is None
    with pytest.raises(ValueError, match="OTEL_TRACES_EXPORTER must be otlp, console or none"):
        exporter_from_env({"OTEL_TRACES_EXPORTER": "zipkin"})


def test_worker_refuses_a_malformed_setting(monkeypatch):
    """`worker.main` turns the ValueError into "refusing to start" and exit code 2."""
    monkeypatch.setenv("ONBOARDING_METRICS_ADDRESS", "nine-four-six-four")
    with pytest.raises(ValueError, match="ONBOARDING_METRICS_ADDRESS must be host:port"):
        worker.check_configuration()
    monkeypatch.delenv("ONBOARDING_METRICS_ADDRESS")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(ValueError, match="OTEL_TRACES_EXPORTER"):
        worker.check_configuration()
