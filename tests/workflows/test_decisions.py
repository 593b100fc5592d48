"""The journey's pure decisions (workflows/decisions.py), without a server: milestones, follow-ups,
escalation, what is eligible next, message keys and due-time moves."""

from datetime import UTC, datetime, timedelta

from contracts.durations import Duration
from contracts.journey import FailureTally, HelpTally, Inbox, JourneyState, MilestoneProgress, SentHelp
from contracts.owners import OwnerAssignment, Person
from contracts.playbook import EscalationPolicy
from contracts.status import OnboardingState
from playbooks.loader import load_all
from tests.harness.support import make_deal
from workflows import decisions, waits
from workflows.waits import Wake

PLAYBOOK = load_all()[0].playbook
FIRST = PLAYBOOK.milestones[0]
NOW = datetime(2026, 11, 24, tzinfo=UTC)


def progress(**kw):
    return MilestoneProgress(index=0, key=FIRST.key, started_at=NOW, **kw)


def test_action_or_any_alternate_completes_the_milestone():
    assert decisions.completing_event(FIRST, Inbox()) is None
    assert decisions.completing_event(FIRST, Inbox(taken={"dataset_uploaded": NOW})) == "dataset_uploaded"
    assert decisions.completing_event(FIRST, Inbox(taken={"setup_call_booked": NOW})) == "setup_call_booked"
    # an event of a later milestone does not complete this one
    assert decisions.completing_event(FIRST, Inbox(taken={"dashboard_shared": NOW})) is None


def test_help_repeats_only_for_the_same_action_and_reason_within_the_window():
    last = SentHelp(action="dataset_uploaded", reason="CSV has no header", at=NOW)
    later = NOW + timedelta(minutes=29)
    assert decisions.repeats_help(FIRST, last, "dataset_uploaded", "CSV has no header", later)
    assert not decisions.repeats_help(FIRST, None, "dataset_uploaded", "CSV has no header", later)
    assert not decisions.repeats_help(FIRST, last, "dataset_uploaded", "file too large", later)
    assert not decisions.repeats_help(FIRST, last, "database_connected", "CSV has no header", later)
    assert not decisions.repeats_help(FIRST, last, "dataset_uploaded", "CSV has no header", NOW + timedelta(minutes=30))
    off = FIRST.model_copy(update={"help_coalesce_minutes": 0})
    assert not decisions.repeats_help(off, last, "dataset_uploaded", "CSV has no header", NOW)


def test_follow_ups_run_clarify_simplify_redirect_then_none():
    kinds = [decisions.next_follow_up(FIRST, progress(follow_ups_sent=n)) for n in range(4)]
    assert [k.kind.value if k else None for k in kinds] == ["clarify", "simplify", "redirect", None]


def test_current_action_is_the_latest_alternate_offered():
    assert decisions.current_action(FIRST, progress()).title == "Upload your first dataset"
    assert decisions.current_action(FIRST, progress(follow_ups_sent=1)).title == "Upload your first dataset"
    assert decisions.current_action(FIRST, progress(follow_ups_sent=2)).title == "Load the sample dataset"
    assert decisions.current_action(FIRST, progress(follow_ups_sent=3)).title == "Book a 15-minute setup call"


def test_high_risk_and_failure_thresholds():
    policy = EscalationPolicy(kickoff_amount_above=100_000, after_failed_attempts=2)
    assert decisions.is_high_risk(policy, make_deal(amount=150_000))
    assert not decisions.is_high_risk(policy, make_deal(amount=100_000))
    assert not decisions.is_high_risk(EscalationPolicy(), make_deal(amount=10**9))
    assert not decisions.failures_exhausted(policy, 1)
    assert decisions.failures_exhausted(policy, 2)


def test_escalation_moves_up_and_falls_back_when_a_level_is_empty():
    owner = Person(id="maya", name="Maya", email="m@v.example")
    backup = Person(id="leo", name="Leo", email="l@v.example")
    manager = Person(id="dana", name="Dana", email="d@v.example")
    policy = EscalationPolicy(levels=["owner", "backup", "manager"])
    full = OwnerAssignment(owner=owner, backup=backup, manager=manager)
    assert [decisions.escalation_assignee(policy, n, full)[1].id for n in (1, 2, 3, 4)] == [
        "maya",
        "leo",
        "dana",
        "dana",
    ]
    no_backup = OwnerAssignment(owner=owner, manager=None)
    assert decisions.escalation_assignee(policy, 2, no_backup) == ("owner", owner)
    assert decisions.has_next_level(policy, 2) and not decisions.has_next_level(policy, 3)


def test_eligible_touchpoints_explain_what_can_happen_next():
    policy = PLAYBOOK.escalation
    assert decisions.eligible_touchpoints(OnboardingState.awaiting_action, FIRST, progress(), policy) == [
        "direction",
        "clarify",
        "simplify",
        "redirect",
        "help (on a failed attempt)",
        "escalation",
    ]
    sent = progress(direction_sent_at=NOW, follow_ups_sent=2)
    assert decisions.eligible_touchpoints(OnboardingState.clarifying, FIRST, sent, policy)[:1] == ["redirect"]
    assert decisions.eligible_touchpoints(OnboardingState.escalated, FIRST, sent, policy) == ["resolve_escalation"]
    assert decisions.eligible_touchpoints(OnboardingState.closed, FIRST, sent, policy) == []


def test_message_keys_never_use_the_run_id():
    assert (
        decisions.message_key("onboarding-D-1", "first_action", "clarify", 3) == "onboarding-D-1:first_action:clarify:3"
    )


def test_once_overdue_the_customers_input_comes_before_the_follow_up():
    """v3.4 (patch `inbox-before-due`): the due time has passed and the customer acted,
    failed, asked for help or unsubscribed meanwhile: that is answered first, the follow-up
    after (each answer takes its input out of the inbox)."""
    owner = OwnerAssignment(owner=Person(id="leo", name="Leo", email="l@v.example"))
    state = JourneyState(deal=make_deal(), playbook=load_all()[0], owner=owner, started_at=NOW, progress=progress())

    def first(box: Inbox, *, inbox_first: bool = True, spins: bool = False) -> Wake:
        waiting = waits.pending(waits.CUSTOMER, box, state, FIRST)
        return waits.overdue(waiting, inbox_first=inbox_first, spins_otherwise=spins)

    failed = Inbox(failures={"dataset_uploaded": FailureTally(count=1, reason="bad header")})
    helped = Inbox(help=HelpTally(count=1, message="?"))
    assert first(Inbox()) is Wake.due
    assert first(failed) is Wake.failed
    assert first(helped) is Wake.help
    assert first(Inbox(unsubscribed_at=NOW)) is Wake.unsubscribed
    assert first(Inbox(taken={"sample_dataset_loaded": NOW}, help=helped.help)) is Wake.acted  # acted wins
    assert first(Inbox(failures={"dashboard_shared": FailureTally(count=1)})) is Wake.failed  # another step's: dropped
    # a run that replayed the older order (the patch reads as absent): the follow-up first,
    # except where that spun
    assert first(failed, inbox_first=False) is Wake.due
    assert first(failed, inbox_first=False, spins=True) is Wake.failed
    assert first(Inbox(), inbox_first=False, spins=True) is Wake.due


def test_the_older_order_spun_only_when_a_held_follow_up_gave_way_to_unanswered_input():
    def spins(waiting: Wake | None, **changes: bool) -> bool:
        facts = dict(follow_up_left=True, held=True, unsubscribed=False, paused=False, cancelled=False)
        return waits.spins_before_v3_4(waiting, **{**facts, **changes})

    assert spins(Wake.failed) and spins(Wake.help)  # the hold gives way, and the journey comes straight back
    assert not spins(None)  # nothing pending: the hold waits
    assert not spins(Wake.acted)  # the milestone completes
    assert not spins(Wake.unsubscribed, unsubscribed=True)  # noted as not emailed, never held
    assert not spins(Wake.failed, held=False)  # sent at once, then the failure is answered
    assert not spins(Wake.failed, follow_up_left=False)  # escalated after every follow-up
    assert not spins(Wake.failed, paused=True)  # the journey waits for the resume
    assert not spins(Wake.help, cancelled=True)  # the journey closes


def waiting(state: OnboardingState, now: datetime, due: datetime | None) -> JourneyState:
    """A journey in its first milestone since `now`, in `state`, due at `due`."""
    return JourneyState(
        deal=make_deal(),
        playbook=load_all()[0],
        owner=OwnerAssignment(owner=Person(id="o", name="O", email="o@x.example")),
        started_at=now,
        state=state,
        progress=MilestoneProgress(index=0, key="first_action", started_at=now, due_at=due),
    )


def test_a_due_time_can_only_move_into_the_future():
    """While a follow-up waits for business hours the current due time may be past: a new
    one between it and now is refused, naming `until`."""
    due = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)  # Saturday 10:00, passed
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    state = waiting(OnboardingState.clarifying, now, due)
    refused = decisions.extension_problem(state, due.replace(hour=11), now)
    assert refused is not None and refused.startswith("until: must be in the future")
    assert decisions.extension_problem(state, now.replace(hour=13), now) is None


def test_a_due_time_being_set_is_refused_as_not_yet_there():
    """Between the kickoff email and its recorded moment the journey waits on the customer
    with no due time yet: staff are told to try again, not that nothing went out."""
    now = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    state = waiting(OnboardingState.awaiting_action, now, None)
    refused = decisions.extension_problem(state, now.replace(hour=13), now)
    assert refused is not None and refused.startswith("extend_deadline: no due time yet")
    assert "try again in a few seconds" in refused


# ------------------------------------------------------------------ the high-value rule, by currency

USD_250K = {"amount": 250_000, "currency": "USD", "rates": {"JPY": 0.0067, "EUR": 1.08}}


def test_a_threshold_in_usd_converts_the_deal_before_comparing():
    policy = EscalationPolicy(kickoff_amount_above=USD_250K)
    assert not decisions.is_high_risk(policy, make_deal(amount=300_000, currency="JPY"))  # about 2,000 USD
    assert decisions.is_high_risk(policy, make_deal(amount=300_000, currency="USD"))
    assert not decisions.is_high_risk(policy, make_deal(amount=250_000, currency="USD"))  # above, not at
    assert decisions.is_high_risk(policy, make_deal(amount=240_000, currency="EUR"))  # 259,200 USD
    assert decisions.is_high_risk(policy, make_deal(amount=40_000_000, currency="jpy"))  # codes compared upper-cased
    assert decisions.high_value_review(policy, make_deal(amount=300_000, currency="USD")) == decisions.HIGH_VALUE


def test_a_deal_in_a_currency_the_playbook_cannot_convert_gets_the_review():
    policy = EscalationPolicy(kickoff_amount_above=USD_250K)
    why = decisions.high_value_review(policy, make_deal(amount=10, currency="CHF"))
    assert why is not None and "no rate from CHF to USD" in why


def test_a_plain_number_compares_in_the_deals_own_currency_as_before():
    """The form every playbook (and every running journey's snapshot) had before currencies."""
    policy = EscalationPolicy(kickoff_amount_above=250_000)
    assert decisions.is_high_risk(policy, make_deal(amount=300_000, currency="JPY"))
    assert not decisions.is_high_risk(policy, make_deal(amount=200_000, currency="USD"))
    assert policy.kickoff_amount_above == 250_000.0


def test_an_sla_in_business_time_counts_in_the_zone_of_whoever_holds_the_task_at_its_level():
    """`decisions.sla_due`: level 1 the owner's zone (New York), level 2 the backup's (Lisbon),
    with the playbook's business hours (09:00-17:00) and its closed days; a number stays
    calendar hours whoever holds it."""
    [default] = [s for s in load_all() if s.playbook.name == "default"]
    escalation = default.playbook.escalation.model_copy(
        update={"sla_hours": Duration(amount=8, unit="business hours", bare=False)}
    )
    book = default.playbook.model_copy(update={"escalation": escalation})
    snapshot = default.model_copy(update={"playbook": book, "closed_days": (datetime(2026, 12, 25).date(),)})
    owners = OwnerAssignment(
        owner=Person(id="maya", name="Maya", email="m@x", timezone="America/New_York"),
        backup=Person(id="leo", name="Leo", email="l@x", timezone="Europe/Lisbon"),
    )
    state = JourneyState(deal=make_deal(), playbook=snapshot, owner=owners, started_at=NOW, progress=progress())
    opened = datetime(2026, 12, 24, 14, tzinfo=UTC)  # Thursday: 09:00 in New York, 14:00 in Lisbon
    # New York: all 8 hours on Thursday, 09:00-17:00 there
    assert decisions.sla_due(state, 1, opened) == datetime(2026, 12, 24, 22, tzinfo=UTC)
    # Lisbon: 3 hours on Thursday, Christmas closed, 5 on Monday
    assert decisions.sla_due(state, 2, opened) == datetime(2026, 12, 28, 14, tzinfo=UTC)
    calendar = snapshot.model_copy(update={"playbook": default.playbook})
    state = state.model_copy(update={"playbook": calendar})
    assert decisions.sla_due(state, 2, opened) == opened + timedelta(hours=24)
