"""The grouping rule of `onboarding personas --from-history`, on signatures alone: marks
apart, names in words, the smallest group joining its nearest, durations a persona file
reads back (the walks themselves: test_lab_personas_learned.py)."""

from __future__ import annotations

import pytest

from contracts.expectations import Duration
from lab.learn.grouping import group
from lab.learn.observed import CustomerEvent, Observed
from lab.learn.signature import Mark, Signature
from lab.learn.write import duration, persona_for

KEYS = ("first_action", "first_value", "expansion_check")


def sig(*whens: str, failed: bool = False, help: bool = False) -> Signature:
    marks = [Mark(milestone=k, when=w) for k, w in zip(KEYS, whens, strict=False)]
    marks[0] = marks[0].model_copy(update={"failed": failed, "help": help})
    return Signature(marks=tuple(marks))


def journeys(signature: Signature, n: int, prefix: str) -> list[Observed]:
    return [Observed(workflow_id=f"{prefix}-{i}", marks=list(signature.marks)) for i in range(n)]


def test_marks_apart():
    fast = sig("direction", "direction", "direction")
    assert fast.distance(fast) == 0
    assert fast.distance(sig("clarify", "direction", "direction")) == 1  # neighbours on the ladder
    assert fast.distance(sig("redirect", "direction", "direction")) == 2  # further: 2 at most
    assert fast.distance(sig("direction", "direction", "direction", failed=True, help=True)) == 2
    assert fast.distance(sig("direction", "never")) == 2 + 2  # never acts, and one milestone never reached


def test_names_in_words():
    assert sig("simplify", "direction", "direction").name() == "acts-after-simplify"
    assert sig("clarify", "direction", "direction", failed=True).name() == "fails-acts-after-clarify"
    assert sig("never").name() == "goes-silent"
    assert sig("direction", "never").name() == "acts-in-first-window-then-goes-silent-at-first-value"
    assert sig("direction", "direction", "cancelled", help=True).name() == (
        "asks-help-acts-in-first-window-then-deal-lost"  # shortened to fit a persona name
    )


def test_groups_keep_identical_signatures_apart_and_merge_the_smallest_into_its_nearest():
    fast, slow = sig("direction", "direction", "direction"), sig("simplify", "direction", "direction")
    redirect, silent = sig("redirect", "direction", "direction"), sig("never")
    observed = journeys(fast, 5, "f") + journeys(slow, 4, "s") + journeys(redirect, 2, "r") + journeys(silent, 1, "x")

    groups = group(observed, 5)
    assert [(g.name, len(g.members)) for g in groups] == [
        ("acts-in-first-window", 5),
        ("acts-after-simplify", 4),
        ("acts-after-redirect", 2),
        ("goes-silent", 1),
    ]

    # silent (the smallest) is 6 marks from each (its first milestone 2 steps or more away,
    # two milestones it never reached): on a tie it joins the largest
    groups = group(observed, 3)
    assert [(g.name, len(g.members)) for g in groups] == [
        ("acts-in-first-window", 6),
        ("acts-after-simplify", 4),
        ("acts-after-redirect", 2),
    ]
    assert groups[0].absorbed == [silent]
    # then redirect joins simplify, one step from it on the ladder
    groups = group(observed, 2)
    assert [(g.name, len(g.members)) for g in groups] == [("acts-in-first-window", 6), ("acts-after-simplify", 6)]
    assert groups[1].absorbed == [redirect]
    assert [o.workflow_id for o in groups[1].core] == ["s-0", "s-1", "s-2", "s-3"]
    with pytest.raises(ValueError, match="at least 1"):
        group(observed, 0)


def test_two_groups_that_read_alike_get_distinct_names():
    long_a = sig("direction", "direction", "never", failed=True, help=True)
    long_b = sig("direction", "direction", "cancelled", failed=True, help=True)
    names = [g.name for g in group(journeys(long_a, 2, "a") + journeys(long_b, 1, "b"), 5)]
    assert len(set(names)) == 2 and all(len(n) <= 64 for n in names)


def test_the_persona_takes_the_median_timing_after_the_same_touchpoint():
    slow = sig("simplify")
    observed = [
        Observed(
            workflow_id=f"s-{i}",
            marks=list(slow.marks),
            events=[
                CustomerEvent(
                    do="taken",
                    action="sample_dataset_loaded",
                    milestone="first_action",
                    at_seconds=500_000 + hours * 3600,
                    anchor="first_action.simplify",
                    after_anchor_seconds=hours * 3600,
                )
            ],
            owner_acknowledges_after=60.0 * minutes,
            span_seconds=14 * 86400,
        )
        for i, (hours, minutes) in enumerate([(2, 10), (3, 30), (9, 50)])
    ]
    [g] = group(observed, 5)
    learned = persona_for(g, total=10)
    assert learned.data["customer"] == [
        {"after": "first_action.simplify", "at": "3h", "do": "taken", "action": "sample_dataset_loaded"}
    ]
    assert learned.data["owner"] == {"acknowledges_after": "30m"}
    assert learned.data["horizon"] == "14d"
    assert "3 of 10 real journeys (30%)" in learned.data["description"]
    assert learned.text().startswith("# Learned from real customers")


@pytest.mark.parametrize("seconds", [0, 59, 3600, 7100, 7200, 89_000, 86_400, 200_000])
def test_durations_read_back_as_written(seconds):
    text = duration(seconds)
    assert abs(Duration.model_validate(text).seconds - seconds) <= max(60, seconds * 0.002)
