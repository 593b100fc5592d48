"""Operability: the worker's Prometheus endpoint (the SDK's runtime telemetry), the OpenTelemetry
traces of the worker and the HTTP service, and the worker-side activity counters that need
no activity's code (docs/operations.md "Metrics", "Traces")."""
