"""Who may own a journey (pure `staffing`) and how places are handed out (pure `Places`):
every rule of docs/owners.md, without a server. tests/owners/test_owner_roster.py runs them
through the roster workflow on real servers."""

from datetime import date

import pytest
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from contracts.owners import CARRIED_BYTES, Allocate, AssignOwnerRequest, Candidate
from owners.activities import staffing
from owners.places import Places
from owners.roster import Roster
from owners.workflow import RosterInput

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


def test_the_ledger_is_bounded_by_the_bytes_it_carries_not_by_a_count():
    # typical ids: far more than the 10,000 places a count once allowed
    typical = Places(holders={"amy": [f"onboarding-D-{i:06d}" for i in range(60_000)]})
    assert typical.refusal(ask("onboarding-D-one-more")) is None
    roomy = [Candidate(owner_id=o, capacity=1_000_000) for o in ("amy", "ben", "cai")]
    full = Places()
    i = 0
    while full.refusal(ask(f"onboarding-D-{i:06d}", roomy)) is None:
        full.allocate(ask(f"onboarding-D-{i:06d}", roomy))
        i += 1
    assert 60_000 < full.total < 80_000 and not full.over_capacity
    nxt = f"onboarding-D-{i:06d}"
    assert full.refusal(ask(nxt)) == (
        f"journey_id: no place left for '{nxt}': the roster is full ({full.total} places, "
        f"{full.carried_bytes} of the {CARRIED_BYTES} bytes it can carry); "
        "release those of ended journeys (docs/owners.md)"
    )
    assert full.refusal(ask("onboarding-D-000007")) is None  # a journey that holds a place can always retry
    assert full.refusal(ask("x"), budget=10 * CARRIED_BYTES) is None


def test_the_longest_ids_all_over_capacity_still_fit_one_payload():
    # the worst case: 128-character ids (non-ASCII, escaped characters) all over capacity,
    # so each is listed twice; what continues as new stays under Temporal's 2 MB
    tiny = [Candidate(owner_id="o" * 128, capacity=1), Candidate(owner_id="é\\" * 42 + "x", capacity=1)]
    places = Places()
    i = 0
    while places.refusal(ask(f'{i:06d}"é' + "ü" * 120, tiny)) is None:
        places.allocate(ask(f'{i:06d}"é' + "ü" * 120, tiny))
        i += 1
    assert places.total > 2_500 and len(places.over_capacity) == places.total - 2
    carried = RosterInput(places=places).model_dump_json().encode()
    assert len(carried) <= CARRIED_BYTES < 2 * 1024 * 1024
    assert len(places.model_dump_json().encode()) <= places.carried_bytes


def test_the_carried_size_is_kept_exactly_as_places_come_and_go():
    places = Places()
    for i in range(40):
        places.allocate(ask(f"j{i}-" + "ł" * (i % 7)))
    for i in range(0, 40, 3):
        places.release(f"j{i}-" + "ł" * (i % 7))
    places.allocate(ask("j1-ł", preferred="cai"))  # moved: its old place freed
    for owner in ("amy", "ben", "cai"):
        for journey in list(places.holders.get(owner, ())):
            places.release(journey)
        # the tally equals a recount of the same state, whatever came and went
        assert places.carried_bytes == Places.model_validate_json(places.model_dump_json()).carried_bytes
        assert len(places.model_dump_json().encode()) <= places.carried_bytes
    assert places.total == 0 and places.carried_bytes == Places().carried_bytes


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
