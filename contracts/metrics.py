"""The engine's own metric names, shared by the code that counts (workflows/metrics.py,
activities/metrics.py, starters/metrics.py), the alert rules and the dashboard
(deploy/prometheus/, deploy/grafana/; docs/operations.md "Metrics").

Names are as Prometheus shows them: counters get `_total` from the exporter (the worker's
runtime and prometheus_client both add it), so the names here stop before it. Label values
are bounded sets (segments, playbooks, kinds, channels, routes), never a deal, a journey
or a customer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    unit: str | None = None


# --- the journeys (workflow code: the replay-safe workflow meter) ---------------------------
JOURNEYS_STARTED = Metric("onboarding_journeys_started", "Journeys whose owner was assigned and kickoff began")
JOURNEYS_ACTIVATED = Metric("onboarding_journeys_activated", "Journeys that finished every milestone")
JOURNEYS_CLOSED = Metric("onboarding_journeys_closed", "Journeys closed before activation")
MESSAGES = Metric("onboarding_messages", "Customer messages the journeys sent, by kind and outcome")
ESCALATIONS_OPENED = Metric("onboarding_escalations_opened", "Escalations opened, by trigger")
ESCALATIONS_MOVED_UP = Metric(
    "onboarding_escalations_moved_up", "Escalations unanswered past their SLA, moved a level up"
)
REFUSED_INPUTS = Metric("onboarding_refused_inputs", "Signals and inputs a journey refused (timeline 'ignored')")
OWNERS_OVER_CAPACITY = Metric("onboarding_owners_over_capacity", "Owners assigned a journey over their capacity")

# --- the activities ---------------------------------------------------------------------------
SEND_LATENCY = Metric("onboarding_send_latency_seconds", "Time to hand a message to its channel", "s")
SEND_FAILURES = Metric("onboarding_send_failures", "Send attempts that failed, by channel and outcome")
LEDGER_OUTCOMES = Metric("onboarding_ledger_outcomes", "Exactly-once delivery ledger outcomes of send attempts")
CRM_FETCH_ERRORS = Metric("onboarding_crm_fetch_errors", "Failed attempts to read a deal from a CRM")

# --- the HTTP service (prometheus_client) -----------------------------------------------------
HTTP_REQUESTS = Metric("onboarding_http_requests", "HTTP requests answered, by route template and status")
SIGNATURE_FAILURES = Metric("onboarding_signature_failures", "Webhooks refused for their signature, by source")
EDGE_DUPLICATES = Metric("onboarding_edge_duplicates", "Deliveries answered at the edge as already delivered")
KEPT_FOR_STAFF = Metric("onboarding_deliveries_kept_for_staff", "Refused deliveries kept for staff to replay")
TEMPORAL_UNAVAILABLE = Metric("onboarding_temporal_unavailable", "Requests answered 503: Temporal unavailable")
RECORDS_UP = Metric("onboarding_records_database_up", "1 when the records database answered the last scrape")
