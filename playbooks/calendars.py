"""A playbook's closed days, resolved from its `calendar:` (country, subdivision, closed,
open) with the `holidays` library: here, outside the journey, when its snapshot is taken
(activities/playbook.py), so the journey counts business time from plain dates it carries
(workflows/business_hours.py) and never imports the library (docs/playbooks.md, "Business
time")."""

from __future__ import annotations

from datetime import date

import holidays

from contracts.playbook import Calendar, Playbook, PlaybookSnapshot

# Years resolved from the snapshot's own: a journey runs weeks, a window at most 90 days, so
# the year after covers a December start; the second after is headroom for long waits.
YEARS_AHEAD = 2


def problems(playbook: Playbook) -> list[str]:
    """`calendar.country: ...` for a country or subdivision the holiday library does not
    know, as the loader lists a file's problems."""
    calendar = playbook.calendar
    if calendar is None:
        return []
    if calendar.country is None:
        return ["calendar.country: give the country whose holidays owners keep"] if calendar.countries else []
    known = holidays.list_supported_countries()
    unknown = [c for c in calendar.countries if c not in known]
    if unknown:
        return [f"calendar.countries: {unknown[0]!r} is not a country with public holidays here: use an ISO 3166 code"]
    if calendar.country not in known:
        return [
            f"calendar.country: {calendar.country!r} is not a country with public holidays here: "
            "use an ISO 3166 code in upper case, like DE, GB or US"
        ]
    if calendar.subdivision is not None and calendar.subdivision not in known[calendar.country]:
        return [
            f"calendar.subdivision: {calendar.subdivision!r} is not a subdivision of {calendar.country}: "
            f"one of {', '.join(known[calendar.country])}"
        ]
    return []


def closed_days(calendar: Calendar, first_year: int) -> tuple[date, ...]:
    """The country's public holidays in `first_year` and the `YEARS_AHEAD` after it, with
    the calendar's own closed days, without its open ones; sorted."""
    days = set(calendar.closed)
    if calendar.country is not None:
        years = range(first_year, first_year + YEARS_AHEAD + 1)
        days |= set(holidays.country_holidays(calendar.country, subdiv=calendar.subdivision, years=years))
    return tuple(sorted(days - set(calendar.open)))


def resolved(snapshot: PlaybookSnapshot, today: date) -> PlaybookSnapshot:
    """The snapshot with its calendar's closed days from `today`'s year on; unchanged for a
    playbook without a calendar (its JSON stays what it was)."""
    calendar = snapshot.playbook.calendar
    if calendar is None:
        return snapshot
    by_country = {
        country: closed_days(calendar.model_copy(update={"country": country, "subdivision": None}), today.year)
        for country in calendar.countries
    }
    return snapshot.model_copy(
        update={"closed_days": closed_days(calendar, today.year), "closed_days_by_country": by_country}
    )
