"""The worker's and the HTTP service's metrics, traces, alert rules and dashboard."""
