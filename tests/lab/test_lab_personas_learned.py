"""`onboarding personas --from-history` on journeys whose grouping is known: eleven
customers of three behaviours (four act in the first window, four after the simplify, three
fail once and act after the clarify), each with its own timings, walked through the real
workflow on the time-skipping server. Learned from their exported histories and from their
moments in the records, the groups, shares and persona files must come back; the shipped
personas resemble the first two behaviours and none covers the third."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from lab.personas import Persona, PersonaFile, load_personas
from records.database import Database
from tests.harness.learning import export_histories, walk_customers

ONBOARDING = Path(sys.executable).parent / "onboarding"
FAST, SLOW, CLARIFY = "acts-in-first-window", "acts-after-simplify", "fails-acts-after-clarify"


def customer(name: str, minute: int, steps: list[dict[str, Any]]) -> PersonaFile:
    persona = Persona.model_validate(
        {
            "name": name,
            "deal": {"closes": {"day": "tue", "at": f"10:{minute:02d}"}},
            "owner": {"acknowledges_after": "30m"},
            "customer": steps,
            "horizon": "14d",
        }
    )
    return PersonaFile(path=Path(f"{name}.yaml"), persona=persona)


def customers(tag: str) -> dict[str, list[PersonaFile]]:
    """Three behaviours, each customer with jittered timings that keep its behaviour."""
    rnd = random.Random(23)

    def minutes(low: int, high: int) -> str:
        return f"{rnd.randint(low, high)}m"

    fast = [
        customer(
            f"fast-{i}-{tag}",
            i,
            [
                {"at": minutes(90, 150), "do": "taken", "action": "dataset_uploaded"},
                {
                    "after": "first_value.direction",
                    "at": minutes(20 * 60, 28 * 60),
                    "do": "taken",
                    "action": "dashboard_shared",
                },
                {
                    "after": "expansion_check.direction",
                    "at": minutes(40 * 60, 56 * 60),
                    "do": "taken",
                    "action": "teammates_invited",
                },
            ],
        )
        for i in range(4)
    ]
    slow = [
        customer(
            f"slow-{i}-{tag}",
            10 + i,
            [
                {"after": "simplify", "at": minutes(120, 240), "do": "taken", "action": "sample_dataset_loaded"},
                {
                    "after": "first_value.direction",
                    "at": minutes(40 * 60, 56 * 60),
                    "do": "taken",
                    "action": "dashboard_shared",
                },
                {
                    "after": "expansion_check.direction",
                    "at": minutes(60 * 60, 80 * 60),
                    "do": "taken",
                    "action": "teammates_invited",
                },
            ],
        )
        for i in range(4)
    ]
    clarify = [
        customer(
            f"clarify-{i}-{tag}",
            20 + i,
            [
                {"at": minutes(24 * 60, 30 * 60), "do": "failed", "action": "dataset_uploaded", "reason": "bad header"},
                {"after": "clarify", "at": minutes(60, 180), "do": "taken", "action": "dataset_uploaded"},
                {
                    "after": "first_value.direction",
                    "at": minutes(20 * 60, 28 * 60),
                    "do": "taken",
                    "action": "dashboard_shared",
                },
                {
                    "after": "expansion_check.direction",
                    "at": minutes(40 * 60, 56 * 60),
                    "do": "taken",
                    "action": "teammates_invited",
                },
            ],
        )
        for i in range(3)
    ]
    return {FAST: fast, SLOW: slow, CLARIFY: clarify}


class Recorded:
    def __init__(self, histories: Path, records_url: str, groups: dict[str, list[str]]) -> None:
        self.histories, self.records_url, self.groups = histories, records_url, groups


@pytest_asyncio.fixture(scope="module")
async def recorded(ts_env, tmp_path_factory) -> Recorded:
    root = tmp_path_factory.mktemp("learned")
    url = f"sqlite:///{root / 'records.sqlite3'}"
    db = Database.from_settings(url, root)
    await db.ready()
    known = customers(uuid.uuid4().hex[:6])
    everyone = [c for group in known.values() for c in group]
    try:
        ids = await walk_customers(ts_env, everyone, db, root)
    finally:
        await db.dispose()
    by_name = dict(zip((c.persona.name for c in everyone), ids, strict=True))
    groups = {g: sorted(by_name[c.persona.name] for c in members) for g, members in known.items()}
    await export_histories(ts_env, ids, root / "histories")
    return Recorded(root / "histories", url, groups)


def personas(*args: str | Path) -> dict[str, Any]:
    run = subprocess.run(
        [str(ONBOARDING), "personas", "--json", *map(str, args)], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(run.stdout)


def assert_learned(result: dict[str, Any], recorded: Recorded, clarify: str = CLARIFY) -> None:
    """`clarify`: the third group's name (the records do not see its one failed attempt)."""
    assert result["journeys"] == 11 and result["problems"] == []
    learned = {g["name"]: g for g in result["learned"]}
    assert {name: g["members"] for name, g in learned.items()} == {
        clarify if name == CLARIFY else name: members for name, members in recorded.groups.items()
    }
    assert {name: g["journeys"] for name, g in learned.items()} == {FAST: 4, SLOW: 4, clarify: 3}
    assert learned[SLOW]["share"] == pytest.approx(4 / 11)
    assert learned[clarify]["share"] == pytest.approx(3 / 11)
    marks = [m["when"] for m in learned[clarify]["signature"]["marks"]]
    assert marks == ["clarify", "direction", "direction"]
    assert learned[clarify]["signature"]["marks"][0]["failed"] is (clarify == CLARIFY)
    # each written persona, walked in the lab, behaves as the customers it stands for
    assert all(g["reproduces"] for g in result["learned"]), result["learned"]


def assert_resemblance(result: dict[str, Any], clarify: str = CLARIFY) -> None:
    shipped = {s["persona"]: s["journeys"] for s in result["shipped"]}
    assert shipped["fast-starter"] == 4 and shipped["slow-starter"] == 4
    assert shipped["silent"] == 0 and shipped["fails-then-help"] == 0
    [uncovered] = result["uncovered"]
    assert uncovered["name"] == clarify and uncovered["journeys"] == 3
    assert uncovered["share"] == pytest.approx(3 / 11)


async def test_personas_learned_from_history_files(recorded, tmp_path):
    out = tmp_path / "learned"
    result = personas("--from-history", recorded.histories, "--out", out)
    assert_learned(result, recorded)
    assert_resemblance(result)

    files = load_personas([out])  # every file validates
    assert sorted(f.persona.name for f in files) == sorted([FAST, SLOW, CLARIFY])
    slow = next(f for f in files if f.persona.name == SLOW)
    assert "4 of 11 real journeys (36%)" in slow.persona.description
    assert "4 of 11 journeys (36%)" in slow.path.read_text().splitlines()[0]
    first = slow.persona.steps[0]
    # the median of the four customers' 2-4 hours after the simplify
    assert (first.after, first.do, first.action) == ("first_action.simplify", "taken", "sample_dataset_loaded")
    assert 2 * 3600 <= first.at.seconds <= 4 * 3600
    clarify = next(f for f in files if f.persona.name == CLARIFY).persona
    assert [s.do for s in clarify.steps] == ["failed", "taken", "taken", "taken"]
    assert clarify.steps[1].after == "first_action.clarify"
    assert clarify.owner.acknowledges_after != "never"

    run = subprocess.run(
        [str(ONBOARDING), "simulate", str(out), "--summary"], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert all(name in run.stdout for name in (FAST, SLOW, CLARIFY))


async def test_personas_learned_from_the_records(recorded, tmp_path):
    out = tmp_path / "learned"
    result = personas("--from-history", "--records", recorded.records_url, "--out", out)
    assert result["source"] == "the records' moments"
    # One failed attempt opens no escalation, and the milestone's moments count no failures:
    # from the records these customers simply act after the clarify.
    assert_learned(result, recorded, clarify="acts-after-clarify")
    assert_resemblance(result, clarify="acts-after-clarify")
    files = load_personas([out])
    assert sorted(f.persona.name for f in files) == sorted([FAST, SLOW, "acts-after-clarify"])
    slow = next(f.persona for f in files if f.persona.name == SLOW)
    # the records hold no follow-up's time: the delay after the simplify is estimated, inside its wait
    assert slow.steps[0].after == "first_action.simplify" and slow.steps[0].at.seconds < 24 * 3600


async def test_the_smallest_group_joins_its_nearest(recorded, tmp_path):
    out = tmp_path / "two"
    out.mkdir()
    (out / "acts-after-redirect.yaml").write_text("# Learned from real customers (an earlier run)\nname: x\n")
    (out / "mine.yaml").write_text("name: mine\n")
    result = personas("--from-history", recorded.histories, "--out", out, "--max-personas", "2")
    # an earlier run's learned file is replaced; anything else in the folder is left alone
    assert sorted(p.name for p in out.glob("*.yaml")) == sorted(
        [f"{g['name']}.yaml" for g in result["learned"]] + ["mine.yaml"]
    )
    learned = {g["name"]: g for g in result["learned"]}
    assert sorted(g["journeys"] for g in learned.values()) == [4, 7]
    [merged] = [g for g in learned.values() if g["absorbed"]]
    assert set(recorded.groups[CLARIFY]) <= set(merged["members"])
    assert "Also stands for 3 journeys" in Path(merged["file"]).read_text()


def test_encrypted_histories_need_the_key(recorded, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONBOARDING_CODEC")}
    run = subprocess.run(
        [str(ONBOARDING), "personas", "--from-history", str(recorded.histories), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "payloads are encrypted and no key is configured: set ONBOARDING_CODEC_KEYS" in run.stderr


def test_bad_sources_are_refused(tmp_path):
    (tmp_path / "not-a-history.json").write_text('{"hello": 1}')
    for args, says in (
        (["--from-history", tmp_path / "missing"], "does not exist"),
        (["--from-history", tmp_path], "not-a-history.json"),
        (["--from-history"], "give one source"),
        (["--from-history", tmp_path, "--records", "sqlite:///x"], "give one source"),
        (["--from-history", tmp_path, "--max-personas", "0"], "--max-personas: at least 1"),
        (["--from-history", "--records", f"sqlite:///{tmp_path / 'nowhere.sqlite3'}"], "no SQLite file at"),
        (["--from-history", "--records", "mysql://db/x"], "unsupported database 'mysql'"),
        (["--from-history", "--address", "127.0.0.1:9"], "cannot connect to Temporal"),
    ):
        run = subprocess.run([str(ONBOARDING), "personas", *map(str, args)], capture_output=True, text=True, timeout=60)
        assert run.returncode == 2, (args, run.stderr)
        assert says in run.stderr, (args, run.stderr)


async def test_personas_learned_from_the_temporal_service(dev_env, tmp_path):
    """Histories listed and fetched from a namespace (the backtest's path), decrypted with the
    deployment's codec: the backtest's four recorded customers, each a behaviour of its own."""
    from tests.lab.test_lab_backtest import record_journeys

    client = dev_env.client
    customer_id = f"PL-{uuid.uuid4().hex[:8]}"
    await record_journeys(client, tmp_path, customer_id)
    result = personas(
        "--from-history",
        "--address",
        client.service_client.config.target_host,
        "--query",
        f"CustomerId = '{customer_id}'",
        "--out",
        tmp_path / "learned",
    )
    assert result["journeys"] == 4 and result["problems"] == []
    behaviour = {
        member.split("-")[2]: [(m["milestone"], m["when"], m["failed"], m["help"]) for m in g["signature"]["marks"]]
        for g in result["learned"]
        for member in g["members"]
    }
    assert behaviour == {
        "fast": [("first_action", "direction", False, False), ("first_value", "cancelled", False, False)],
        "slow": [("first_action", "clarify", False, False), ("first_value", "cancelled", False, False)],
        "silent": [("first_action", "cancelled", False, False)],
        "help": [("first_action", "direction", False, True), ("first_value", "cancelled", False, False)],
    }
    help_persona = next(g for g in result["learned"] if any("-help-" in m for m in g["members"]))
    staff = Persona.model_validate(yaml.safe_load(Path(help_persona["file"]).read_text())).staff
    assert not isinstance(staff, str) and not isinstance(staff, list) and staff.resolve == "retry"
