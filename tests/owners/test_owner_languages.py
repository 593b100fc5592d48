"""Owners declare the languages they answer customers in (roster `languages`), and
assignment prefers one who speaks the customer's language while such an owner has room;
otherwise the usual rule (least-loaded with room, else least-loaded) decides. Allocations
recorded before the field existed carry none, so a roster's history replays as decided."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.owners import Allocate, Candidate
from owners.places import Places
from owners.roster import Roster
from tests.owners.test_owner_roster import MANAGER, assert_roster_replays, assign, owner, roster_handle, roster_workers

# amy and ben speak English only; cai answers in German and English.
BILINGUAL = Roster.model_validate(
    {
        "manager": MANAGER,
        "owners": [
            owner("amy", languages=["en"]),
            owner("ben"),
            owner("cai", languages=["de-DE", "en"]),
        ],
    }
)


def test_the_roster_reads_languages_and_refuses_an_unknown_code_naming_the_field():
    cai = BILINGUAL.by_id("cai")
    assert cai is not None and cai.languages == ["de_DE", "en"]
    assert cai.speaks("de") and cai.speaks("en") and not cai.speaks("fr") and not cai.speaks("")
    with pytest.raises(ValidationError) as err:
        Roster.model_validate({"owners": [owner("amy", languages=["deutsch"])]})
    assert "owners.0.languages" in str(err.value) and "unknown language code 'deutsch'" in str(err.value)


def test_a_speaker_with_room_comes_before_a_less_loaded_owner():
    places = Places(holders={"cai": ["j1"]})
    candidates = [
        Candidate(owner_id="amy", capacity=3),
        Candidate(owner_id="cai", capacity=2, speaks_language=True),
    ]
    assert places.choose(Allocate(journey_id="j2", candidates=candidates)).owner_id == "cai"
    # the speaker is full: the usual rule (least-loaded with room)
    places = Places(holders={"cai": ["j1", "j2"]})
    assert places.choose(Allocate(journey_id="j3", candidates=candidates)).owner_id == "amy"
    # nobody speaks it (or an allocation recorded before languages): as before
    plain = [Candidate(owner_id="amy", capacity=3), Candidate(owner_id="cai", capacity=2)]
    assert Places(holders={"amy": ["j1"]}).choose(Allocate(journey_id="j4", candidates=plain)).owner_id == "cai"
    before = Allocate.model_validate({"journey_id": "j5", "candidates": [{"owner_id": "amy", "capacity": 3}]})
    assert before.candidates[0].speaks_language is False


async def test_german_customers_go_to_the_german_speaking_owner_on_a_real_roster(ts_env, tmp_path):
    client = ts_env.client
    async with roster_workers(client, tmp_path, BILINGUAL) as task_queue:
        first = [await assign(client, task_queue, BILINGUAL, f"x{i}") for i in range(3)]
        assert [a.owner.id for a in first] == ["amy", "ben", "cai"]  # no language: least-loaded, as before
        german = [await assign(client, task_queue, BILINGUAL, f"de{i}", language="de") for i in range(3)]
        # cai is as loaded as amy, then more: German customers still go to cai while cai has
        # room (capacity 3); the third finds cai full and gets the usual rule's owner
        assert [a.owner.id for a in german] == ["cai", "cai", "amy"]
        assert not any(a.over_capacity for a in german)
        await assert_roster_replays(await roster_handle(client, task_queue).fetch_history())
