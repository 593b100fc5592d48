"""What the sandbox cannot check in the journey's own modules.

The sandbox restricts `datetime.now()`, `random`, `uuid4()`, file and network I/O in the
workflow module it loads (workflows/onboarding.py), but the journey's parts (steps,
escalations, waiting, bookkeeping, ...) are imported passed through
(`workflow.unsafe.imports_passed_through()`: one copy per process, docs/performance.md), and
a passed-through module runs unchecked. So every module of the journey's packages is read
here instead, before it runs: a call to the wall clock, to randomness or to the operating
system is named with its file and line (tests/workflows/test_workflow_code_determinism.py).
The workflow's clock is `workflow.now()`, its randomness `workflow.random()` and
`workflow.uuid4()`, its I/O an activity (workflows/effects.py)."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The workflow packages' modules: the journey's and the owner roster's workflow.
WORKFLOW_CODE = ("workflows", "owners/workflow.py")

# Qualified names (as imported) a workflow must not call; a trailing "." forbids a whole module.
FORBIDDEN_CALLS = {
    "datetime.datetime.now": "the wall clock: use workflow.now()",
    "datetime.datetime.utcnow": "the wall clock: use workflow.now()",
    "datetime.datetime.today": "the wall clock: use workflow.now()",
    "datetime.date.today": "the wall clock: use workflow.now().date()",
    "time.": "the wall clock or a real sleep: use workflow.now() or workflow.sleep()",
    "random.": "randomness: use workflow.random()",
    "secrets.": "randomness: use workflow.random()",
    "uuid.uuid1": "a random id: use workflow.uuid4()",
    "uuid.uuid4": "a random id: use workflow.uuid4()",
    "os.": "the operating system (environment, files): read it in an activity",
    "open": "file I/O: do it in an activity",
    "input": "console I/O",
    "socket.": "network I/O: do it in an activity",
    "subprocess.": "a process: start it in an activity",
    "threading.": "threads: the workflow runs on one event loop",
}
FORBIDDEN_IMPORTS = {"random", "secrets", "os", "socket", "subprocess", "threading", "time", "requests", "httpx"}


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    call: str
    why: str

    def __str__(self) -> str:
        where = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{where}:{self.line}: {self.call} ({self.why})"


def workflow_modules(root: Path = ROOT) -> list[Path]:
    paths: list[Path] = []
    for entry in WORKFLOW_CODE:
        target = root / entry
        paths += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    return paths


def _forbidden(qualified: str) -> str | None:
    for name, why in FORBIDDEN_CALLS.items():
        if qualified == name or (name.endswith(".") and qualified.startswith(name)):
            return why
    return None


def _dotted(node: ast.expr) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def check_source(source: str, path: Path) -> list[Finding]:
    """Every forbidden call or import in one module, names resolved through its imports
    (`from datetime import datetime as dt; dt.now()` is `datetime.datetime.now`)."""
    tree = ast.parse(source, filename=str(path))
    imported: dict[str, str] = {}  # local name -> qualified name
    findings: list[Finding] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported[alias.asname or alias.name.partition(".")[0]] = (
                    alias.name if alias.asname else alias.name.partition(".")[0]
                )
                if alias.name.partition(".")[0] in FORBIDDEN_IMPORTS:
                    findings.append(Finding(path, node.lineno, f"import {alias.name}", "not for workflow code"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            if node.module.partition(".")[0] in FORBIDDEN_IMPORTS:
                findings.append(Finding(path, node.lineno, f"from {node.module} import ...", "not for workflow code"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        parts = _dotted(node.func)
        if parts is None:
            continue
        head = imported.get(parts[0], parts[0] if parts[0] in ("open", "input") and len(parts) == 1 else None)
        if head is None:
            continue
        qualified = ".".join([head, *parts[1:]])
        why = _forbidden(qualified)
        if why is not None:
            findings.append(Finding(path, node.lineno, qualified + "()", why))
    return sorted(findings, key=lambda f: (str(f.path), f.line))


def check(paths: Iterable[Path] | None = None) -> list[Finding]:
    """Every finding in the workflow packages (or in `paths`)."""
    return [f for path in (paths or workflow_modules()) for f in check_source(path.read_text(), path)]
