"""`onboarding intake ...`: the deliveries the HTTP service refused, for staff.

    onboarding intake list [--all] [--source SOURCE] [--json]
    onboarding intake show ID [--content]
    onboarding intake retry ID [--by NAME]

A refused delivery (a closed-won Salesforce notification without a contact email, a Segment
call whose mapped fields are invalid, a HubSpot batch, Pipedrive delivery or deal-closed body
that does not validate) waits here with its reason, in field names. Fix the
mapping (SALESFORCE_FIELDS, SEGMENT_MAPPING) or the record, then `retry`: the delivery is
mapped again with the current settings and delivered as its endpoint would have; the journey
starts once however often it is retried. `show --content` decrypts the delivery with
ONBOARDING_CODEC_KEYS and prints it: it holds customer data.

Settings come from the environment, as for the HTTP service (starters/settings.py); the
records are ONBOARDING_DATABASE_URL or the SQLite file under ONBOARDING_DATA_DIR."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

import structlog
from sqlalchemy.exc import SQLAlchemyError

from privacy.converter import data_converter_for
from privacy.suppressions import FileSuppressionList
from records.accounts import AccountDirectory
from records.config import DatabaseUrlError, describe
from records.database import Database
from records.refusals import Refusal, RefusalNotFound, RefusalStatus, RefusalStore
from starters import journeys, refusals
from starters.settings import StarterSettings
from starters.temporal import TemporalGateway, TemporalUnavailable


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    intake = commands.add_parser(
        "intake",
        help="deliveries the HTTP service refused: list, show, retry after a mapping fix",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = intake.add_subparsers(dest="intake_command", required=True)
    listing = actions.add_parser("list", help="refused deliveries waiting for a human, newest first")
    listing.add_argument("--all", action="store_true", help="also those already retried")
    listing.add_argument("--source", choices=refusals.SOURCES, default=None)
    listing.add_argument("--limit", type=int, default=200)
    listing.add_argument("--json", action="store_true", help="JSON lines for machines")
    show = actions.add_parser("show", help="one refused delivery: its reason and what became of it")
    show.add_argument("id")
    show.add_argument("--content", action="store_true", help="also the delivery itself, decrypted (customer data)")
    retry = actions.add_parser("retry", help="map it again with today's settings and deliver it")
    retry.add_argument("id")
    retry.add_argument("--by", default="staff", help="who retries it, for the record")
    retry.add_argument("--again", action="store_true", help="retry one already retried (a no-op for its journey)")


def run(
    args: argparse.Namespace,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    settings: StarterSettings | None = None,
) -> object:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    return _run(args, out, err, settings)


async def _run(args: argparse.Namespace, out: TextIO, err: TextIO, settings: StarterSettings | None) -> int:
    settings = settings or StarterSettings()
    try:
        db = Database.from_settings(settings.onboarding_database_url, settings.onboarding_data_dir)
    except DatabaseUrlError as exc:
        print(f"error: {exc}", file=err)
        return 2
    store = RefusalStore(db)
    try:
        if args.intake_command == "list":
            return await _list(store, args, out)
        if args.intake_command == "show":
            return await _show(store, settings, args, out)
        return await _retry(store, settings, args, out, err)
    except RefusalNotFound as exc:
        print(f"error: {exc}", file=err)
        return 1
    except (OSError, SQLAlchemyError) as exc:
        print(f"error: the records database {describe(db.url)} is not usable: {exc}", file=err)
        return 2
    finally:
        await db.dispose()


def line(r: Refusal) -> str:
    when = r.last_at.strftime("%Y-%m-%d %H:%M")
    deal = f" deal {r.deal_id}" if r.deal_id else ""
    times = f" (received {r.received}x)" if r.received > 1 else ""
    return f"{r.id}  {r.status.value}  {when}{deal}{times}  {r.reason}"


async def _list(store: RefusalStore, args: argparse.Namespace, out: TextIO) -> int:
    found = await store.list(status=None if args.all else RefusalStatus.waiting, source=args.source, limit=args.limit)
    if args.json:
        for r in found:
            print(json.dumps(r.model_dump(mode="json")), file=out)
        return 0
    if not found:
        print("no refused deliveries waiting" if not args.all else "no refused deliveries", file=out)
    for r in found:
        print(line(r), file=out)
    return 0


async def _show(store: RefusalStore, settings: StarterSettings, args: argparse.Namespace, out: TextIO) -> int:
    kept = await store.get(args.id)
    shown = kept.model_dump(mode="json", exclude={"payload"})
    if args.content:
        converter = data_converter_for(settings.codec_keys())
        shown["content"] = await refusals.unseal(converter, kept.payload)
    print(json.dumps(shown, indent=2, default=str), file=out)
    return 0


async def _retry(
    store: RefusalStore, settings: StarterSettings, args: argparse.Namespace, out: TextIO, err: TextIO
) -> int:
    kept = await store.get(args.id)
    if kept.status == RefusalStatus.retried and not args.again:
        print(f"{kept.id}: already retried by {kept.retried_by} ({kept.outcome}); --again to retry anyway", file=out)
        return 0
    converter = data_converter_for(settings.codec_keys())
    content = await refusals.unseal(converter, kept.payload)
    gateway = TemporalGateway(settings, converter)
    target = journeys.Target(settings.onboarding_task_queue, gateway.rpc_timeout)
    suppressions = FileSuppressionList.in_data_dir(settings.onboarding_data_dir)
    try:
        async with gateway.calls() as client:
            result = await refusals.retry(
                kept,
                content,
                settings=settings,
                client=client,
                suppressions=suppressions,
                target=target,
                accounts=AccountDirectory(store.db),
            )
    except TemporalUnavailable as exc:
        print(f"error: {exc}; nothing changed, retry later", file=err)
        return 2
    if result.errors is not None:
        reason, fields = refusals.reason_of(result.errors)
        await store.still_refused(kept.id, reason, fields)
        print(f"{kept.id}: still refused: {reason}", file=out)
        return 1
    assert result.delivered is not None
    done = await store.retried(
        kept.id, by=args.by, at=datetime.now(UTC), outcome=result.delivered, deal_id=result.deal_id
    )
    print(f"{done.id}: {done.outcome}", file=out)
    return 0
