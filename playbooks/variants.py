"""Which variant of a playbook experiment a deal runs: a hash of the playbook's name and the
deal id, so the same deal always gets the same variant (retries, replays, continue-as-new,
a second worker), and the weights hold over many deals."""

from __future__ import annotations

import hashlib

from contracts.playbook import PlaybookSnapshot


def pick(snapshot: PlaybookSnapshot, deal_id: str) -> str | None:
    variants = snapshot.playbook.variants
    if not variants:
        return None
    digest = hashlib.sha256(f"{snapshot.playbook.name}:{deal_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * sum(v.weight for v in variants)
    for variant in variants:
        point -= variant.weight
        if point < 0:
            return variant.name
    return variants[-1].name  # rounding at the very top


def assign(snapshot: PlaybookSnapshot, deal_id: str) -> PlaybookSnapshot:
    """The snapshot as this deal runs it: the chosen variant's overrides applied and named."""
    name = pick(snapshot, deal_id)
    if name is None:
        return snapshot
    return force(snapshot, name)


def names(snapshot: PlaybookSnapshot) -> list[str]:
    return [v.name for v in snapshot.playbook.variants]


def force(snapshot: PlaybookSnapshot, name: str) -> PlaybookSnapshot:
    """The snapshot a deal that drew variant `name` runs (what `assign` returns for it): the
    journey lab walks a chosen arm with it. A name the playbook does not declare is a KeyError."""
    if name not in names(snapshot):
        raise KeyError(name)
    return snapshot.model_copy(update={"playbook": snapshot.playbook.variant(name), "variant": name})
