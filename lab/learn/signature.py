"""A customer's behaviour, per milestone, in a few marks: when they acted (in the first
window, after the clarify, the simplify or the redirect, after a human, skipped by staff,
never, or their deal was lost), whether they failed before, whether they asked for help.
Two customers with the same signature behave alike; the distance between two signatures
counts the marks that differ (docs/lab.md, "Personas learned from real customers")."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

When = Literal["direction", "clarify", "simplify", "redirect", "human", "skipped", "never", "cancelled"]
# The order customers can be placed in, from the keenest: neighbours are one step apart.
LADDER: tuple[When, ...] = ("direction", "clarify", "simplify", "redirect", "human", "skipped", "never", "cancelled")
WHEN_WORDS: dict[str, str] = {
    "direction": "acts-in-first-window",
    "clarify": "acts-after-clarify",
    "simplify": "acts-after-simplify",
    "redirect": "acts-after-redirect",
    "human": "acts-after-a-human",
    "skipped": "skipped-by-staff",
    "never": "goes-silent",
    "cancelled": "deal-lost",
}
WHEN_SPOKEN: dict[str, str] = {
    "direction": "acts in the first window",
    "clarify": "acts after the clarify",
    "simplify": "acts after the simplify",
    "redirect": "acts after the redirect",
    "human": "acts after a human decided",
    "skipped": "skipped by staff",
    "never": "never acts",
    "cancelled": "the deal is lost",
}
MISSING = 2  # a milestone one customer reached and the other did not


class Mark(BaseModel):
    """One milestone of a journey: when the customer acted, and what came before."""

    model_config = ConfigDict(frozen=True)

    milestone: str
    when: When
    failed: bool = False  # at least one failed attempt in this milestone
    help: bool = False  # asked for help in this milestone

    def __str__(self) -> str:
        extra = "".join([" +failed" if self.failed else "", " +help" if self.help else ""])
        return f"{self.milestone}: {self.when}{extra}"

    def spoken(self) -> str:
        before = [w for w, on in (("fails", self.failed), ("asks for help", self.help)) if on]
        lead = f"{' and '.join(before)}, then " if before else ""
        return f"{self.milestone}: {lead}{WHEN_SPOKEN[self.when]}"

    @property
    def plain(self) -> bool:
        return self.when == "direction" and not self.failed and not self.help


def mark_distance(a: Mark | None, b: Mark | None) -> int:
    if a is None or b is None:
        return 0 if a is b else MISSING
    steps = abs(LADDER.index(a.when) - LADDER.index(b.when))
    return min(steps, 2) + (a.failed != b.failed) + (a.help != b.help)


class Signature(BaseModel):
    """Every milestone the customer reached, in the playbook's order."""

    model_config = ConfigDict(frozen=True)

    marks: tuple[Mark, ...]

    def __str__(self) -> str:
        return " · ".join(str(m) for m in self.marks) or "(nothing)"

    def spoken(self) -> str:
        return "; ".join(m.spoken() for m in self.marks)

    def mark(self, milestone: str) -> Mark | None:
        return next((m for m in self.marks if m.milestone == milestone), None)

    def distance(self, other: Signature) -> int:
        """Marks apart: per milestone, 1 for each neighbouring step on the ladder (2 at most),
        1 for a failure or help request on one side only; 2 for a milestone only one reached."""
        keys = list(dict.fromkeys([m.milestone for m in self.marks] + [m.milestone for m in other.marks]))
        return sum(mark_distance(self.mark(k), other.mark(k)) for k in keys)

    def name(self) -> str:
        """In words, for a persona's name: `acts-after-simplify`,
        `fails-acts-after-clarify`, `acts-in-first-window-then-goes-silent-at-first-value`."""
        if not self.marks:
            return "never-started"
        words = [_words(self.marks[0])]
        later = next((m for m in self.marks[1:] if not m.plain), None)
        if later is not None:
            words.append(f"then-{_words(later)}-at-{later.milestone.replace('_', '-')}")
        name = "-".join(words).lower()
        name = "".join(c if c.isalnum() or c == "-" else "-" for c in name)
        if len(name) > 56:  # room for a `-2` when two groups read alike
            name = name[:57].rsplit("-", 1)[0]
            while name.rsplit("-", 1)[-1] in ("at", "then"):
                name = name.rsplit("-", 1)[0]
        return name if name[:1].isalpha() else f"p-{name}"


def _words(mark: Mark) -> str:
    before = [w for w, on in (("fails", mark.failed), ("asks-help", mark.help)) if on]
    return "-".join([*before, WHEN_WORDS[mark.when]])
