"""Where recorded journeys come from: a folder of exported history files (`temporal
workflow show --output json`, one file per run, as tests/histories/ holds them), the
Temporal service itself (listed and fetched as the backtest does), or the records' moments
(lab/learn/from_moments.py). Encrypted payloads are decrypted with the deployment's codec
(ONBOARDING_CODEC_KEYS), as the worker would."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client, WorkflowHistory
from temporalio.converter import PayloadCodec

from lab.errors import LabError
from lab.histories import decoded
from lab.learn.from_history import observe_record
from lab.learn.observed import Observed
from lab.record import read_journey
from privacy.codec import ENCODING
from privacy.converter import data_converter
from privacy.keys import KEYS_VARIABLE, CodecConfigError

Journey = tuple[str, list[WorkflowHistory]]


def _codec() -> PayloadCodec | None:
    """The deployment's codec; none when no key is configured (plain histories read as they are)."""
    try:
        return data_converter().payload_codec
    except CodecConfigError:
        return None


def _started_at(history: WorkflowHistory) -> datetime:
    return history.events[0].event_time.ToDatetime().replace(tzinfo=UTC)


def read_history_files(source: Path) -> list[Journey]:
    """Every journey in the folder (or the one file), its runs chained first run first:
    runs of one journey share their first run's id (continue-as-new)."""
    paths = sorted(source.rglob("*.json")) if source.is_dir() else [source]
    if not paths:
        raise LabError(f"--from-history: no history files (*.json) in {source}")
    chains: dict[str, list[WorkflowHistory]] = defaultdict(list)
    names: dict[str, str] = {}
    for path in paths:
        workflow_id = path.name.split(".")[0]  # `onboarding-D-1.run2.json`: a run of journey onboarding-D-1
        try:
            history = WorkflowHistory.from_json(workflow_id, path.read_text())
        except OSError as err:
            raise LabError(f"{path}: cannot read: {err.strerror}") from None
        except Exception as err:
            raise LabError(f"{path}: not an exported workflow history ({type(err).__name__}: {err})") from None
        if not history.events or not history.events[0].HasField("workflow_execution_started_event_attributes"):
            raise LabError(f"{path}: a workflow history must begin with its start event")
        started = history.events[0].workflow_execution_started_event_attributes
        chain = started.first_execution_run_id or started.original_execution_run_id or str(path)
        chains[chain].append(history)
        names.setdefault(chain, workflow_id)
    return [(names[chain], sorted(runs, key=_started_at)) for chain, runs in chains.items()]


def _encrypted(history: WorkflowHistory) -> bool:
    payloads = history.events[0].workflow_execution_started_event_attributes.input.payloads
    return any(p.metadata.get("encoding") == ENCODING for p in payloads)


async def file_journeys(source: Path) -> AsyncIterator[Journey]:
    codec = _codec()
    for workflow_id, runs in read_history_files(source):
        if codec is None and _encrypted(runs[0]):
            raise LabError(
                f"{workflow_id}: its payloads are encrypted and no key is configured: set {KEYS_VARIABLE} "
                "(docs/deploy.md) to read it"
            )
        yield workflow_id, [await decoded(h, codec) for h in runs]


async def server_journeys(client: Client, query: str, jobs: int, skipped: list[str]) -> AsyncIterator[Journey]:
    from lab.backtest import listed_journeys  # the backtest's listing: pages, `jobs` fetched at once

    async for journey in listed_journeys(client, query, jobs, skipped):
        yield journey


async def observe_journeys(
    journeys: AsyncIterator[Journey], *, read_at: datetime | None, problems: list[str]
) -> list[Observed]:
    """Each journey read into what its customer did; one that cannot be read is named in
    `problems` and left out. `read_at`: now, for journeys fetched live (None: each file's
    last event, the moment it was exported)."""
    observed = []
    async for workflow_id, runs in journeys:
        try:
            record = read_journey(workflow_id, runs)
            last = runs[-1].events[-1].event_time.ToDatetime().replace(tzinfo=UTC)
            observed.append(observe_record(record, read_at or last))
        except Exception as err:  # one unreadable journey does not stop the rest
            problems.append(f"{workflow_id}: {type(err).__name__}: {err}")
    return observed
