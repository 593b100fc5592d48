"""`onboarding`: the one command of the engine's tools, each a subcommand it registers itself.

    onboarding replay | stuck | simulate | backtest | personas | explore | report | db | tasks | roster-sync | playbooks | intake

A tool joins in two steps: its module has `add_command(commands)`, which adds its
subcommand(s) to the argparse subparsers, and `run(args)`, which runs the one chosen and
returns the exit code (or a coroutine that does); then it is listed in TOOLS below, in the
order `onboarding --help` shows it."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import sys
from collections.abc import Sequence

from cli import playbooks as playbooks_cli
from lab import cli as lab_cli
from lab.explore import cli as explore_cli
from lab.learn import cli as learn_cli
from owners import cli as owners_cli
from records import cli as records_cli
from replay import cli as replay_cli
from replay import stuck as stuck_cli
from report import cli as report_cli
from starters import refusals_cli as intake_cli

TOOLS = (
    replay_cli,
    stuck_cli,
    records_cli,
    report_cli,
    owners_cli,
    lab_cli,
    learn_cli,
    explore_cli,
    playbooks_cli,
    intake_cli,
)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="onboarding", description="Onboarding engine tools.")
    commands = root.add_subparsers(dest="command", required=True)
    for tool in TOOLS:
        known = set(commands.choices)
        tool.add_command(commands)
        for name in set(commands.choices) - known:
            commands.choices[name].set_defaults(run=tool.run)
    return root


def run(args: argparse.Namespace) -> int:
    """The chosen subcommand's exit code."""
    code = args.run(args)
    return asyncio.run(code) if inspect.iscoroutine(code) else code


def main(argv: Sequence[str] | None = None) -> None:
    exit_now(run(parser().parse_args(argv)))


def exit_now(code: int) -> None:
    """Exit without interpreter teardown: the SDK's native threads can abort it at exit
    (temporalio/sdk-python#300), which would turn a clean exit code into a crash."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
