"""Two builds on the local stack (`make run OLD=<git ref>`): an older checkout and this one,
each a Worker Deployment Version of deployment `onboarding`, as production runs a rollout
(docs/versioning.md, "Two builds on your machine").

The old checkout is a `git worktree` of the ref under `.data/builds/<commit>` (made once,
reused); it runs with this checkout's virtualenv, so a ref whose dependencies differ needs
them installed first. Each build's id is its commit (`-dirty` when the working tree has
uncommitted changes), so the versions in the Web UI and `temporal worker deployment
describe` say which code they are."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

DEPLOYMENT = "onboarding"


class BuildError(RuntimeError):
    """A ref that does not name a commit, or a checkout git refuses to make."""


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"git {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def commit_of(root: Path, ref: str) -> str:
    return _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")


def build_id(checkout: Path) -> str:
    """The checkout's commit, short, with `-dirty` when it has uncommitted changes."""
    commit = _git(checkout, "rev-parse", "--short=10", "HEAD")
    dirty = _git(checkout, "status", "--porcelain", "--untracked-files=no")
    return f"{commit}-dirty" if dirty else commit


def checkout(root: Path, ref: str, builds_dir: Path) -> Path:
    """A worktree of `ref` under `builds_dir` (made the first time, reused after)."""
    try:
        commit = commit_of(root, ref)
    except BuildError as err:
        raise BuildError(f"{ref!r} does not name a commit of {root}") from err
    path = builds_dir / commit[:12]
    if not (path / ".git").exists():
        builds_dir.mkdir(parents=True, exist_ok=True)
        _git(root, "worktree", "add", "--detach", str(path), commit)
    return path


@dataclass(frozen=True)
class Build:
    """One build's worker: where its code is, and the version it runs as."""

    name: str  # the child's name in `make run`'s output: worker-old, worker-new
    checkout: Path
    build_id: str

    def env(self) -> dict[str, str]:
        return {
            "ONBOARDING_DEPLOYMENT_NAME": DEPLOYMENT,
            "ONBOARDING_BUILD_ID": self.build_id,
            # the old checkout's modules, not this one's (the virtualenv installs this one)
            "PYTHONPATH": str(self.checkout),
        }


def two_builds(root: Path, old_ref: str, builds_dir: Path) -> tuple[Build, Build]:
    """The old ref's build and this checkout's."""
    old = checkout(root, old_ref, builds_dir)
    builds = Build("worker-old", old, build_id(old)), Build("worker-new", root, build_id(root))
    if builds[0].build_id == builds[1].build_id:
        raise BuildError(f"{old_ref!r} is this checkout's own commit ({builds[0].build_id}): name an older one")
    return builds


def deployment_commands(old: Build, new: Build) -> list[str]:
    """The rollout's steps, as docs/versioning.md runs them, for these two builds."""
    cmd = f"temporal worker deployment {{}} --deployment-name {DEPLOYMENT} --build-id {{}} --yes"
    return [
        f"  ramp 10%        {cmd.format('set-ramping-version', new.build_id)} --percentage 10",
        f"  roll out        {cmd.format('set-current-version', new.build_id)}",
        f"  roll back       {cmd.format('set-current-version', old.build_id)}",
        f"  state           temporal worker deployment describe --name {DEPLOYMENT}",
    ]
