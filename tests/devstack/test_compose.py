"""docker-compose.yml and the Dockerfile, checked without Docker (there is no engine here).

The structure is checked by parsing; the one-shot setup job's shell script is run for real
against the Temporal dev server, which speaks the same operator API as the compose cluster.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from devstack.__main__ import temporal_binary
from devstack.search_attributes import SEARCH_ATTRIBUTES, registered
from devstack.testing import connect, dev_server

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
SA_CREATE = re.compile(r"temporal operator search-attribute create --namespace \S+ --name (\w+) --type (\w+)")


def _command_text(service: str) -> str:
    command = SERVICES[service]["command"]
    return command if isinstance(command, str) else "\n".join(command)


def _unescape(text: str) -> str:
    """What the container's shell sees: compose turns `$$` into `$`."""
    return text.replace("$$", "$")


def test_services_exist() -> None:
    assert {
        "postgresql",
        "temporal",
        "temporal-admin-tools",
        "temporal-ui",
        "worker",
        "webhook",
        "onboarding-db",
    } <= set(SERVICES)


def test_images_are_pinned() -> None:
    for name, svc in SERVICES.items():
        if "image" not in svc:
            assert "build" in svc, f"{name} has neither image nor build"
            continue
        image = svc["image"]
        _repo, sep, tag = image.rpartition(":")
        assert sep and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image} is not pinned"
        assert re.fullmatch(r"\d+(\.\d+)+", tag), f"{name}: {image} should pin an exact version"


def test_temporal_versions_agree() -> None:
    server = SERVICES["temporal"]["image"].split(":")[1]
    assert SERVICES["temporal-admin-tools"]["image"].split(":")[1] == server
    assert SERVICES["temporal-schema"]["image"].split(":")[1] == server


def test_ports() -> None:
    assert "7233:7233" in SERVICES["temporal"]["ports"]
    assert "8080:8080" in SERVICES["temporal-ui"]["ports"]
    assert "8000:8000" in SERVICES["webhook"]["ports"]
    assert "ports" not in SERVICES["postgresql"]  # the database stays on the compose network


def test_healthchecks() -> None:
    assert "pg_isready" in " ".join(SERVICES["postgresql"]["healthcheck"]["test"])
    assert "7233" in SERVICES["temporal"]["healthcheck"]["test"]
    assert "/healthz" in " ".join(SERVICES["webhook"]["healthcheck"]["test"])


def test_depends_on_conditions() -> None:
    def cond(service: str, on: str) -> str:
        return SERVICES[service]["depends_on"][on]["condition"]

    assert cond("temporal-schema", "postgresql") == "service_healthy"
    assert cond("temporal", "postgresql") == "service_healthy"
    assert cond("temporal", "temporal-schema") == "service_completed_successfully"
    assert cond("temporal-admin-tools", "temporal") == "service_healthy"
    assert cond("temporal-ui", "temporal") == "service_healthy"
    for app in ("worker", "webhook"):
        assert cond(app, "temporal-admin-tools") == "service_completed_successfully"
        assert cond(app, "onboarding-db") == "service_completed_successfully"


def test_app_services_build_from_the_dockerfile() -> None:
    for name in ("worker", "webhook"):
        build = SERVICES[name]["build"]
        assert build["context"] == "." and build["dockerfile"] == "Dockerfile"
        assert (ROOT / build["context"] / build["dockerfile"]).is_file()
        env = SERVICES[name]["environment"]
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert env["TEMPORAL_NAMESPACE"] == "default"
        assert env["ONBOARDING_WEBHOOK_SECRET"].startswith("${ONBOARDING_WEBHOOK_SECRET:?")
        for required in ("ONBOARDING_CODEC_KEYS", "ONBOARDING_CODEC_TOKEN", "ONBOARDING_UNSUBSCRIBE_SECRET"):
            assert env[required].startswith("${" + required + ":?"), required  # never run without
        assert SERVICES[name]["volumes"] == ["worker-data:/data"]  # one suppression list
    ui = SERVICES["temporal-ui"]["environment"]
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == "http://localhost:8000/codec"
    assert ui["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
    assert SERVICES["worker"]["environment"]["ONBOARDING_CODEC_UI_ORIGINS"] == "http://localhost:8080"
    assert SERVICES["worker"]["command"] == ["python", "worker.py"]
    assert SERVICES["webhook"]["command"] == [
        "uvicorn", "starters.app:app", "--host", "0.0.0.0", "--port", "8000",
    ]  # fmt: skip


def test_setup_creates_every_search_attribute_with_its_type() -> None:
    script = _command_text("temporal-admin-tools")
    assert sorted(SA_CREATE.findall(script)) == sorted(SEARCH_ATTRIBUTES)
    assert len(SA_CREATE.findall(script)) == len(SEARCH_ATTRIBUTES)
    assert "temporal operator namespace create" in script


def test_schema_job_sets_up_both_databases() -> None:
    script = _unescape(_command_text("temporal-schema"))
    for db, schema in (("temporal", "temporal"), ("temporal_visibility", "visibility")):
        assert f"--db {db} update-schema" in script
        assert f"$schema/{schema}/versioned" in script
    assert "for db in temporal temporal_visibility" in script and "create" in script


def test_no_unescaped_dollar_in_commands() -> None:
    """A single `$` would be interpolated by compose on the host, not by the container."""
    for name, svc in SERVICES.items():
        if "command" in svc:
            assert "$" not in _command_text(name).replace("$$", ""), name


def test_dynamic_config_file_is_mounted() -> None:
    [mount] = SERVICES["temporal"]["volumes"]
    host_dir = mount.split(":")[0]
    filename = SERVICES["temporal"]["environment"]["DYNAMIC_CONFIG_FILE_PATH"].split("/")[-1]
    assert yaml.safe_load((ROOT / host_dir / filename).read_text())


def test_dockerfile() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    [user] = re.findall(r"^USER (\S+)$", text, re.M)
    assert user not in ("root", "0")
    assert re.search(r'^RUN pip install "\.\$\{EXTRAS\}"$', text, re.M)
    assert re.search(r'^CMD \["python", "worker.py"\]$', text, re.M)
    assert ".venv" in (ROOT / ".dockerignore").read_text().split()


def test_dockerfile_dependency_layer_reads_pyproject() -> None:
    """The Dockerfile's one-liner lists exactly the project's runtime dependencies."""
    text = (ROOT / "Dockerfile").read_text()
    [snippet] = re.findall(r"python -c '([^']+)'", text)
    out = subprocess.run(
        [sys.executable, "-c", snippet], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert [line for line in out if line] == pyproject["project"]["dependencies"]


def test_mail_sink_extra_exists() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    wanted = SERVICES["mail"]["build"]["args"]["EXTRAS"].strip("[]")
    assert any(dep.startswith("aiosmtpd") for dep in extras[wanted])


async def test_setup_script_runs_against_a_real_server(tmp_path: Path) -> None:
    """Run the admin-tools script as the container would, twice (a rerun must pass), on a
    namespace that does not exist yet so the create path runs too."""
    script = _unescape(_command_text("temporal-admin-tools"))
    namespace = "compose-check"
    with dev_server(tmp_path / "temporal.db") as address:
        await connect(address)
        env = {
            **os.environ,
            "PATH": f"{temporal_binary().parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "TEMPORAL_ADDRESS": address,
            "TEMPORAL_NAMESPACE": namespace,
        }
        for attempt in ("first", "rerun"):
            proc = await asyncio.create_subprocess_exec(
                "sh", "-c", script, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            out, _ = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 0, f"{attempt}: {out.decode()}"
        client = await connect(address)
        assert await registered(client, namespace) == dict(SEARCH_ATTRIBUTES)


@pytest.mark.parametrize("service", ["worker", "webhook", "mail"])
def test_long_running_app_services_restart(service: str) -> None:
    assert SERVICES[service]["restart"] == "unless-stopped"


def test_deploy_docs_list_every_create_command() -> None:
    from devstack.search_attributes import cli_create_commands

    docs = (ROOT / "docs" / "deploy.md").read_text()
    assert [c for c in cli_create_commands("default") if c not in docs] == []


# --- the records' database ----------------------------------------------------------------------

COMPOSE_URL = re.compile(r"^\$\{ONBOARDING_DATABASE_URL:-(?P<url>[^}]+)\}$")


def _records_url() -> str:
    env = SERVICES["worker"]["environment"]
    match = COMPOSE_URL.match(env["ONBOARDING_DATABASE_URL"])
    assert match, env["ONBOARDING_DATABASE_URL"]
    return match["url"]


def test_app_services_share_the_records_database_on_the_compose_postgresql() -> None:
    from sqlalchemy.engine import make_url

    url = make_url(_records_url())
    pg = SERVICES["postgresql"]["environment"]
    assert url.get_backend_name() == "postgresql" and url.host == "postgresql" and url.port == 5432
    assert (url.username, url.password) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"])
    # its own database: not one of Temporal's
    assert url.database == SERVICES["onboarding-db"]["environment"]["ONBOARDING_DB"] == "onboarding"
    assert url.database not in ("temporal", "temporal_visibility", "postgres")
    for app in ("worker", "webhook"):
        assert (
            SERVICES[app]["environment"]["ONBOARDING_DATABASE_URL"]
            == SERVICES["worker"]["environment"]["ONBOARDING_DATABASE_URL"]
        )
        assert SERVICES[app]["depends_on"]["onboarding-db"]["condition"] == "service_completed_successfully"
    assert SERVICES["onboarding-db"]["depends_on"]["postgresql"]["condition"] == "service_healthy"
    assert SERVICES["onboarding-db"]["image"] == SERVICES["postgresql"]["image"]  # its psql matches the server


async def test_records_database_job_runs_against_a_real_postgresql(postgres: str, tmp_path: Path) -> None:
    """The onboarding-db job's script, run as the container would (twice: a rerun must pass)
    against the suite's PostgreSQL; then the worker's migrations apply to what it created."""
    from sqlalchemy.engine import make_url

    from records import migrate
    from records.database import Database

    script = _unescape(_command_text("onboarding-db"))
    server = make_url(postgres)
    assert server.host is not None and server.username is not None, postgres  # the test server's URL names both
    env = {
        **os.environ,
        **{k: str(v) for k, v in SERVICES["onboarding-db"]["environment"].items()},
        "PGHOST": server.host, "PGPORT": str(server.port), "PGUSER": server.username, "PGPASSWORD": "",
        "ONBOARDING_DB": "onboarding_compose_check",
    }  # fmt: skip
    for attempt in ("first", "rerun"):
        proc = await asyncio.create_subprocess_exec(
            "sh", "-c", script, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, f"{attempt}: {out.decode()}"
        assert "database onboarding_compose_check ready" in out.decode()
    url = make_url(_records_url()).set(
        host=server.host, port=server.port, username=server.username, password=None, database="onboarding_compose_check"
    )
    db = Database.from_settings(url.render_as_string(hide_password=False), tmp_path)
    try:
        await db.ready()
        assert await migrate.current(db.engine) == migrate.head()
    finally:
        await db.dispose()
