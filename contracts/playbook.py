"""Playbooks are data: what the journey says and waits for, validated before anything runs.

A playbook is selected per deal by segment and product. The workflow receives an immutable
snapshot of it at start, so editing a YAML file never changes a running journey.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from contextvars import ContextVar
from datetime import date, time
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    HttpUrl,
    ModelWrapValidatorHandler,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contracts import currencies, languages
from contracts.clock import ClockTime
from contracts.durations import AcknowledgementDuration, WaitDuration, WindowDuration, calendar_hours, in_business_hours
from contracts.expectations import ExpectationBlock
from contracts.messages import Channel, MessageTemplate, written_in
from contracts.moments import Touchpoint
from contracts.strict import Carried, StrictFile

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Action(StrictFile):
    """The ONE thing the customer should do, and the product events that prove it was done."""

    title: str = Field(min_length=1, max_length=120)
    instruction: str = Field(min_length=1, max_length=300)
    link: HttpUrl
    events: list[str] = Field(min_length=1)

    @field_validator("instruction")
    @classmethod
    def _one_sentence(cls, value: str) -> str:
        if len(re.findall(r"[.!?](\s|$)", value.strip())) > 1:
            raise ValueError("must be one sentence")
        return value


class FollowUpKind(str, Enum):
    """The follow-ups a playbook may list: the journey's follow-up touchpoints."""

    clarify = Touchpoint.clarify.value
    simplify = Touchpoint.simplify.value
    redirect = Touchpoint.redirect.value


_KIND_ORDER = {FollowUpKind.clarify: 0, FollowUpKind.simplify: 1, FollowUpKind.redirect: 2}


class FollowUp(StrictFile):
    kind: FollowUpKind
    # How long after this follow-up the next step comes: hours, or business time in the
    # customer's calendar (contracts/durations.py).
    wait_hours: WaitDuration
    message: MessageTemplate
    # simplify/redirect may offer an easier path; completing it also counts.
    alternate: Action | None = None

    @model_validator(mode="after")
    def _alternate_kind(self) -> FollowUp:
        if self.alternate is not None and self.kind is FollowUpKind.clarify:
            raise ValueError(
                "alternate: a clarify follow-up explains the same action; only simplify or redirect may offer an alternate"
            )
        return self


class Milestone(StrictFile):
    key: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1, max_length=120)
    action: Action
    window_hours: WindowDuration = calendar_hours(72)
    direction: MessageTemplate
    help: MessageTemplate
    # After a staff `retry` the conversation starts over with this instead of the direction
    # word for word ("Let's try that again: ..."); unset, the direction is sent again.
    retry: MessageTemplate | None = None
    # The second and later help in this milestone (the customer is failing again); unset,
    # `help` is sent each time.
    help_again: MessageTemplate | None = None
    # A failed attempt at the same action for the same reason as the help sent less than
    # this many minutes ago gets no second, identical help (the timeline notes it; it still
    # counts toward `escalation.after_failed_attempts`). 0 sends help for every attempt.
    help_coalesce_minutes: float = Field(default=30, ge=0, le=24 * 60)
    follow_ups: list[FollowUp] = Field(default_factory=list, max_length=6)

    @model_validator(mode="after")
    def _follow_ups_in_order(self) -> Milestone:
        ranks = [_KIND_ORDER[f.kind] for f in self.follow_ups]
        if ranks != sorted(ranks):
            raise ValueError("follow_ups: kinds must run clarify -> simplify -> redirect")
        window = self.window_hours
        for i, follow_up in enumerate(self.follow_ups):
            # compared when written in the same unit; calendar against business time depends
            # on the day and hour each starts
            wait = follow_up.wait_hours
            if wait.unit == window.unit and wait.amount >= window.amount:
                shown = f"{wait.amount} >= {window.amount}" if window.bare and wait.bare else f"{wait} >= {window}"
                raise ValueError(
                    f"follow_ups.{i}.wait_hours: a follow-up waits less than the milestone window ({shown})"
                )
        return self

    def events(self) -> list[str]:
        """Product events that complete this milestone: its action or any alternate."""
        names = list(self.action.events)
        for follow_up in self.follow_ups:
            if follow_up.alternate:
                names += [e for e in follow_up.alternate.events if e not in names]
        return names


EscalationLevel = Literal["owner", "backup", "manager"]
ESCALATION_LEVELS: tuple[EscalationLevel, ...] = ("owner", "backup", "manager")


class AmountThreshold(StrictFile):
    """An amount in one currency, and what other currencies are worth in it, so deals in
    any of them compare with it (docs/playbooks.md, "High-value deals")."""

    amount: float = Field(ge=0)
    currency: str  # ISO 4217, upper case: USD, EUR, JPY
    # One unit of another currency, in `currency` (under USD, JPY: 0.0067). A deal in a
    # currency neither `currency` nor listed here cannot be compared: it gets the review.
    rates: dict[str, float] = Field(default_factory=dict)

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, code: str) -> str:
        if not currencies.known(code):
            raise ValueError(f"unknown currency code {code!r}: use an ISO 4217 code in upper case, e.g. USD")
        return code

    @field_validator("rates")
    @classmethod
    def _known_rates(cls, rates: dict[str, float]) -> dict[str, float]:
        for code, rate in rates.items():
            if not currencies.known(code):
                raise ValueError(f"rates.{code}: unknown currency code: use an ISO 4217 code in upper case, e.g. EUR")
            if not rate > 0:  # also refuses NaN
                raise ValueError(f"rates.{code}: {rate} is not a rate: one {code} in the threshold's currency, above 0")
        return rates

    def in_own_currency(self, amount: float, currency: str) -> float | None:
        """`amount` of `currency` in the threshold's currency; None when no rate says."""
        code = currency.upper()
        if code == self.currency:
            return amount
        rate = self.rates.get(code)
        return amount * rate if rate is not None else None


def _threshold_form(value: Any) -> str:
    """`{amount, currency, rates}` or a plain number: errors then name only the form written."""
    return "threshold" if isinstance(value, dict | AmountThreshold) else "number"


HighValueThreshold = Annotated[
    Annotated[float, Field(ge=0), Tag("number")] | Annotated[AmountThreshold, Tag("threshold")],
    Discriminator(_threshold_form),
]


class EscalationPolicy(StrictFile):
    after_follow_ups: bool = True
    after_failed_attempts: int = Field(default=3, ge=1, le=20)
    on_help_request: bool = True
    # Deals above this amount get a human at kickoff (high risk); None disables. A plain
    # number compares with the deal's amount in whatever currency the deal is in (how every
    # playbook read it before currencies: journeys running on such a snapshot decide as
    # before); `{amount, currency, rates}` converts first (AmountThreshold).
    kickoff_amount_above: HighValueThreshold | None = None
    # How long an escalation may stay unanswered before it moves a level up: hours, or
    # business time in the calendar of the person it waits on (contracts/durations.py).
    sla_hours: WaitDuration = calendar_hours(24)
    levels: list[EscalationLevel] = Field(default_factory=lambda: list(ESCALATION_LEVELS), min_length=1)

    @field_validator("after_follow_ups", "on_help_request")
    @classmethod
    def _always_a_human(cls, value: bool, info: ValidationInfo) -> bool:
        # A stuck customer, or one who asks for help, always reaches a person: the journey has
        # no path that leaves them waiting unanswered. The keys stay, set to true, so a
        # playbook says so explicitly; false is refused rather than silently ignored.
        if not value:
            raise ValueError(f"only true is supported: the journey always escalates ({info.field_name})")
        return value


class BusinessHours(StrictFile):
    start: ClockTime = time(9, 0)
    end: ClockTime = time(17, 0)
    days: list[str] = Field(default_factory=lambda: list(WEEKDAYS[:5]), min_length=1)
    # Frequency cap on proactive messages (replies to the customer's own actions are exempt).
    proactive_per_day: int = Field(default=1, ge=1, le=10)

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: list[str]) -> list[str]:
        bad = [d for d in value if d not in WEEKDAYS]
        if bad:
            raise ValueError(f"unknown weekday(s) {bad}; use {list(WEEKDAYS)}")
        return value

    @model_validator(mode="after")
    def _start_before_end(self) -> BusinessHours:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


def normalise(value: str) -> str:
    """The one normalisation of a segment or product name, before any comparison (playbook
    selection, the roster's `segments`): case-folded, surrounding whitespace dropped, and
    every run of spaces, hyphens and underscores inside read as one hyphen. `Mid-Market`,
    ` mid market ` and `MID_MARKET` are all `mid-market` (docs/playbooks.md)."""
    return _SEPARATORS.sub("-", value.strip().casefold())


_SEPARATORS = re.compile(r"[\s_-]+")


def names_match(names: list[str], value: str) -> bool | None:
    """True when `names` lists `value` (normalised), None when only `*` covers it, False otherwise."""
    wanted = normalise(value)
    if any(normalise(n) == wanted for n in names):
        return True
    return None if "*" in names else False


class AppliesTo(StrictFile):
    """Which deals a playbook claims: `segments` and `products`, compared after `normalise`;
    `"*"` matches anything, `""` a deal that names no product (a CRM without the field)."""

    segments: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    products: list[str] = Field(default_factory=lambda: ["*"], min_length=1)

    def specificity(self, segment: str, product: str) -> int | None:
        """How precisely these claims match a deal (higher wins; segment counts more than
        product); None if they do not."""
        seg, prod = names_match(self.segments, segment), names_match(self.products, product)
        if seg is False or prod is False:
            return None
        return 2 * bool(seg) + bool(prod)


class Languages(StrictFile):
    """The languages a playbook speaks: each message is written in `fallback`, and may add
    the same message in others under their codes (docs/playbooks.md, "Languages"). A
    customer whose locale matches none of a message's languages gets the fallback's."""

    fallback: str = "en"

    @field_validator("fallback")
    @classmethod
    def _known(cls, value: str) -> str:
        return languages.canonical(value)


# Set while a snapshot taken before languages is decoded (`PlaybookSnapshot`): its messages
# keep no language, so a journey running on it sends them exactly as before (English text,
# the journey's own due dates), across continue-as-new and replays alike.
_BEFORE_LANGUAGES: ContextVar[bool] = ContextVar("before_languages", default=False)


def _fallback_written(data: Any) -> str:
    """The fallback language a playbook's raw data declares ("" when it is not a known code:
    `languages.fallback` then reports it, or for a snapshot taken before languages)."""
    if _BEFORE_LANGUAGES.get():
        return ""
    declared = data.get("languages") if isinstance(data, dict) else None
    fallback = declared.get("fallback", "en") if isinstance(declared, dict) else "en"
    return languages.canonical(fallback) if isinstance(fallback, str) and languages.known(fallback) else ""


class Calendar(StrictFile):
    """The days a business calendar is closed besides its weekend: a country's public
    holidays (resolved from the `holidays` library when a journey takes its snapshot,
    playbooks/calendars.py), plus `closed` days, minus `open` ones."""

    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")  # ISO 3166-1 alpha-2: DE, GB, US
    subdivision: str | None = Field(default=None, min_length=1, max_length=8)  # a state, e.g. BY
    # Customers whose locale names one of these countries (`de-AT`: AT) count business time
    # with its public holidays instead of `country`'s; owners always with `country`'s.
    countries: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(default_factory=list, max_length=20)
    closed: list[date] = Field(default_factory=list, max_length=200)
    open: list[date] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _subdivision_of_a_country(self) -> Calendar:
        if self.subdivision is not None and self.country is None:
            raise ValueError("subdivision: give the country too (country: DE, subdivision: BY)")
        both = sorted(set(self.closed) & set(self.open))
        if both:
            raise ValueError(f"{both[0].isoformat()} is both closed and open: list it once")
        return self


class Channels(StrictFile):
    customer: Channel = "email"
    owner: Channel = "email"


class OwnerAcknowledgement(StrictFile):
    """The assigned owner confirms within `hours` business hours (their zone), or the next
    eligible owner takes over. By default the kickoff goes out at once, naming the owner,
    and the acknowledgement runs beside it; `before_kickoff` holds the kickoff until the
    owner confirms (high-touch segments)."""

    # A plain number is business hours (as it always was); "8 hours" is calendar time.
    hours: AcknowledgementDuration = in_business_hours(4)
    before_kickoff: bool = False


class VariantOverrides(StrictFile):
    """What a variant changes in the playbook; everything else stays as written."""

    # The first milestone's action (what the kickoff asks for), e.g. a sample dataset instead of an upload.
    first_action: Action | None = None
    # Every follow-up of every milestone waits this long (follow-up spacing, e.g. 24 vs 48 h).
    follow_up_wait_hours: WaitDuration | None = None


class Variant(StrictFile):
    """One arm of a playbook experiment; a journey gets one by its deal id, weighted."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    weight: float = Field(default=1, gt=0, le=1000)
    overrides: VariantOverrides = VariantOverrides()


def apply_variant(milestones: list[Milestone], variant: Variant) -> list[Milestone]:
    """The milestones with the variant's overrides, validated like the playbook's own."""
    out = []
    for i, milestone in enumerate(milestones):
        data = milestone.model_dump(mode="json")
        if i == 0 and variant.overrides.first_action is not None:
            data["action"] = variant.overrides.first_action.model_dump(mode="json")
        if variant.overrides.follow_up_wait_hours is not None:
            for follow_up in data["follow_ups"]:
                follow_up["wait_hours"] = variant.overrides.follow_up_wait_hours
        out.append(Milestone.model_validate(data))
    owners: dict[str, str] = {}
    for milestone in out:
        for event in milestone.events():
            if event in owners:
                raise ValueError(f"event {event!r} would complete both {owners[event]!r} and {milestone.key!r}")
            owners[event] = milestone.key
    return out


def _problem(error: Any) -> str:
    where = ".".join(map(str, error["loc"]))
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


class Playbook(StrictFile):
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    applies_to: AppliesTo = AppliesTo()
    # The playbook for deals no playbook claims (at most one per set; docs/playbooks.md).
    # Without one, such a deal goes to a human with the reason, never to a silent default.
    fallback: bool = False
    business_hours: BusinessHours = BusinessHours()
    channels: Channels = Channels()
    languages: Languages = Languages()
    escalation: EscalationPolicy = EscalationPolicy()
    # Business hours (owner's zone) the assigned owner has to acknowledge before the kickoff
    # goes out anyway and the owner is replaced; 0 turns the wait off. The default keeps
    # snapshots taken before the field existed valid.
    owner_acknowledgement_hours: AcknowledgementDuration = in_business_hours(4)
    # Supersedes owner_acknowledgement_hours (kept so snapshots taken before it still load).
    owner_acknowledgement: OwnerAcknowledgement | None = None
    # Public holidays and other closed days of the business calendar (docs/playbooks.md,
    # "Business time"). Left out: weekends and opening hours only, as before it existed.
    calendar: Calendar | None = Field(default=None, exclude_if=lambda value: value is None)
    milestones: list[Milestone] = Field(min_length=1)
    # What must hold when the journey lab walks this playbook with its personas (persona
    # name or `every` -> expectations; see contracts/expectations.py and docs/lab.md).
    # The journey itself never reads it.
    expectations: ExpectationBlock = Field(default_factory=dict)
    # An experiment: each journey runs one variant, chosen by its deal id (docs/report.md).
    # After `milestones`, so the overrides are checked against them.
    variants: list[Variant] = Field(default_factory=list, max_length=10)

    @model_validator(mode="wrap")
    @classmethod
    def _messages_in_fallback(cls, data: Any, handler: ModelWrapValidatorHandler[Playbook]) -> Playbook:
        # Messages written without a language code are in the playbook's fallback language.
        with written_in(_fallback_written(data)):
            return handler(data)

    @field_validator("variants")
    @classmethod
    def _variants(cls, value: list[Variant], info: ValidationInfo) -> list[Variant]:
        names = [v.name for v in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate variant name(s) {dupes}: each variant needs its own name")
        for i, variant in enumerate(value):
            try:
                apply_variant(info.data.get("milestones") or [], variant)
            except (ValueError, ValidationError) as err:
                reason = "; ".join(_problem(e) for e in err.errors()) if isinstance(err, ValidationError) else str(err)
                raise ValueError(
                    f"{i} ({variant.name!r}).overrides: the playbook with them is not valid: {reason}"
                ) from None
        return value

    def variant(self, name: str) -> Playbook:
        """This playbook as the variant `name` runs it."""
        chosen = next(v for v in self.variants if v.name == name)
        return self.model_copy(update={"milestones": apply_variant(list(self.milestones), chosen)})

    def messages(self) -> list[tuple[str, MessageTemplate]]:
        """Every customer message of the playbook with its place as the file writes it
        (`milestones.0.help`), found wherever a message sits, in file order."""
        found: list[tuple[str, MessageTemplate]] = []

        def visit(value: object, where: str) -> None:
            if isinstance(value, MessageTemplate):
                found.append((where, value))
            elif isinstance(value, BaseModel):
                for name in type(value).model_fields:
                    visit(getattr(value, name), f"{where}.{name}" if where else name)
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    visit(item, f"{where}.{i}")

        visit(self, "")
        return found

    def translations(self) -> dict[str, list[str]]:
        """Each language besides the fallback -> the places of the messages written without
        it (its readers get those in the fallback language); empty when there is none."""
        messages = self.messages()
        codes = sorted({code for _, m in messages for code in m.translations})
        return {code: [where for where, m in messages if code not in m.translations] for code in codes}

    def acknowledgement(self) -> OwnerAcknowledgement:
        return self.owner_acknowledgement or OwnerAcknowledgement(hours=self.owner_acknowledgement_hours)

    @model_validator(mode="after")
    def _unique(self) -> Playbook:
        keys = [m.key for m in self.milestones]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"milestones: duplicate key(s) {dupes}")
        owners: dict[str, str] = {}
        for milestone in self.milestones:
            for event in milestone.events():
                if event in owners:
                    raise ValueError(
                        f"milestones: event {event!r} completes both {owners[event]!r} and "
                        f"{milestone.key!r}; each product event may complete one milestone"
                    )
                owners[event] = milestone.key
        return self

    def specificity(self, segment: str, product: str) -> int | None:
        """How precisely this playbook matches a deal (higher wins); None if it does not.
        Names are compared after `normalise` (case, surrounding space, `-`/`_`/space)."""
        return self.applies_to.specificity(segment, product)


class PlaybookSnapshot(Carried):
    """The playbook a journey runs on, frozen at its start.

    Every journey carries its snapshot, and a worker decodes it for each journey it loads
    (the activity's result, a continued run's input, every replay, each message request).
    Snapshots decoded from identical content are one shared, immutable object (`_interned`):
    the validation and the memory per cached journey are saved. Keyed by a hash of the
    content itself, not by `digest`: two histories may hold the same file dumped by
    different code versions, or different variants of it."""

    model_config = ConfigDict(frozen=True)

    source: str
    digest: str
    playbook: Playbook
    # The experiment's variant this journey runs (its overrides are already in `playbook`).
    variant: str | None = None
    # The days the playbook's calendar is closed besides its weekend (public holidays of its
    # country, its own closed days, not its open ones), resolved outside the journey when the
    # snapshot is taken, for the snapshot's year and the two after it. Empty without a
    # `calendar:` (and in every snapshot taken before it existed): left out of the JSON.
    closed_days: tuple[date, ...] = Field(default=(), exclude_if=lambda value: not value)
    # The same for each of the calendar's `countries`, for customers whose locale names it.
    closed_days_by_country: dict[str, tuple[date, ...]] = Field(default_factory=dict, exclude_if=lambda v: not v)
    # Why the journey runs this playbook when it is not simply the one that claims the deal:
    # the fallback (no playbook claims it), or the last good version of a file that is broken
    # now. Empty otherwise (and in every snapshot taken before the field existed).
    notice: str = ""

    def customer_closed_days(self, locale: str) -> tuple[date, ...]:
        """The closed days a customer reading in `locale` counts business time without: their
        country's (the region of `de-AT`) when the calendar lists it in `countries`, else the
        calendar's own `country`'s."""
        return self.closed_days_by_country.get(_region(locale), self.closed_days)

    @model_validator(mode="wrap")
    @classmethod
    def _interned(cls, data: Any, handler: ModelWrapValidatorHandler[PlaybookSnapshot]) -> PlaybookSnapshot:
        if not isinstance(data, dict):
            return handler(data)
        try:
            content = json.dumps(data, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):  # not plain JSON data (model instances inside): no sharing
            return _decoded(data, handler)
        key = hashlib.sha256(content.encode()).digest()
        with _INTERN_LOCK:
            found = _INTERNED.get(key)
            if found is not None:
                _INTERNED.move_to_end(key)
                return found
        snapshot = _decoded(data, handler)  # a bad snapshot raises here and is not kept
        with _INTERN_LOCK:
            _INTERNED[key] = snapshot
            if len(_INTERNED) > INTERN_LIMIT:
                _INTERNED.popitem(last=False)  # journeys keep theirs; only the sharing is lost
        return snapshot


def _region(locale: str) -> str:
    """`AT` for `de-AT` or `de_AT`; "" for a locale without a region (`de`)."""
    parts = re.split(r"[-_]", locale)
    return parts[-1].upper() if len(parts) > 1 and len(parts[-1]) == 2 else ""


def _decoded(data: dict[str, Any], handler: ModelWrapValidatorHandler[PlaybookSnapshot]) -> PlaybookSnapshot:
    """The snapshot; one taken before languages (its playbook has no `languages`) keeps its
    messages without a language, as they were sent (`_BEFORE_LANGUAGES`)."""
    playbook = data.get("playbook")
    token = _BEFORE_LANGUAGES.set(isinstance(playbook, dict) and "languages" not in playbook)
    try:
        return handler(data)
    finally:
        _BEFORE_LANGUAGES.reset(token)


# Distinct snapshots a worker shares at once: a few per playbook edit and variant, far fewer.
INTERN_LIMIT = 256
_INTERNED: OrderedDict[bytes, PlaybookSnapshot] = OrderedDict()
_INTERN_LOCK = threading.Lock()


class SnapshotRequest(Carried):
    """What the journey asks `snapshot_playbook` at its start."""

    segment: str
    product: str
    # Chooses the experiment's variant; unset, the deal id comes from the journey's
    # workflow id (`onboarding-<deal id>`).
    deal_id: str | None = None
