"""The report as data: what `--json` writes and the HTML page draws. Every count is a Cell,
the number and the Web UI list of the journeys behind it. Also what the report is given:
the filters, and each playbook's milestones with their windows (the targets)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Filters(BaseModel):
    since: AwareDatetime | None = None  # journeys started at or after
    until: AwareDatetime | None = None  # journeys started before
    segment: str | None = None
    product: str | None = None
    playbook: str | None = None
    owner: str | None = None  # journeys this owner held at any moment


class PlaybookMilestones(BaseModel):
    """A playbook's milestones in order with their windows (hours), from the playbook files:
    the order the report lists milestones in and the targets it measures against. A playbook
    without files is its journey's told milestones, without windows (no targets)."""

    model_config = ConfigDict(frozen=True)

    milestones: tuple[str, ...]
    windows: tuple[float, ...] = ()

    def first_action_target(self) -> float | None:
        return self.windows[0] if self.windows else None

    def first_value_target(self) -> float | None:
        """First value is the second milestone done; its target, the first two windows."""
        return sum(self.windows[:2]) if len(self.windows) >= 2 else None


class Cell(BaseModel):
    n: int
    link: str
    # True: the link lists exactly these journeys; False: too many to name, it lists their
    # group by search attributes (segment, stage, owner, start week...), maybe a few more.
    exact: bool = True


class TimeToRow(BaseModel):
    """Time from the journey's start to a moment, for one segment (hours, calendar time).
    Median and p90 cover the journeys that reached it; `inside` counts those that reached it
    within the target."""

    segment: str
    journeys: Cell
    reached: Cell
    median_hours: float | None
    p90_hours: float | None
    target_hours: float | None
    inside: Cell
    inside_share: float | None  # of all journeys in the segment


class CurvePoint(BaseModel):
    """A step of a Kaplan-Meier curve: by `hours`, this share of the group got there (95%
    band; None where not defined: a share of 0 or 1)."""

    hours: float
    reached: float
    low: float | None
    high: float | None


class SurvivalRow(BaseModel):
    """Time to a moment for one group, journeys still running counted (censored) rather than
    dropped: the Kaplan-Meier curve and what is read off it."""

    moment: str  # first_action | first_value
    by: str  # segment | variant | start_week
    group: str
    journeys: Cell
    reached: Cell
    not_yet: Cell  # censored: still running without it, or ended without it
    target_hours: float | None
    median_hours: float | None  # the first hour half the group got there (None: not yet)
    median_ci_hours: tuple[float | None, float | None] | None  # 95%; None at an end: not known yet
    within_target_share: (
        float | None
    )  # of the group, reached within the target (Kaplan-Meier; None: none followed that long yet)
    within_target_ci: tuple[float, float] | None
    curve: list[CurvePoint]


class FunnelRow(BaseModel):
    week: str  # Monday of the week the journeys started, YYYY-MM-DD
    milestone: str
    told: Cell
    acted: Cell  # completed (the customer did it)
    skipped: Cell  # a human skipped it
    next: Cell  # told the next milestone, or activated after the last
    drop_off_share: float | None  # told but not (yet) gone on: (told - next) / told


class TouchpointRow(BaseModel):
    milestone: str
    touchpoint: str
    completions: Cell
    share: float  # of the milestone's completions


class WaitingRow(BaseModel):
    stage: str  # the milestone the journey waits in ("" before the kickoff)
    state: str  # awaiting_action | escalated | starting
    age: str  # since the journey started: <1d, 1-3d, 3-7d, 7d+
    journeys: Cell
    oldest_hours: float
    in_stage_median_hours: float | None


class TriggerRow(BaseModel):
    trigger: str
    escalations: Cell


class OwnerRow(BaseModel):
    owner: str
    journeys: Cell
    escalations: Cell
    sla_breaches: Cell  # escalation levels this person held past the SLA (the escalation moved up)
    over_capacity: Cell  # assignments that took the owner over capacity


class Humans(BaseModel):
    journeys: Cell
    escalated: Cell
    escalation_rate: float | None
    escalations: int
    triggers: list[TriggerRow]
    staff_decisions: Cell  # escalations a human decided (retry, skip, reassign, close)
    staff_decision_median_hours: float | None  # from the escalation to the decision
    staff_decision_p90_hours: float | None
    ended_by_customer: Cell  # the customer acted before anyone decided
    ended_by_cancel: Cell  # the journey was cancelled while escalated
    still_open: Cell
    owners: list[OwnerRow]


class VariantRow(BaseModel):
    playbook: str
    variant: str
    journeys: Cell
    first_actions: Cell  # journeys whose customer took the first action
    first_action_rate: float | None  # of the arm's journeys
    first_action_rate_ci: tuple[float, float] | None  # Wilson 95%
    ttfa_median_hours: float | None  # Kaplan-Meier: half the arm acted by then (None: not yet)
    ttfa_median_ci_hours: tuple[float | None, float | None] | None  # 95%; None at an end: not known yet
    activated: Cell
    activation_rate: float | None
    activation_rate_ci: tuple[float, float] | None


class VariantComparison(BaseModel):
    playbook: str
    a: str
    b: str
    first_action_difference: float | None  # a's share acted minus b's
    first_action_difference_ci: tuple[float, float] | None  # Newcombe's 95% interval
    first_action_p_value: float | None  # Fisher's exact test
    ttfa_log_rank_p_value: float | None  # log-rank over every journey (those not acted yet censored)
    restricted_within_hours: (
        float | None
    )  # the window of the restricted mean: the target, or less if not followed that long
    restricted_mean_a_hours: float | None  # average hours a's journeys waited for the first action, within it
    restricted_mean_b_hours: float | None
    restricted_mean_difference_hours: float | None  # a minus b (negative: a acts sooner)
    restricted_mean_difference_ci_hours: tuple[float, float] | None  # 95%
    activation_difference: float | None  # a's activation rate minus b's
    activation_difference_ci: tuple[float, float] | None  # Newcombe's 95% interval
    activation_p_value: float | None  # two-proportion z-test
    journeys_needed_per_arm: int | None  # to show the first-action difference seen (80% power, p<0.05)
    verdict: str  # in words, including "not yet significant"


# The counts atop the page, top-level fields of Report (and of its JSON), in their order.
OVERVIEW = ("journeys", "running", "activated", "closed")


class Report(BaseModel):
    generated_at: datetime  # when the report was made
    measured_at: datetime  # the instant "waiting now" and the still-running journeys are measured at (--now)
    filters: Filters
    moments: int
    journeys: Cell
    running: Cell
    activated: Cell
    closed: Cell
    time_to_first_action: list[TimeToRow]
    time_to_first_value: list[TimeToRow]
    survival: list[SurvivalRow] = Field(default_factory=list)
    funnel: list[FunnelRow]
    touchpoints: list[TouchpointRow]
    waiting: list[WaitingRow]
    humans: Humans
    variants: list[VariantRow] = Field(default_factory=list)
    variant_comparisons: list[VariantComparison] = Field(default_factory=list)
