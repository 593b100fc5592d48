"""`onboarding playbooks`: every playbook file, ok or broken (with its file, field and
reason), and which playbook each segment / product pair selects, as the worker chooses.

    onboarding playbooks [--dir DIR] [--roster FILE]

The pairs are every segment the roster's owners or a playbook's `applies_to` name, with
every product a playbook names (normalised as selection compares them: case-folded,
trimmed, spaces, hyphens and underscores alike; `*` left out; `(none)` is a deal without a
product), then one line for any other deal: the playbook claiming everything, the
fallback (`fallback: true`), or a human. Nothing is started; the files are only read.

Exit status 0: every file loads; 1: some file is broken (the worker logs it, serves the
rest, and sends that file's deals to a human), or has fields this build does not know (the
worker serves it, with a warning); 2: the worker would refuse to start (no
playbook loads, or the fallback is broken), or the directory holds no playbook."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from contracts.playbook import AppliesTo, Playbook, normalise
from owners.roster import PlaybookError, load_roster, roster_path
from playbooks import loader

OTHER = "\0"  # a segment and product nobody names: only `*` or the fallback takes them


def add_command(commands: argparse._SubParsersAction) -> None:
    cmd = commands.add_parser(
        "playbooks",
        help="list the playbook files (ok or broken) and which playbook each segment / product selects",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="playbook directory (default: ONBOARDING_PLAYBOOKS_DIR or the shipped one)",
    )
    cmd.add_argument(
        "--roster", type=Path, default=None, help="roster file (default: ONBOARDING_ROSTER or the shipped one)"
    )


def _names(values: list[str]) -> str:
    return ", ".join(v if v else "(none)" for v in values)


def _claims(applies_to: AppliesTo | None) -> str:
    if applies_to is None:
        return "claims: unknown (the file cannot be read that far)"
    return f"segments: {_names(applies_to.segments)}; products: {_names(applies_to.products)}"


def _languages(playbook: Playbook) -> str:
    """`languages: en (fallback), de (6 of 6 messages)`, and the messages a language lacks
    (their readers get the fallback's); "" for a playbook in one language."""
    translations = playbook.translations()
    if not translations:
        return ""
    total = len(playbook.messages())
    parts = [f"{playbook.languages.fallback} (fallback)"]
    for code, missing in translations.items():
        lacks = f"; not in {', '.join(missing)}: those go out in {playbook.languages.fallback}" if missing else ""
        parts.append(f"{code} ({total - len(missing)} of {total} messages{lacks})")
    return "languages: " + ", ".join(parts)


def _business_time(playbook: Playbook) -> str:
    """`business time: milestones.0.window_hours (2 business days), ...; calendar: DE public
    holidays, 4 closed days of its own`; "" for a playbook in calendar hours without a calendar."""
    durations = [("escalation.sla_hours", playbook.escalation.sla_hours)]
    for i, milestone in enumerate(playbook.milestones):
        durations.append((f"milestones.{i}.window_hours", milestone.window_hours))
        durations += [
            (f"milestones.{i}.follow_ups.{j}.wait_hours", f.wait_hours) for j, f in enumerate(milestone.follow_ups)
        ]
    business = [f"{where} ({duration})" for where, duration in durations if duration.business]
    parts = [f"business time: {', '.join(business)}"] if business else []
    calendar = playbook.calendar
    if calendar is not None:
        country = f"{calendar.country}{'-' + calendar.subdivision if calendar.subdivision else ''} public holidays"
        own = f"{len(calendar.closed)} closed and {len(calendar.open)} open days of its own"
        parts.append(f"calendar: {country if calendar.country else 'no public holidays'}, {own}")
    return "; ".join(parts)


def _label(value: str) -> str:
    return value if value else "(none)"


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    directory = args.dir or loader.playbooks_dir()
    playbooks = loader.load_set(directory, log_problems=False)
    print(f"playbooks in {directory}:", file=out)
    if not playbooks.files:
        print("  (no *.yaml file)", file=out)
    broken = {b.file: b for b in playbooks.broken}
    loaded = {s.source: s for s in playbooks.loaded}
    for file in playbooks.files:
        if (snapshot := loaded.get(file)) is not None:
            flag = "  [fallback]" if snapshot.playbook.fallback else ""
            print(
                f"  ok      {file}: {snapshot.playbook.name}; {_claims(snapshot.playbook.applies_to)}{flag}", file=out
            )
            if line := _languages(snapshot.playbook):
                print(f"          {line}", file=out)
            if line := _business_time(snapshot.playbook):
                print(f"          {line}", file=out)
            continue
        bad = broken[file]
        print(f"  broken  {file}: {bad.reason}", file=out)
        for problem in bad.problems[1:]:
            print(f"            {problem}", file=out)
        print(f"          {_claims(bad.applies_to)}" + ("  [fallback]" if bad.fallback else ""), file=out)

    segments, products = set(), set()
    try:
        for owner in load_roster(args.roster or roster_path()).owners:
            segments |= {normalise(s) for s in owner.segments}
    except PlaybookError as exc:
        print(f"roster: cannot be read, segments from the playbooks only: {exc}", file=err)
    claims = [s.playbook.applies_to for s in playbooks.serving()]
    claims += [b.applies_to for b in playbooks.broken if b.applies_to is not None]
    for applies_to in claims:
        segments |= {normalise(s) for s in applies_to.segments}
        products |= {normalise(p) for p in applies_to.products}
    segments.discard("*")
    products.discard("*")

    print("\nsegment / product -> playbook:", file=out)
    for segment in sorted(segments):
        for product in sorted(products):
            line = _decision(loader.choose(playbooks, segment, product))
            print(f"  {segment} / {_label(product)} -> {line}", file=out)
    other = loader.choose(playbooks, OTHER, OTHER, label="any other deal")
    print(f"  any other segment / product -> {_decision(other)}", file=out)

    # the worker serves a file whose only problems are fields it does not know (a newer build's)
    served = loader.load_set(directory, log_problems=False, unknown_fields="keep")
    if kept := sorted({b.file for b in playbooks.broken} - {b.file for b in served.broken}):
        print(
            f"\n{', '.join(kept)}: only fields this build does not know; the worker serves it with a warning, "
            'keeping them (docs/versioning.md, "Adding a field"): fix a typo, or roll out the build that reads them',
            file=out,
        )
    if problems := served.startup_problems():
        print("\nthe worker refuses to start:", file=out)
        for problem in problems:
            print(f"  {problem}", file=out)
        return 2
    if playbooks.broken:
        print(
            f"\n{len(playbooks.broken)} broken file(s): the worker logs each, serves the rest, and sends "
            "the deals only a broken file could run to a human",
            file=out,
        )
        return 1
    return 0


def _decision(choice: loader.Choice) -> str:
    if choice.snapshot is None:
        return f"a human: {choice.refusal}"
    name = f"{choice.snapshot.playbook.name} ({choice.snapshot.source})"
    if choice.fallback:
        return f"the fallback: {name}"
    if choice.notice:
        return f"{name}: {choice.notice}"
    return name
