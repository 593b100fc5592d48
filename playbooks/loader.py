"""Load and validate playbook YAML files; errors name the file, the field and the reason.

Two ways to load a directory:

- `load_all`: every file must be good, or it raises naming each bad one (the tools that
  check a playbook before it ships: the lab, the report's targets, the tests).
- `load_set`: what the worker serves. A broken file affects only itself: it is refused with
  its file, field and reason, logged once per broken version, and every other playbook
  serves; a file that was good earlier in this process keeps serving its last good
  version. `choose` then picks the playbook for a deal, or says why there is none (the
  journey takes that reason to a human, workflows/playbook_hold.py).

Fields this build does not know: the checking tools (`load_all`, `onboarding playbooks`)
refuse them with a "did you mean"; the worker (`load_set(..., unknown_fields="keep")`)
serves a file whose only problems are such fields, keeps them in the snapshot and logs a
warning naming them once per version of the file: after a rollback, a playbook written for
the newer build must not stop the older one (docs/versioning.md, "Adding a field").
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import structlog
import yaml
from pydantic import BaseModel, ValidationError

from contracts.playbook import AppliesTo, Playbook, PlaybookSnapshot
from playbooks import calendars
from playbooks.hints import hint, written
from playbooks.lines import FileLines

DEFAULT_DIR = Path(__file__).parent

log = structlog.get_logger(__name__)


class PlaybookError(ValueError):
    """A playbook or roster file that cannot be used, with every problem spelled out.
    `problems` holds each as `field: reason` (the message adds the file)."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems) or [message]


def playbooks_dir() -> Path:
    return Path(os.environ.get("ONBOARDING_PLAYBOOKS_DIR") or DEFAULT_DIR)


UnknownFields = Literal["refuse", "keep"]

# (file, model, unknown fields) -> (the bytes last parsed, the model they gave). The snapshot
# and owner activities read their files on every call so a live edit counts at once; parsing
# and validating the same bytes again cost milliseconds of the worker's CPU per journey.
_PARSED: dict[tuple[Path, type[BaseModel], UnknownFields], tuple[bytes, BaseModel]] = {}


def read_yaml_model(
    path: Path, model: type[BaseModel], unknown_fields: UnknownFields = "refuse"
) -> tuple[BaseModel, bytes]:
    """Parse one YAML file into `model`, or raise PlaybookError naming file, field, reason.
    Unchanged bytes give the model parsed before (the models are frozen); changed bytes are
    parsed again, and a file that fails is never cached. `unknown_fields="keep"`: a file
    whose only problems are fields the model does not know loads, with them kept, and a
    warning names them."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise PlaybookError(f"{path}: cannot read: {err.strerror}") from err
    key = (path.resolve(), model, unknown_fields)
    cached = _PARSED.get(key)
    if cached is not None and cached[0] == raw:
        return cached[1], raw
    parsed = _parse(path, raw, model, unknown_fields)
    _PARSED[key] = (raw, parsed)
    return parsed, raw


def _parse(path: Path, raw: bytes, model: type[BaseModel], unknown_fields: UnknownFields = "refuse") -> BaseModel:
    data = _yaml_mapping(path, raw)
    lines = FileLines(path, raw)
    misread = lines.grouped_amounts()
    try:
        parsed = model.model_validate(data)
    except ValidationError as err:
        problems = misread + _problems(err, model, lines)
        if unknown_fields == "keep" and not misread and all(e["type"] == "extra_forbidden" for e in err.errors()):
            unknown = [field_path(written(model, tuple(e["loc"]))) for e in err.errors()]
            # parsed once per version of the file (the cache above): logged once per version
            log.warning(
                "playbook.unknown_fields",
                file=path.name,
                fields=unknown,
                meaning="fields this build does not know (a newer build's, or a typo: `onboarding playbooks` "
                "names them); kept in the snapshot, not used by this build",
            )
            return model.model_validate(data, extra="allow")
        raise PlaybookError(_listed(path, problems), problems) from None
    if misread:
        raise PlaybookError(_listed(path, misread), misread)
    return parsed


def _listed(path: Path, problems: Sequence[str]) -> str:
    return "\n".join([f"{path}: {len(problems)} problem(s)", *(f"  {path.name}: {problem}" for problem in problems)])


def _yaml_mapping(path: Path, raw: bytes) -> dict[str, object]:
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(err, "problem", None) or "cannot be parsed"
        raise PlaybookError(f"{path}: not valid YAML: {err}", [f"not valid YAML: {problem}{where}"]) from err
    if not isinstance(data, dict):
        raise PlaybookError(f"{path}: expected a mapping at the top level")
    return data


def field_path(loc: tuple[object, ...]) -> str:
    """`milestones.0.help.body`. A choice between shapes (an expectation's kind, a value or
    `never`) adds its tag or class name to the location; the reader needs neither. A
    message's text in another language is where the file writes it: `help.de.body`."""
    parts: list[str] = []
    for part in loc:
        text = str(part)
        if parts and text == parts[-1]:
            continue
        if text[:1].isupper() or text.startswith(("literal[", "function-", "list[")):
            continue
        if text == "translations":  # a message's other languages are written under their codes
            continue
        parts.append(text)
    return ".".join(parts) or "(top level)"


def format_errors(path: Path, err: ValidationError, problems: Sequence[str] | None = None) -> str:
    lines = [f"{path}: {err.error_count()} problem(s)"]
    lines += [f"  {path.name}: {problem}" for problem in (_problems(err) if problems is None else problems)]
    return "\n".join(lines)


def _problems(err: ValidationError, model: type[BaseModel] | None = None, lines: FileLines | None = None) -> list[str]:
    """`field: reason` for each problem; with the model, the reason an author can act on
    (playbooks/hints.py); with the file, a template's syntax error names its line in it."""
    out = []
    for problem in err.errors():
        message = (hint(model, problem) if model is not None else None) or problem["msg"]
        if lines is not None:
            message = lines.template_line(problem["loc"], message)
        where = written(model, tuple(problem["loc"])) if model is not None else problem["loc"]
        out.append(f"{field_path(where)}: {message}")
    return out


def load_playbook(path: Path, unknown_fields: UnknownFields = "refuse") -> PlaybookSnapshot:
    playbook, raw = read_yaml_model(path, Playbook, unknown_fields)
    assert isinstance(playbook, Playbook)
    if problems := calendars.problems(playbook):
        raise PlaybookError(_listed(path, problems), problems)
    return PlaybookSnapshot(source=path.name, digest=hashlib.sha256(raw).hexdigest()[:16], playbook=playbook)


def load_all(directory: Path | None = None) -> list[PlaybookSnapshot]:
    """Every playbook in the directory; one bad file fails the whole load (all named). For
    the tools that check playbooks before they ship; the worker serves `load_set`."""
    directory = directory or playbooks_dir()
    loaded = load_set(directory, log_problems=False)
    if not loaded.files:
        raise PlaybookError(f"{directory}: no playbook (*.yaml) found")
    if loaded.broken:
        raise PlaybookError("\n".join(b.message for b in loaded.broken))
    return list(loaded.loaded)


# ------------------------------------------------------------------ the set the worker serves


@dataclass(frozen=True)
class BrokenPlaybook:
    """A playbook file refused as it is now. What it claims (`applies_to`) and whether it is
    the fallback are read from it when those parts still validate, else unknown (None)."""

    file: str
    message: str  # file, every field and reason (the PlaybookError text)
    problems: tuple[str, ...]  # `field: reason` each
    applies_to: AppliesTo | None = None
    fallback: bool | None = None
    last_good: PlaybookSnapshot | None = None  # its version that loaded earlier in this process

    @property
    def reason(self) -> str:
        """One line for a journey, a task or a log: the first problem, and how many more."""
        more = len(self.problems) - 1
        return self.problems[0] + (f" (and {more} more problem{'s' * (more > 1)})" if more > 0 else "")

    def claims(self) -> AppliesTo | None:
        """What it claims: its last good version's claims while that serves, else its own."""
        return self.last_good.playbook.applies_to if self.last_good is not None else self.applies_to


@dataclass(frozen=True)
class PlaybookSet:
    """The playbook files of a directory as the worker serves them, in file order."""

    directory: Path
    files: tuple[str, ...] = ()
    loaded: tuple[PlaybookSnapshot, ...] = ()
    broken: tuple[BrokenPlaybook, ...] = ()

    def serving(self) -> list[PlaybookSnapshot]:
        """Every playbook that can run a journey: the good files, and the last good version
        of a broken file that had one; in file order."""
        snapshots = [*self.loaded, *(b.last_good for b in self.broken if b.last_good is not None)]
        return sorted(snapshots, key=lambda s: s.source)

    def fallback(self) -> PlaybookSnapshot | None:
        return next((s for s in self.serving() if s.playbook.fallback), None)

    def startup_problems(self) -> list[str]:
        """Why a worker must not start on this set: no playbook loads, or the fallback is
        broken. Any other broken file is logged and refused, and the rest serve."""
        if not self.files:
            return [f"{self.directory}: no playbook (*.yaml) found"]
        if not self.serving():
            return ["no playbook loads:", *(b.message for b in self.broken)]
        return [
            f"the fallback playbook (fallback: true) is broken: {b.message}"
            for b in self.broken
            if b.fallback and b.last_good is None
        ]


# What was logged for each broken file (its message), so one broken version is logged once
# per process however many journeys ask; and the last version of each file that loaded.
_LOGGED: dict[Path, str] = {}
_LAST_GOOD: dict[Path, PlaybookSnapshot] = {}


def load_set(
    directory: Path | None = None, *, log_problems: bool = True, unknown_fields: UnknownFields = "refuse"
) -> PlaybookSet:
    """Every playbook file of the directory, each good or broken on its own. A file is also
    refused when its `name` is taken by a file before it, or when it declares itself the
    fallback after another file did (at most one fallback). A broken file is logged once per
    broken version (an error naming the file, field and reason, nothing from any deal).
    The worker passes `unknown_fields="keep"` (see the module)."""
    directory = directory or playbooks_dir()
    paths = sorted(directory.glob("*.yaml"))
    loaded: list[PlaybookSnapshot] = []
    broken: list[BrokenPlaybook] = []
    names: dict[str, str] = {}
    fallback = ""
    for path in paths:
        key = path.resolve()
        try:
            snapshot = load_playbook(path, unknown_fields)
            playbook = snapshot.playbook
            if playbook.name in names:
                raise PlaybookError(
                    f"{path}: name: {playbook.name!r} is already the name of {names[playbook.name]}",
                    [f"name: {playbook.name!r} is already the name of {names[playbook.name]}"],
                )
            if playbook.fallback and fallback:
                raise PlaybookError(
                    f"{path}: fallback: {fallback} is the fallback already; at most one playbook may be",
                    [f"fallback: {fallback} is the fallback already; at most one playbook may be"],
                )
        except PlaybookError as err:
            broken.append(_broken(path, err, _LAST_GOOD.get(key)))
            if log_problems and _LOGGED.get(key) != str(err):
                _LOGGED[key] = str(err)
                log.error(
                    "playbook.broken",
                    file=path.name,
                    directory=str(directory),
                    problems=list(broken[-1].problems),
                    serving="its last good version" if broken[-1].last_good else "nothing in its place",
                )
            continue
        names[playbook.name] = path.name
        fallback = fallback or (path.name if playbook.fallback else "")
        loaded.append(snapshot)
        _LAST_GOOD[key] = snapshot
        if log_problems and _LOGGED.pop(key, None) is not None:
            log.info("playbook.repaired", file=path.name, directory=str(directory))
    return PlaybookSet(directory, tuple(p.name for p in paths), tuple(loaded), tuple(broken))


def _broken(path: Path, err: PlaybookError, last_good: PlaybookSnapshot | None) -> BrokenPlaybook:
    """The refused file, with what can still be read of its claims."""
    applies_to: AppliesTo | None = None
    fallback: bool | None = None
    try:
        data = _yaml_mapping(path, path.read_bytes())
        applies_to = AppliesTo.model_validate(data.get("applies_to") or {})
        flag = data.get("fallback", False)
        fallback = flag if isinstance(flag, bool) else None
    except (OSError, PlaybookError, ValidationError):
        pass
    return BrokenPlaybook(path.name, str(err), tuple(err.problems), applies_to, fallback, last_good)


# ------------------------------------------------------------------ choosing a deal's playbook


@dataclass(frozen=True)
class Choice:
    """The playbook a deal runs, or why none can (`refusal`: the journey takes it to a human)."""

    snapshot: PlaybookSnapshot | None
    notice: str = ""  # why this one, when it is not simply the playbook claiming the deal
    refusal: str = ""
    files: tuple[str, ...] = field(default=())  # the broken file(s) the refusal is about
    fallback: bool = False  # no playbook claims the deal: the declared fallback runs it


def describe(segment: str, product: str) -> str:
    return f"segment {segment!r} / product {product!r}"


def choose(playbooks: PlaybookSet, segment: str, product: str, *, label: str = "") -> Choice:
    """The most specific playbook claiming the deal (segment counts more than product, ties
    go to the file that sorts first), names compared after `schema.normalise`. A broken file
    that would claim it, with no last good version, is a refusal naming it; a deal nobody
    claims runs the declared fallback, or is refused ("no playbook for segment X / product
    Y"), also when a file that cannot be read might have been the one for it."""
    deal = label or describe(segment, product)
    ranked: list[tuple[int, str, PlaybookSnapshot | None, BrokenPlaybook | None]] = []
    for snapshot in playbooks.loaded:
        if (score := snapshot.playbook.specificity(segment, product)) is not None:
            ranked.append((score, snapshot.source, snapshot, None))
    for bad in playbooks.broken:
        claims = bad.claims()
        if claims is not None and (score := claims.specificity(segment, product)) is not None:
            ranked.append((score, bad.file, bad.last_good, bad))
    if ranked:
        _, file, chosen, refused = min(ranked, key=lambda r: (-r[0], r[1]))
        if refused is None:
            return Choice(chosen)
        if chosen is not None:
            notice = f"{file} is broken ({refused.reason}); its last good version ({chosen.digest}) runs"
            return Choice(chosen, notice=notice)
        return Choice(None, refusal=f"the playbook for {deal} ({file}) is broken: {refused.reason}", files=(file,))
    unknown = [b for b in playbooks.broken if b.claims() is None]
    if unknown:
        files = tuple(b.file for b in unknown)
        reasons = "; ".join(f"{b.file}: {b.reason}" for b in unknown)
        return Choice(
            None,
            refusal=f"no playbook for {deal}; {', '.join(files)} cannot be read and may be the one for it: {reasons}",
            files=files,
        )
    if (fallback := playbooks.fallback()) is not None:
        notice = f"no playbook for {deal}: the fallback playbook {fallback.playbook.name!r} ({fallback.source}) runs"
        return Choice(fallback, notice=notice, fallback=True)
    broken_fallback = [b for b in playbooks.broken if b.fallback]
    if broken_fallback:
        bad = broken_fallback[0]
        return Choice(
            None,
            refusal=f"no playbook for {deal}, and the fallback playbook ({bad.file}) is broken: {bad.reason}",
            files=(bad.file,),
        )
    if not playbooks.files:
        return Choice(None, refusal=f"no playbook for {deal}: {playbooks.directory} holds no playbook (*.yaml)")
    return Choice(None, refusal=f"no playbook for {deal}, and no playbook is the fallback (fallback: true)")


def select(playbooks: list[PlaybookSnapshot], segment: str, product: str) -> PlaybookSnapshot:
    """The playbook `choose` gives a deal among good playbooks (the fallback when none
    claims it); PlaybookError with the reason when there is none."""
    directory = Path(".")
    choice = choose(PlaybookSet(directory, tuple(s.source for s in playbooks), tuple(playbooks)), segment, product)
    if choice.snapshot is None:
        raise PlaybookError(choice.refusal)
    return choice.snapshot
