"""The alert rules and the Grafana dashboard (deploy/): valid PromQL (promtool check rules, where
Debian's prometheus package is installed; .ci/run installs it), the alerts firing on the series
that mean trouble and quiet on healthy ones (promtool test rules), every metric they read
one that the engine or the SDK serves, and every alert explained in docs/operations.md."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts import metrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy/prometheus/alerts.yml"
RULE_TESTS = ROOT / "deploy/prometheus/alerts.test.yml"
CONFIG = ROOT / "deploy/prometheus/prometheus.yml"
DASHBOARD = ROOT / "deploy/grafana/onboarding.json"
OPERATIONS = ROOT / "docs/operations.md"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (apt-get install prometheus)")

# The SDK's own metrics the rules and the dashboard read, as the worker's runtime serves them
# (telemetry/worker_metrics.py: `_total` on counters, durations in seconds, no unit suffix);
# tests/telemetry/test_worker_metrics.py scrapes a real worker's.
SDK_METRICS = {
    "temporal_workflow_task_schedule_to_start_latency",
    "temporal_activity_schedule_to_start_latency",
    "temporal_worker_task_slots_available",
    "temporal_workflow_task_execution_failed_total",
    "temporal_sticky_cache_size",
}
# What the issue asks an on-call engineer be paged for, by the alert that does it.
REQUIRED_ALERTS = {
    "OnboardingEscalationPastSla",
    "OnboardingWorkflowTaskFailures",
    "OnboardingScheduleToStartLatency",
    "OnboardingSendFailures",
    "OnboardingWebhook5xx",
    "OnboardingRecordsDatabaseDown",
}
_NAME = re.compile(r"\b((?:onboarding|temporal)_[a-z0-9_]+)")


def rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in board["panels"] for t in p.get("targets", [])]


def known_metrics() -> set[str]:
    ours = {m for m in vars(metrics).values() if isinstance(m, metrics.Metric)}
    served = set(SDK_METRICS)
    for m in ours:
        served |= {m.name, f"{m.name}_total", f"{m.name}_bucket", f"{m.name}_count", f"{m.name}_sum"}
    return served


def base_name(name: str) -> str:
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix) and name.removesuffix(suffix) in SDK_METRICS:
            return name.removesuffix(suffix)
    return name


def test_every_alert_is_complete_and_explained():
    found = rules()
    names = [r["alert"] for r in found]
    assert len(names) == len(set(names))
    assert set(names) >= REQUIRED_ALERTS
    docs = OPERATIONS.read_text()
    headings = {line.removeprefix("### ").strip() for line in docs.splitlines() if line.startswith("### ")}
    for rule in found:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{rule['alert'].lower()}"
        assert rule["alert"] in headings, f"docs/operations.md has no '### {rule['alert']}' section"


def test_rules_and_dashboard_read_only_metrics_that_are_served():
    exprs = [r["expr"] for r in rules()] + dashboard_exprs()
    assert exprs
    known = known_metrics()
    for expr in exprs:
        for name in _NAME.findall(expr):
            assert base_name(name) in known, f"{name} (in {expr!r}) is served by nobody"


def test_dashboard_is_a_grafana_dashboard():
    board = json.loads(DASHBOARD.read_text())
    assert board["uid"] and board["title"] and board["schemaVersion"] >= 36
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        assert {"h", "w", "x", "y"} <= panel["gridPos"].keys()
    assert [v["name"] for v in board["templating"]["list"]] == ["datasource"]


@needs_promtool
def test_promtool_checks_the_rules_and_the_config():
    for command in (["check", "rules", str(RULES)], ["check", "config", str(CONFIG)]):
        done = subprocess.run([PROMTOOL, *command], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


@needs_promtool
def test_alerts_fire_on_trouble_and_stay_quiet_otherwise():
    done = subprocess.run([PROMTOOL, "test", "rules", str(RULE_TESTS)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_promtool
def test_dashboard_queries_are_valid_promql(tmp_path):
    """Each panel's query as a recording rule: promtool parses every one."""
    recorded = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [{"record": f"dashboard:q{i}", "expr": e} for i, e in enumerate(dashboard_exprs())],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(recorded))
    done = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_plugs_the_endpoints_into_prometheus_and_grafana():
    """docker-compose.yml's worker serves its metrics where deploy/prometheus/prometheus.yml
    scrapes it; the overlay mounts the rules, the config and the dashboard where they are read."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    address = services["worker"]["environment"]["ONBOARDING_METRICS_ADDRESS"]
    port = address.rsplit(":", 1)[1]
    scrape = {job["job_name"]: job for job in yaml.safe_load(CONFIG.read_text())["scrape_configs"]}
    assert scrape["onboarding-worker"]["static_configs"][0]["targets"] == [f"worker:{port}"]
    webhook_port = services["webhook"]["ports"][0].split(":")[-1]
    assert scrape["onboarding-webhook"]["static_configs"][0]["targets"] == [f"webhook:{webhook_port}"]
    overlay = yaml.safe_load((ROOT / "deploy/docker-compose.observability.yml").read_text())["services"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in overlay["prometheus"]["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in overlay["prometheus"]["command"]
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in overlay["grafana"]["volumes"] if v.startswith("./"))
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/onboarding.yml").read_text())
    assert mounts["./deploy/grafana"] == provider["providers"][0]["options"]["path"]
    assert (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").exists()
