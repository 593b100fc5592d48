"""`onboarding simulate`: walk personas through a playbook on the real journey workflow, in
virtual time, and judge each walk against its expectations."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from temporalio.testing import WorkflowEnvironment

from contracts.deal import DealClosed
from contracts.playbook import BusinessHours, PlaybookSnapshot
from contracts.search_attributes import start_options
from lab.calendar import shown
from lab.deals import DealFlags, persona_deal
from lab.errors import LabError
from lab.outcome import Outcome, outcome_of
from lab.personas import PersonaFile, StaffAction
from lab.record import JourneyRecord, Touch
from lab.runtime import STALL_SECONDS, Lab
from lab.script import Note, Script, Send, StaffRule, StartInPast, StartRule, Step, Trigger
from lab.verdicts import Verdict, judge
from lab.world import JourneySetup
from owners.roster import Roster
from playbooks import loader, variants
from privacy.contacts import contact_hash

EVERY = "every"
# `--variant all`: every variant of the playbook, side by side (also what no --variant does).
ALL_VARIANTS = "all"


class Row(BaseModel):
    """One line of a persona's timeline."""

    at: datetime
    local: str
    utc: str
    lane: str  # customer | owner | system
    what: str
    text: str
    ok: bool = True
    # A message's subject and text as its reader gets them (rendered, in their language).
    subject: str = ""
    body: str = ""


class PersonaReport(BaseModel):
    persona: str
    variant: str | None = None  # the playbook experiment's arm this walk ran
    description: str
    file: str
    deal_id: str
    segment: str
    amount: float
    timezone: str
    playbook: str
    business_hours: BusinessHours
    closed_local: str
    closed_utc: str
    started_at: datetime | None = None  # the journey's start (the deal closed)
    rows: list[Row]
    touches: list[Touch]
    outcome: Outcome
    verdicts: list[Verdict] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    stuck: str | None = None  # the lab abandoned this walk: what held the clock, where it stood

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.held]

    @property
    def label(self) -> str:
        return walk_label(self.persona, self.variant)


class LabReport(BaseModel):
    personas: list[PersonaReport]

    @property
    def failed(self) -> list[Verdict]:
        return [v for p in self.personas for v in p.failed]


class Plan(BaseModel):
    """One persona, ready to walk."""

    model_config = {"arbitrary_types_allowed": True}

    file: PersonaFile
    deal: DealClosed
    start: StartRule
    snapshot: PlaybookSnapshot
    playbook_source: Path
    script: Script
    variant: str | None = None
    warnings: list[str] = Field(default_factory=list)


def walk_label(persona: str, variant: str | None) -> str:
    """A persona's name, with the experiment's arm when it walked one: `silent [sample]`."""
    return f"{persona} [{variant}]" if variant else persona


def arms(snapshot: PlaybookSnapshot, chosen: Sequence[str] | None) -> list[str | None]:
    """The variants to walk a persona through: `chosen` names (`--variant`), or every variant
    the playbook declares (`all`, or no --variant); None is the playbook as written, for a
    playbook without variants."""
    book, declared = snapshot.playbook, variants.names(snapshot)
    where = f"playbook {book.name} ({snapshot.source})"
    if not chosen:
        return list(declared) or [None]
    if not declared:
        raise LabError(f"--variant: {where} declares no variants (its `variants:` list is empty)")
    if ALL_VARIANTS in chosen:
        return list(declared)
    unknown = [name for name in chosen if name not in declared]
    if unknown:
        raise LabError(
            f"--variant: no variant {', '.join(map(repr, unknown))} in {where}; its variants: {', '.join(declared)}"
        )
    return list(dict.fromkeys(chosen))


# ------------------------------------------------------------------ planning (before anything runs)


def plan(
    personas: list[PersonaFile],
    *,
    playbook: Path | None = None,
    playbooks_dir: Path | None = None,
    base_deal: dict[str, Any] | None = None,
    flags: DealFlags | None = None,
    horizon_seconds: float | None = None,
    all_personas: bool = True,
    variant: Sequence[str] | None = None,
    own: bool = False,
    deal_ids: Callable[[str], str] | None = None,
) -> list[Plan]:
    """Deal, playbook and script for every persona, once per variant of its playbook that
    `variant` selects (see `arms`); every problem found is reported at once. `own`: the
    personas are the playbook's own (lab/owned.py), so a product event it does not know is
    an error rather than a warning; `deal_ids` names each persona's deal (default
    `LAB-<persona>`)."""
    flags = flags if flags is not None else DealFlags()
    plans: list[Plan] = []
    problems: list[str] = []
    playbooks = None if playbook else loader.load_all(playbooks_dir)
    for pf in personas:
        try:
            deal, start = persona_deal(pf.persona, base_deal, flags, base_deal is not None)
            if start.date is not None:  # the lab's clock starts at the real time
                try:
                    start.next_after(datetime.now(UTC))
                except StartInPast as err:
                    raise LabError(f"{pf.path}: deal.{err}") from None
            if playbook is not None:
                snapshot, source = loader.load_playbook(playbook), playbook
            else:
                assert playbooks is not None
                snapshot = loader.select(playbooks, deal.segment, deal.product)
                source = playbooks_dir or loader.playbooks_dir()
            if deal_ids is not None:
                deal = deal.model_copy(update={"deal_id": deal_ids(pf.persona.name)})
            own_events = _own_events(snapshot) if own else None
            for arm in arms(snapshot, variant):
                # The journey honours the variant its snapshot names, as when snapshot_playbook
                # drew it by the deal id; each arm walks its own deal, side by side.
                walked = variants.force(snapshot, arm) if arm else snapshot
                arm_deal = deal.model_copy(update={"deal_id": f"{deal.deal_id}.{arm}"}) if arm else deal
                plans.append(
                    Plan(
                        file=pf,
                        deal=arm_deal,
                        start=start,
                        snapshot=walked,
                        playbook_source=source,
                        script=persona_script(pf, arm_deal, start, walked, horizon_seconds),
                        variant=arm,
                        warnings=_check_against_playbook(pf, walked, own_events),
                    )
                )
        except (LabError, loader.PlaybookError) as err:
            problems.append(str(err))
    names = {p.persona.name for p in personas}
    for snapshot in {id(p.snapshot): p.snapshot for p in plans}.values():
        unknown = sorted(set(snapshot.playbook.expectations) - names - {EVERY})
        if unknown and all_personas:
            problems.append(
                f"{snapshot.source}: expectations: no persona named {', '.join(map(repr, unknown))} "
                f"(personas: {', '.join(sorted(names))})"
            )
    if problems:
        raise LabError("\n".join(dict.fromkeys(problems)))  # personas sharing a playbook: said once
    return plans


def _own_events(snapshot: PlaybookSnapshot) -> set[str]:
    """Every product event the playbook, or one of its variants, knows."""
    book = snapshot.playbook
    events = {e for m in book.milestones for e in m.events()}
    for arm in book.variants:
        events |= {e for m in book.variant(arm.name).milestones for e in m.events()}
    return events


def _check_against_playbook(
    pf: PersonaFile, snapshot: PlaybookSnapshot, own_events: set[str] | None = None
) -> list[str]:
    """Triggers and milestones must exist (an error); events the playbook does not know are
    legal (a product sends many) but worth a warning. A playbook's own persona (`own_events`:
    what the playbook and its variants know) may send only those: another event means it was
    written for another playbook (an error)."""
    book = snapshot.playbook
    name = f"{book.name} (variant {snapshot.variant})" if snapshot.variant else book.name
    keys = [m.key for m in book.milestones]
    events = {e for m in book.milestones for e in m.events()}
    problems, warnings = [], []
    for i, step in enumerate(pf.persona.steps):
        trigger = step.trigger
        if trigger and trigger.milestone and trigger.milestone not in keys:
            problems.append(
                f"{pf.path}: customer.{i}.after: no milestone {trigger.milestone!r} in playbook {book.name} "
                f"({snapshot.source}; its milestones: {', '.join(keys)})"
            )
        if own_events is not None and step.do in ("taken", "failed") and step.action not in own_events:
            problems.append(
                f"{pf.path}: customer.{i}.action: {step.action!r} is not a product event of playbook {book.name} "
                f"({snapshot.source}), whose persona this is; its events: {', '.join(sorted(own_events))}"
            )
        elif step.do in ("taken", "failed") and step.action not in events:
            warnings.append(
                f"customer.{i}: {step.action!r} is not a product event of playbook {name}; the journey will not count it"
            )
    for i, action in enumerate(pf.persona.staff_actions):
        trigger = action.trigger
        if trigger and trigger.milestone and trigger.milestone not in keys:
            problems.append(
                f"{pf.path}: staff_actions.{i}.after: no milestone {trigger.milestone!r} in playbook {book.name} "
                f"({snapshot.source}; its milestones: {', '.join(keys)})"
            )
    for i, expectation in enumerate(pf.persona.expectations):
        milestone = getattr(getattr(expectation, "completes", None), "milestone", None)
        if milestone and milestone not in keys:
            problems.append(
                f"{pf.path}: expectations.{i}.completes.milestone: no milestone {milestone!r} in playbook "
                f"{book.name} ({snapshot.source}; its milestones: {', '.join(keys)})"
            )
    if problems:
        raise LabError("\n".join(problems))
    return warnings


def persona_script(
    pf: PersonaFile, deal: DealClosed, start: StartRule, snapshot: PlaybookSnapshot, horizon: float | None
) -> Script:
    persona = pf.persona
    steps = []
    for i, st in enumerate(persona.steps, start=1):
        event_id = st.event_id or f"{persona.name}-{i}"
        if st.do == "taken":
            send = Send(
                kind="signal", name="action_taken", payload={"action": st.action, "event_id": event_id, "source": "lab"}
            )
            label = f"takes {st.action}"
        elif st.do == "failed":
            send = Send(
                kind="signal",
                name="action_failed",
                payload={"action": st.action, "reason": st.reason, "event_id": event_id},
            )
            label = f"fails at {st.action}"
        elif st.do == "help":
            send = Send(kind="signal", name="help_requested", payload={"message": st.message, "event_id": event_id})
            label = "asks for help"
        elif st.do == "unsubscribe":
            send = Send(
                kind="signal",
                name="unsubscribed",
                payload={"contact_hash": contact_hash(deal.contacts[0].email)},
                now=["at"],
            )
            label = "unsubscribes"
        else:
            send = Send(kind="signal", name="cancel", payload={"reason": st.reason or "deal lost"})
            label = "the deal is lost"
        trigger = st.trigger
        steps.append(
            Step(
                at_seconds=st.at.seconds,
                after=Trigger(touchpoint=trigger.touchpoint, milestone=trigger.milestone) if trigger else None,
                send=send,
                label=label,
            )
        )
    steps += [staff_step(action) for action in persona.staff_actions]
    decisions, repeat = persona.decisions
    ack = persona.owner.acknowledges_after
    # started as the starters start a journey (its id, summary, details, search attributes)
    options = start_options(deal, playbook_name=snapshot.playbook.name)
    return Script(
        label=walk_label(persona.name, snapshot.variant),
        workflow_id=options["id"],
        journey_input={"deal_id": deal.deal_id, "deal": deal.model_dump(mode="json")}
        | ({"continue_as_new_after": persona.continue_as_new_after} if persona.continue_as_new_after else {}),
        summary=options["static_summary"],
        details=options["static_details"],
        search_attributes={p.key.name: str(p.value) for p in options["search_attributes"].search_attributes},
        start=start,
        horizon_seconds=horizon or persona.horizon.seconds,
        steps=steps,
        owner_acknowledges_after_seconds=None if ack == "never" else ack.seconds,
        staff=[
            StaffRule(decision=d.resolve, after_seconds=d.after.seconds, owner=d.owner, by=d.by, note=d.note)
            for d in decisions
        ],
        staff_repeat=repeat,
        stamp_close=True,
    )


def staff_step(action: StaffAction) -> Step:
    """A timed staff action as the update the Web UI would send."""
    by: dict[str, Any] = {"by": action.by, "note": "lab"}
    payload: dict[str, Any]
    moments: dict[str, float] = {}
    if action.do in ("retry", "skip", "close"):
        name, payload, label = "resolve_escalation", {"decision": action.do, **by}, f"{action.by} resolves: {action.do}"
    elif action.do == "reassign":
        name, payload, label = (
            "reassign_owner",
            {"owner": action.owner, **by},
            f"{action.by} reassigns to {action.owner}",
        )
    elif action.do == "extend":
        assert action.until is not None
        name, payload, label = (
            "extend_deadline",
            dict(by),
            f"{action.by} extends the due time to start + {action.until}",
        )
        moments = {"until": action.until.seconds}
    elif action.do == "pause":
        name, payload, label = "pause", {"by": action.by, "reason": "lab"}, f"{action.by} pauses"
    else:
        name, payload, label = "resume", dict(by), f"{action.by} resumes"
    trigger = action.trigger
    return Step(
        at_seconds=action.at.seconds,
        after=Trigger(touchpoint=trigger.touchpoint, milestone=trigger.milestone) if trigger else None,
        send=Send(kind="update", name=name, payload=payload, moments=moments),
        label=label,
    )


# ------------------------------------------------------------------ running and judging


async def simulate(
    plans: list[Plan],
    roster: Roster,
    *,
    env: WorkflowEnvironment | None = None,
    progress: Callable[[str], None] | None = None,
    stall_seconds: float = STALL_SECONDS,
) -> LabReport:
    """Every persona side by side on one time-skipping server (see lab/runtime.py). A walk
    whose journey holds the shared clock for `stall_seconds` of real time is abandoned and
    reported stuck (a failed expectation); the others are reported as usual."""
    async with Lab.open(roster, env, stall_seconds=stall_seconds) as lab:

        async def one(p: Plan) -> PersonaReport:
            walked = await lab.walk(p.script, JourneySetup(playbook=p.snapshot), status=True)
            label = walk_label(p.file.persona.name, p.variant)
            if progress:
                progress(f"{label}: stuck, abandoned ({walked.stuck})" if walked.stuck else f"{label}: walked")
            report = report_for(
                p, walked.record, walked.outcome.final_status, walked.outcome.notes, walked.outcome.not_reached
            )
            return stuck_report(report, walked.stuck) if walked.stuck else report

        reports = await asyncio.gather(*(one(p) for p in plans))
    return LabReport(personas=list(reports))


def stuck_report(report: PersonaReport, why: str) -> PersonaReport:
    """A walk the lab abandoned: its journey as far as it got, and a failed expectation that
    names what held the clock and where the journey stood (`--check` exits 1)."""
    stuck = Verdict(
        persona=report.label,
        expectation="the journey walks to its horizon",
        source="the lab",
        held=False,
        happened=f"stuck: {why}",
    )
    outcome = report.outcome.model_copy(update={"state": "stuck"})
    # the rest of its expectations cannot be judged on a walk that never reached its horizon
    return report.model_copy(update={"stuck": why, "outcome": outcome, "verdicts": [stuck]})


def report_for(
    p: Plan,
    record: JourneyRecord,
    status: dict[str, Any] | None,
    notes: list[Note],
    not_reached: list[str],
) -> PersonaReport:
    persona, book = p.file.persona, p.snapshot.playbook
    outcome = outcome_of(record, status)
    sources = [(f"persona file {p.file.path.name}", e) for e in persona.expectations]
    sources += [(f"playbook {book.name}: {EVERY}", e) for e in book.expectations.get(EVERY, [])]
    sources += [(f"playbook {book.name}: {persona.name}", e) for e in book.expectations.get(persona.name, [])]
    label = walk_label(persona.name, p.variant)
    verdicts = [judge(label, source, e, record, outcome, book.business_hours) for source, e in sources]
    tz = record.timezone
    rows = [_row(t, tz) for t in record.touches]
    rows += [
        Row(
            at=n.at,
            local=shown(n.at, tz)[0],
            utc=shown(n.at, tz)[1],
            lane="owner" if n.lane in ("staff", "owner") else n.lane if n.lane == "customer" else "system",
            what="refused",
            text=n.text,
            ok=False,
        )
        for n in notes
        if not n.done
    ]
    rows.sort(key=lambda r: r.at)
    closed_local, closed_utc = shown(record.started_at, tz)
    return PersonaReport(
        persona=persona.name,
        variant=p.variant,
        description=persona.description,
        file=str(p.file.path),
        deal_id=p.deal.deal_id,
        segment=p.deal.segment,
        amount=p.deal.amount,
        timezone=tz,
        playbook=f"{book.name} ({p.snapshot.source})",
        business_hours=book.business_hours,
        closed_local=f"{closed_local} {tz}",
        closed_utc=closed_utc,
        started_at=record.started_at,
        rows=rows,
        touches=record.touches,
        outcome=outcome,
        verdicts=verdicts,
        warnings=p.warnings + [f"never happened: {n}" for n in not_reached],
    )


def _row(t: Touch, tz: str) -> Row:
    local, utc = shown(t.at, tz)
    if t.what == "message":
        reply = "" if t.proactive is None else (" (proactive)" if t.proactive else " (reply)")
        text = f'{t.kind}{reply} [{t.milestone}] "{t.subject}" to {t.to}' + (f" · CTA {t.cta}" if t.cta else "")
    elif t.what == "customer":
        text = {"taken": "takes", "failed": "fails at", "help": "asks for help:"}.get(t.kind, t.kind) + f" {t.detail}"
    elif t.what == "owner":
        text = f"owner {t.kind}: {t.detail}"
    elif t.what == "escalation":
        text = f"escalation level {t.level} ({t.kind}) to {t.to} [{t.milestone}]: {t.detail}"
    elif t.what == "staff":
        text = f"staff: {t.kind} {t.detail}"
    elif t.what == "state":
        level = f" · escalation level {t.level}" if t.level else ""
        text = f"state {t.kind} · {t.milestone}{level} · {t.detail}"
    else:
        text = f"{t.kind} {t.detail}"
    return Row(
        at=t.at,
        local=local,
        utc=utc,
        lane=t.lane,
        what=t.what,
        text=text.strip(),
        ok=t.ok,
        subject=t.subject if t.what == "message" else "",
        body=t.body if t.what == "message" else "",
    )
