"""Customers grouped by behaviour: identical signatures form a group; while there are more
groups than personas wanted, the smallest joins the one nearest to it (fewest marks apart;
on a tie the larger, then the first by name). A group keeps the signature of the customers
it was founded on; the ones it absorbed are counted in its share and named."""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel, Field

from lab.learn.observed import Observed
from lab.learn.signature import Signature


class Group(BaseModel):
    signature: Signature
    members: list[Observed]
    absorbed: list[Signature] = Field(default_factory=list)  # smaller groups merged in
    name: str = ""

    @property
    def core(self) -> list[Observed]:
        """The members with the group's own signature: the persona is written from them."""
        return [o for o in self.members if o.signature == self.signature]


def group(observed: list[Observed], max_groups: int) -> list[Group]:
    """A handful of groups (at most `max_groups`), largest first, each named in words."""
    if max_groups < 1:
        raise ValueError("--max-personas: at least 1")
    by_signature: dict[Signature, list[Observed]] = defaultdict(list)
    for o in observed:
        by_signature[o.signature].append(o)
    groups = [Group(signature=s, members=m) for s, m in by_signature.items()]
    while len(groups) > max_groups:
        smallest = min(groups, key=lambda g: (len(g.members), str(g.signature)))
        others = [g for g in groups if g is not smallest]
        nearest = min(
            others, key=lambda g: (smallest.signature.distance(g.signature), -len(g.members), str(g.signature))
        )
        nearest.members += smallest.members
        nearest.absorbed += [smallest.signature, *smallest.absorbed]
        groups.remove(smallest)
    groups.sort(key=lambda g: (-len(g.members), str(g.signature)))
    taken: set[str] = set()
    for g in groups:
        name, n = g.signature.name(), 2
        while name in taken:
            name, n = f"{g.signature.name()}-{n}", n + 1
        g.name = name
        taken.add(name)
    return groups
