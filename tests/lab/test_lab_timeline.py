"""The journey lab shows what the real system does (time-skipping server).

The same persona is walked twice: by the lab (captured outside world) and by hand through
the real worker with its real activities and a real SMTP server, at the same virtual
moments. Every email the SMTP server receives must be in the lab's timeline, at the same
time, with the same kind, subject, recipient and call to action, and nothing more."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from temporalio.testing import WorkflowEnvironment

from contracts.status import OnboardingState
from devstack.smtp_sink import SmtpSink
from lab.personas import PERSONAS_DIR, load_persona
from lab.simulate import PersonaReport, plan, simulate
from owners.roster import load_roster
from playbooks.loader import DEFAULT_DIR
from tests.harness.support import advance_until, assert_replays, start_journey

SYDNEY = ZoneInfo("Australia/Sydney")
CHICAGO = ZoneInfo("America/Chicago")
_LINK = re.compile(r"https?://\S+")
_LEVEL = re.compile(r"^Level (\d+) \((\w+)\) escalation")


async def walk(env: WorkflowEnvironment, name: str) -> PersonaReport:
    plans = plan([load_persona(PERSONAS_DIR / "default" / f"{name}.yaml")], all_personas=False)
    report = await simulate(plans, load_roster(), env=env)
    return report.personas[0]


async def sleep_until(env: WorkflowEnvironment, moment: datetime) -> None:
    now = await env.get_current_time()
    if moment > now:
        await env.sleep(moment - now)


class StampedSink(SmtpSink):
    """Notes the virtual time each email arrives: the clock stands still while the sending
    activity runs, so it is the moment the journey sent it."""

    def __init__(self, env: WorkflowEnvironment) -> None:
        super().__init__()
        self.env = env
        self.stamps: list[datetime] = []

    async def handle_DATA(self, server, session, envelope):
        self.stamps.append(await self.env.get_current_time())
        return await super().handle_DATA(server, session, envelope)


def lab_view(report: PersonaReport) -> list[tuple]:
    start = min(t.at for t in report.touches)
    seen = []
    for t in report.touches:
        offset = (t.at - start).total_seconds()
        if t.what == "message" and t.lane == "customer":
            seen.append((offset, t.kind, t.subject, t.to, t.cta))
        elif t.what == "escalation":
            seen.append((offset, "escalation", f"level {t.level} ({t.kind})", t.to, ""))
    return seen


def smtp_view(sink: StampedSink, close: datetime) -> list[tuple]:
    seen = []
    for at, message in zip(sink.stamps, sink.messages, strict=True):
        offset = (at - close).total_seconds()
        kind = message["X-Onboarding-Kind"]
        if kind == "escalation":
            level, name = _LEVEL.match(message["Subject"]).groups()  # type: ignore[union-attr]
            seen.append((offset, kind, f"level {level} ({name})", message["To"].addresses[0].display_name, ""))
        else:
            [link] = _LINK.findall(message.get_content())
            seen.append((offset, kind, message["Subject"], str(message["To"]), link))
    return seen


async def test_lab_timeline_equals_the_real_system_with_smtp(ts_env, tmp_path, journeys):
    lab = await walk(ts_env, "fails-then-help")
    owner = next(t.detail for t in lab.touches if t.what == "owner" and t.kind == "assigned")
    owner_id = owner.split("(")[1].rstrip(")")

    # The same persona by hand: the real worker, real activities, real SMTP, the shipped playbook.
    [p] = plan([load_persona(PERSONAS_DIR / "default" / "fails-then-help.yaml")], all_personas=False)
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    shutil.copy(DEFAULT_DIR / "default.yaml", playbooks / "default.yaml")
    client = ts_env.client
    async with (
        StampedSink(ts_env) as sink,
        journeys(client, playbooks=playbooks, smtp_url=sink.url) as task_queue,
    ):
        close = p.start.next_after(await ts_env.get_current_time())
        await sleep_until(ts_env, close)
        handle = await start_journey(client, task_queue, p.deal.model_copy(update={"closed_at": close}))

        def at(hours: float) -> datetime:
            return close + timedelta(hours=hours)

        script = [
            (1, "owner_acknowledged", {"by": owner_id, "note": "lab"}),
            (
                26,
                "action_failed",
                {"action": "dataset_uploaded", "reason": "invalid header in row 1", "event_id": "f-1"},
            ),
            (
                28,
                "action_failed",
                {"action": "dataset_uploaded", "reason": "invalid header in row 1", "event_id": "f-2"},
            ),
            (
                28 + 5,
                "resolve_escalation",
                {"decision": "retry", "by": "maya", "note": "walked them through the import"},
            ),
            (
                72,
                "help_requested",
                {"message": "Our CSV export has two header rows. What should we do?", "event_id": "h-1"},
            ),
            (
                72 + 5,
                "resolve_escalation",
                {"decision": "retry", "by": "maya", "note": "walked them through the import"},
            ),
            (96, "action_taken", {"action": "dataset_uploaded", "event_id": "t-1"}),
            (96 + 24, "action_taken", {"action": "dashboard_shared", "event_id": "t-2"}),
            (120 + 72, "action_taken", {"action": "teammates_invited", "event_id": "t-3"}),
        ]
        for hours, name, payload in script:
            await sleep_until(ts_env, at(hours))
            if name == "resolve_escalation":
                await handle.execute_update(name, payload)
            else:
                await handle.signal(name, payload)
        await advance_until(ts_env, handle, lambda s: s.state is OnboardingState.activated, step=timedelta(minutes=1))
        real = smtp_view(sink, close)
        await assert_replays(handle)

    expected = lab_view(lab)
    assert [r[1:] for r in real] == [e[1:] for e in expected]  # kind, subject, recipient, CTA, in order
    for (real_at, *_), (lab_at, *_) in zip(real, expected, strict=True):
        assert abs(real_at - lab_at) < 2, (real, expected)  # the same virtual moment
    assert len(real) == 9 and sum(r[1] == "escalation" for r in real) == 2


async def test_weekend_closer_in_sydney_gets_the_kickoff_monday_0900_sydney_time(ts_env):
    report = await walk(ts_env, "weekend-closer")
    closed = min(t.at for t in report.touches).astimezone(SYDNEY)
    assert (closed.strftime("%a"), closed.hour, closed.minute) == ("Fri", 17, 30)
    kickoff = next(t for t in report.touches if t.what == "message" and t.kind == "direction")
    local = kickoff.at.astimezone(SYDNEY)
    assert (local.strftime("%a"), local.hour, local.minute) == ("Mon", 9, 0)
    assert kickoff.at - closed < timedelta(days=3)  # the Monday right after, not a later one
    row = next(r for r in report.rows if r.what == "message")
    assert row.local.startswith("Mon") and row.local.endswith("09:00")
    assert row.utc.startswith("Sun") and row.utc.endswith("UTC")  # Sydney is ahead of UTC


async def test_silent_persona_follow_ups_fall_inside_business_hours(ts_env):
    report = await walk(ts_env, "silent")
    follow_ups = [t for t in report.touches if t.what == "message" and t.kind in ("clarify", "simplify", "redirect")]
    assert [t.kind for t in follow_ups] == ["clarify", "simplify", "redirect"]
    for t in follow_ups:
        local = t.at.astimezone(CHICAGO)
        assert local.weekday() < 5 and 9 <= local.hour < 17, (t.kind, local)
    # the simplify falls due on a Saturday and waits for Monday's opening
    simplify = follow_ups[1].at.astimezone(CHICAGO)
    assert (simplify.strftime("%a"), simplify.hour, simplify.minute) == ("Mon", 9, 0)
    assert report.outcome.state == "escalated" and report.outcome.escalations == 1


FIXTURE_PERSONAS = Path(__file__).resolve().parents[1] / "fixtures" / "personas"


async def test_a_failure_while_the_simplify_waits_for_monday_is_answered_and_the_walk_goes_on(ts_env):
    """Journey v3.4: the help goes out at once on Saturday, the held simplify still waits for
    Monday 09:00, then the redirect and the human. Before, the journey spun in one workflow
    task from the failure on, and the walk stalled until the lab abandoned it."""
    plans = plan([load_persona(FIXTURE_PERSONAS / "fails-on-the-weekend.yaml")], all_personas=False)
    report = (await simulate(plans, load_roster(), env=ts_env)).personas[0]
    seen = [
        (t.kind if t.what == "message" else t.what, t.at.astimezone(CHICAGO))
        for t in report.touches
        if (t.what == "message" and t.lane == "customer") or (t.what == "escalation" and t.level == 1)
    ]
    assert [what for what, _ in seen] == ["direction", "clarify", "help", "simplify", "redirect", "escalation"]
    shown = [(at.strftime("%a"), at.hour, at.minute) for _, at in seen]
    assert shown == [("Tue", 10, 0), ("Fri", 10, 0), ("Sat", 12, 0), ("Mon", 9, 0), ("Tue", 9, 0), ("Wed", 9, 0)]
    help_message = next(t for t in report.touches if t.what == "message" and t.kind == "help")
    assert help_message.proactive is False  # a reply to the failure
    assert report.outcome.state == "escalated"
    assert report.verdicts and all(v.held for v in report.verdicts), [v for v in report.verdicts if not v.held]


async def test_deal_flags_override_the_persona_deal(ts_env):
    """`--timezone` and `--amount` over the persona's own deal: the fast starter as a
    high-value customer in Tokyo gets a human first, and Tokyo's business hours."""
    from lab.deals import DealFlags

    plans = plan(
        [load_persona(PERSONAS_DIR / "default" / "fast-starter.yaml")],
        flags=DealFlags(timezone="Asia/Tokyo", amount=300000),
        all_personas=False,
    )
    assert plans[0].deal.account.timezone == "Asia/Tokyo" and plans[0].deal.amount == 300000
    report = (await simulate(plans, load_roster(), env=ts_env)).personas[0]
    assert report.timezone == "Asia/Tokyo"
    first = next(t for t in report.touches if t.what in ("message", "escalation"))
    assert first.what == "escalation" and "high-value deal" in first.detail
    closed = min(t.at for t in report.touches).astimezone(ZoneInfo("Asia/Tokyo"))
    assert (closed.strftime("%a"), closed.hour) == ("Tue", 10)
