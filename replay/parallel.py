"""Replay on every core: `onboarding replay --jobs N` spreads the histories over N processes.

One Replayer replays one history at a time on one core, and most of a history's cost is
Python (the workflow sandbox, decoding payloads, running the workflow code), which the GIL
keeps on one core. So each job is its own process, with its own client and Replayer: the
parent lists the matching workflows and hands out (workflow id, run id) pairs through a
bounded queue; each job fetches a few histories ahead, replays them, and sends back only
the verdict. Memory stays bounded: at most `4 x jobs` ids wait in the queue and each job
holds `ahead` histories.

Each job reads the histories through the same codec as the parent (its client is built by
`runtime.client.connect`, from the same environment: ONBOARDING_CODEC_KEYS), so encrypted
payloads decode in the job. Jobs are started with "spawn": forking a process that already
runs the SDK's native threads is not safe."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import queue
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

DONE = "done"


@dataclass(frozen=True)
class Verdict:
    """What a job sends back for one workflow: replayed (mismatch None), incompatible
    (the core's mismatch text), or gone before it could be fetched."""

    workflow_id: str
    run_id: str
    mismatch: str | None = None
    gone: bool = False


@dataclass(frozen=True)
class JobConfig:
    workflow: str  # module:Class
    address: str | None
    namespace: str | None
    ahead: int  # histories each job fetches ahead of the one it replays


def run_job(config: JobConfig, todo: Any, verdicts: Any) -> None:
    """A job's process: replay what `todo` hands out until it hands out None."""
    import logging

    logging.getLogger("temporalio").setLevel(logging.ERROR)  # the verdicts say it all
    try:
        asyncio.run(_job(config, todo, verdicts))
    except BaseException as err:  # the parent reports it; the job just ends
        verdicts.put((DONE, f"{type(err).__name__}: {err}"))
    else:
        verdicts.put((DONE, None))


async def _job(config: JobConfig, todo: Any, verdicts: Any) -> None:
    # the job imports what the parent names
    from replay.corpus import decided, load_workflow, mismatch_text
    from runtime.client import connect
    from runtime.replayer import replayer

    workflow = load_workflow(config.workflow)
    client = await connect(config.address, config.namespace)
    fetched: asyncio.Queue[tuple[str, str, WorkflowHistory] | None] = asyncio.Queue(maxsize=config.ahead)

    async def fetch_all() -> None:
        slots = asyncio.Semaphore(config.ahead)

        async def fetch(workflow_id: str, run_id: str) -> None:
            try:
                history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
                await fetched.put((workflow_id, run_id, history))
            except RPCError as err:
                if err.status is not RPCStatusCode.NOT_FOUND:
                    raise
                verdicts.put(Verdict(workflow_id, run_id, gone=True))
            finally:
                slots.release()

        try:
            async with asyncio.TaskGroup() as group:
                while (item := await asyncio.to_thread(todo.get)) is not None:
                    await slots.acquire()
                    group.create_task(fetch(*item))
        finally:
            await fetched.put(None)

    ids: dict[int, tuple[str, str]] = {}

    async def histories() -> AsyncIterator[WorkflowHistory]:
        while (item := await fetched.get()) is not None:
            workflow_id, run_id, history = item
            if not decided(history):  # nothing decided yet: nothing to check
                continue
            ids[id(history)] = (workflow_id, run_id)
            yield history

    fetcher = asyncio.create_task(fetch_all())
    try:
        async with replayer([workflow], converter=client.data_converter).workflow_replay_iterator(
            histories()
        ) as results:
            async for result in results:
                workflow_id, run_id = ids.pop(id(result.history))
                failure = result.replay_failure
                verdicts.put(Verdict(workflow_id, run_id, mismatch_text(failure) if failure is not None else None))
        await fetcher  # raise what fetching raised
    finally:
        fetcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await fetcher


class JobFailed(RuntimeError):
    pass


async def replay_in_jobs(client: Client, query: str, config: JobConfig, jobs: int) -> AsyncIterator[Verdict]:
    """Every verdict for the workflows `query` lists, from `jobs` processes."""
    ctx = multiprocessing.get_context("spawn")
    todo = ctx.Queue(maxsize=4 * jobs)
    verdicts = ctx.Queue()
    workers = [ctx.Process(target=run_job, args=(config, todo, verdicts), daemon=True) for _ in range(jobs)]
    for worker in workers:
        worker.start()

    def put(item: tuple[str, str] | None) -> None:
        while any(w.is_alive() for w in workers):  # a queue nobody reads any more must not hang us
            try:
                return todo.put(item, timeout=1.0)
            except queue.Full:
                continue

    async def hand_out() -> None:
        try:
            async for execution in client.list_workflows(query, page_size=1000):
                await asyncio.to_thread(put, (execution.id, execution.run_id))
        finally:
            for _ in workers:
                await asyncio.to_thread(put, None)

    def next_verdict() -> Any:
        while True:
            try:
                return verdicts.get(timeout=1.0)
            except queue.Empty:
                if not any(w.is_alive() for w in workers):
                    return (DONE, "every job exited without finishing")

    lister = asyncio.create_task(hand_out())
    try:
        running, failures = jobs, []
        while running:
            item = await asyncio.to_thread(next_verdict)
            if isinstance(item, Verdict):
                yield item
                continue
            running -= 1
            if item[1] is not None:
                failures.append(item[1])
        await lister  # raise what listing raised
        if failures:
            raise JobFailed("; ".join(sorted(set(failures))))
    finally:
        lister.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await lister
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
