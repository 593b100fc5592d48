"""Who may own a journey (pure `staffing`) and how places are handed out (pure `Places`):
every rule of docs/owners.md, without a server. tests/test_owner_roster.py runs them
through the roster workflow on real servers."""

from datetime import date

import pytest
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from activities.owners import AssignOwnerRequest, staffing
from playbooks.roster import Roster
from workflows.places import MAX_PLACES, Allocate, Candidate, Places

ROSTER = Roster.model_validate(
    {
        "manager": {"id": "dana", "name": "Dana", "email": "dana@vendor.example"},
        "owners": [
            {
                "id": "maya",
                "name": "Maya",
                "email": "maya@vendor.example",
                "segments": ["smb"],
                "capacity": 2,
                "backup": "leo",
            },
            {
                "id": "leo",
                "name": "Leo",
                "email": "leo@vendor.example",
                "segments": ["smb", "enterprise"],
                "capacity": 5,
                "out_of_office": [{"start": "2026-12-24", "end": "2027-01-02"}],
            },
            {"id": "priya", "name": "Priya", "email": "priya@vendor.example", "segments": ["enterprise"]},
        ],
    }
)


def request(segment="smb", day=date(2026, 11, 24), **kw):
    return AssignOwnerRequest(deal_id="D-1", segment=segment, as_of=day, **kw)


def ids(staff):
    return [o.id for o in staff.candidates]


# --- staffing: who is eligible -------------------------------------------------------------


def test_eligible_owners_serve_the_segment_and_are_listed_by_id():
    assert ids(staffing(ROSTER, request())) == ["leo", "maya"]
    assert ids(staffing(ROSTER, request(segment="enterprise"))) == ["leo", "priya"]


def test_out_of_office_owners_are_not_candidates():
    assert ids(staffing(ROSTER, request(day=date(2026, 12, 28)))) == ["maya"]
    assert ids(staffing(ROSTER, request(segment="enterprise", day=date(2026, 12, 28)))) == ["priya"]


def test_nobody_serving_the_segment_is_unstaffed_not_an_error():
    staff = staffing(ROSTER, request(segment="mid-market"))
    assert staff.candidates == [] and staff.unstaffed == "nobody on the roster serves segment 'mid-market'"


def test_everyone_away_is_unstaffed():
    away = ROSTER.model_copy(update={"owners": [ROSTER.owners[1]]})  # leo alone, on holiday
    staff = staffing(away, request(day=date(2026, 12, 28)))
    assert staff.unstaffed == "everyone serving segment 'smb' is out of office on 2026-12-28"


def test_a_replacement_with_nobody_else_keeps_its_owner():
    assert ids(staffing(ROSTER, request(exclude=["maya"]))) == ["leo"]
    with pytest.raises(ApplicationError, match="no other owner for segment 'smb' on 2026-12-28") as err:
        staffing(ROSTER, request(day=date(2026, 12, 28), exclude=["maya"]))
    assert err.value.non_retryable and err.value.type == "NoEligibleOwner"


def test_explicit_choice_is_checked_against_the_roster():
    assert ids(staffing(ROSTER, request(preferred="priya"))) == ["priya"]  # even outside the segment
    with pytest.raises(ApplicationError, match="no owner with id 'zed'"):
        staffing(ROSTER, request(preferred="zed"))
    with pytest.raises(ApplicationError, match="'leo' is out of office on 2026-12-28"):
        staffing(ROSTER, request(preferred="leo", day=date(2026, 12, 28)))


def test_old_callers_without_journey_id_still_decode():
    old = AssignOwnerRequest.model_validate({"deal_id": "D-1", "segment": "smb", "as_of": "2026-11-24"})
    assert old.journey_id == ""  # the activity then uses the calling workflow's id


def test_roster_references_are_validated():
    with pytest.raises(ValueError, match=r"owners.0.backup: no owner with id 'ghost'"):
        Roster.model_validate({"owners": [{"id": "a", "name": "A", "email": "a@v.example", "backup": "ghost"}]})


# --- places: who gets which place ------------------------------------------------------------

THREE = [Candidate(owner_id=o, capacity=3) for o in ("amy", "ben", "cai")]


def ask(journey, candidates=THREE, preferred=None):
    return Allocate(journey_id=journey, candidates=candidates, preferred=preferred)


def test_least_loaded_with_room_wins_ties_by_candidate_order():
    places = Places()
    assert [places.allocate(ask(f"j{i}")).owner_id for i in range(6)] == ["amy", "ben", "cai"] * 2
    small = [Candidate(owner_id="amy", capacity=1), Candidate(owner_id="ben", capacity=5)]
    places = Places()
    got = [places.allocate(ask(f"k{i}", small)) for i in range(3)]
    assert [(p.owner_id, p.over_capacity, p.load) for p in got] == [
        ("amy", False, 1),
        ("ben", False, 1),
        ("ben", False, 2),
    ]


def test_nobody_with_room_the_least_loaded_takes_it_flagged():
    places = Places()
    within = [places.allocate(ask(f"j{i}")) for i in range(9)]
    assert not any(p.over_capacity for p in within) and places.loads() == {"amy": 3, "ben": 3, "cai": 3}
    over = [places.allocate(ask(f"x{i}")) for i in range(4)]
    assert [(p.owner_id, p.over_capacity, p.load) for p in over] == [
        ("amy", True, 4),
        ("ben", True, 4),
        ("cai", True, 4),
        ("amy", True, 5),
    ]
    assert places.over_capacity == ["x0", "x1", "x2", "x3"]


def test_a_retry_gets_the_same_place():
    places = Places()
    first = places.allocate(ask("j1"))
    assert places.allocate(ask("j1")) == first and places.total == 1
    for i in range(9):
        places.allocate(ask(f"j{i + 2}"))
    over = places.allocate(ask("late"))
    assert over.over_capacity and places.allocate(ask("late")).over_capacity  # still flagged on retry


def test_release_frees_the_place_and_is_idempotent():
    places = Places()
    for i in range(9):
        places.allocate(ask(f"j{i}"))
    released = places.release("j4")  # ben's
    assert released.owner_id == "ben" and places.loads() == {"amy": 3, "ben": 2, "cai": 3}
    assert places.release("j4").owner_id is None and places.total == 8
    assert places.allocate(ask("next")).model_dump() == {"owner_id": "ben", "over_capacity": False, "load": 3}


def test_a_preferred_owner_takes_it_even_when_full():
    places = Places()
    for i in range(9):
        places.allocate(ask(f"j{i}"))
    place = places.allocate(ask("vip", [THREE[2]], preferred="cai"))
    assert (place.owner_id, place.over_capacity, place.load) == ("cai", True, 4)


def test_a_journey_moves_when_its_owner_is_no_longer_acceptable():
    places = Places()
    assert places.allocate(ask("j1")).owner_id == "amy"
    # a replacement excludes amy: the journey moves and amy's place is free again
    assert places.allocate(ask("j1", THREE[1:])).owner_id == "ben"
    # a staff member's choice moves it again
    assert places.allocate(ask("j1", [THREE[2]], preferred="cai")).owner_id == "cai"
    assert places.loads() == {"cai": 1} and places.owner_of("j1") == "cai"


def test_the_carried_state_is_rebuilt_exactly():
    places = Places()
    for i in range(11):
        places.allocate(ask(f"j{i}"))
    again = Places.model_validate_json(places.model_dump_json())
    assert again.loads() == places.loads() and again.over_capacity == ["j9", "j10"]
    assert again.owner_of("j10") == "ben" and again.allocate(ask("j10")).over_capacity


def test_the_ledger_is_bounded():
    full = Places(holders={"amy": [f"j{i}" for i in range(MAX_PLACES)]})
    assert full.refusal(ask("one-more")) == (
        f"journey_id: no place left for 'one-more': the roster holds {MAX_PLACES} places; "
        "release those of ended journeys (docs/owners.md)"
    )
    assert full.refusal(ask("j7")) is None  # a journey that holds a place can always retry
    # the largest state it can carry: MAX_PLACES ids of the longest length, under 2 MB
    widest = Places(holders={"amy": [f"{i:0128d}" for i in range(MAX_PLACES)]})
    assert len(widest.model_dump_json()) < 1.5 * 1024 * 1024


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"journey_id": "", "candidates": [{"owner_id": "amy", "capacity": 3}]}, "journey_id"),
        ({"journey_id": "j", "candidates": []}, "candidates"),
        ({"journey_id": "j", "candidates": [{"owner_id": "amy", "capacity": 0}]}, "candidates.0.capacity"),
        (
            {"journey_id": "j", "candidates": [{"owner_id": "amy", "capacity": 1}] * 2},
            "candidates: owner id(s) listed twice",
        ),
        (
            {"journey_id": "j", "candidates": [{"owner_id": "amy", "capacity": 1}], "preferred": "ben"},
            "preferred: 'ben'",
        ),
        ({"journey_id": "j", "candidates": [{"owner_id": "amy", "capacity": 1}], "extra": 1}, "extra"),
    ],
)
def test_bad_requests_name_the_field(body, field):
    with pytest.raises(ValidationError) as err:
        Allocate.model_validate(body)
    assert field in str(err.value)


def test_what_staff_see_on_the_roster():
    places = Places()
    assert places.describe() == "No places held."
    for i in range(10):
        places.allocate(ask(f"j{i}"))
    assert places.describe() == (
        "**10 places held**, 1 of them over capacity (list those journeys with `OwnerOverCapacity = true`).\n\n"
        "| owner | places |\n|---|---|\n| amy | 4 |\n| ben | 3 |\n| cai | 3 |"
    )
