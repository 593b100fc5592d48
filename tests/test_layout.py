"""Where things live (README, "Where things live"), checked from the source with `ast`: no
import loops between modules or between packages, no module importing another package's
private names, and each home importing only what it may (DESIGN.md section 2)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = {".venv", ".git", "histories", "node_modules", "__pycache__", ".data", "build", "dist"}

# The SDK's own private name one runner needs (runtime/context_free.py explains why), confined there.
PRIVATE_ALLOWED = {("runtime.context_free", "temporalio.workflow", "_Definition")}
# What contracts/ may import besides itself and the standard library.
CONTRACTS_MAY_IMPORT = {"pydantic", "temporalio"}
# Jinja2 only where a message template's syntax is checked; Babel only where a language
# code is checked against the locales it knows.
CONTRACTS_JINJA = {"contracts.messages"}
CONTRACTS_BABEL = {"contracts.languages"}


@dataclass(frozen=True)
class Import:
    importer: str  # the importing module
    target: str  # the imported module (a project module when `local`)
    names: tuple[str, ...]  # for `from target import names`
    line: int
    local: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).parts
        if any(part in SKIPPED or part.endswith(".egg-info") for part in relative):
            continue
        if len(relative) > 1 and not (ROOT / relative[0] / "__init__.py").exists():
            continue  # a folder of scripts, not a package
        found[module_name(path)] = path
    return found


def is_package(name: str) -> bool:
    return modules()[name].name == "__init__.py"


def resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if not is_package(importer):
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@cache
def imports() -> tuple[Import, ...]:
    """Every import of every module, at the top and inside functions alike."""
    known = modules()
    out = []
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    out.append(Import(name, alias.name, (), node.lineno, alias.name in known))
            elif isinstance(node, ast.ImportFrom):
                target = resolve(name, node)
                plain = []
                for alias in node.names:
                    submodule = f"{target}.{alias.name}"
                    if submodule in known:  # `from package import module`
                        out.append(Import(name, submodule, (), node.lineno, True))
                    else:
                        plain.append(alias.name)
                if plain or target not in known:
                    out.append(Import(name, target, tuple(plain), node.lineno, target in known))
    return tuple(out)


def top(module: str) -> str:
    return module.split(".")[0]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def module_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for imp in imports():
        if imp.local and imp.target != imp.importer:
            edges.setdefault(imp.importer, set()).add(imp.target)
    return edges


def package_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for imp in imports():
        if imp.local and top(imp.target) != top(imp.importer):
            edges.setdefault(top(imp.importer), set()).add(top(imp.target))
    return edges


def imports_of(package: str) -> Iterator[Import]:
    return (imp for imp in imports() if top(imp.importer) == package)


def test_the_checks_see_the_project():
    found = modules()
    assert {"worker", "contracts.journey", "owners.workflow", "runtime.sandbox", "cli.main"} <= set(found)
    assert not any(top(name) == "tests" and "histories" in name for name in found)


def test_no_import_loop_between_modules():
    assert cycles(module_edges()) == []


def test_no_import_loop_between_packages():
    assert cycles(package_edges()) == []


def test_no_module_imports_another_packages_private_names():
    offending = [
        f"{imp.importer}:{imp.line} imports {name} from {imp.target}"
        for imp in imports()
        for name in imp.names
        if name.startswith("_")
        and not name.startswith("__")
        and top(imp.target) != top(imp.importer)
        and (imp.importer, imp.target, name) not in PRIVATE_ALLOWED
    ]
    assert offending == []


def test_contracts_import_only_pydantic_the_standard_library_and_the_sdk():
    offending = []
    for imp in imports_of("contracts"):
        root = top(imp.target)
        if imp.local:
            if root != "contracts":
                offending.append(f"{imp.importer}:{imp.line} imports {imp.target}")
        elif (
            root not in sys.stdlib_module_names
            and root not in CONTRACTS_MAY_IMPORT | {"__future__"}
            and not (root == "jinja2" and imp.importer in CONTRACTS_JINJA)
            and not (root == "babel" and imp.importer in CONTRACTS_BABEL)
        ):
            offending.append(f"{imp.importer}:{imp.line} imports {imp.target}")
    assert offending == []


def test_the_journey_and_the_activities_meet_only_in_contracts():
    """The journey names activities by reference (workflows/effects.py, and the moments'
    activities in workflows/moments.py); activities never import the journey."""
    journey_to_activities = sorted(
        {imp.importer for imp in imports_of("workflows") if imp.local and top(imp.target) == "activities"}
    )
    assert journey_to_activities == ["workflows.effects", "workflows.moments"]
    assert [imp for imp in imports_of("activities") if imp.local and top(imp.target) == "workflows"] == []
    owners_to_journey = [imp for imp in imports_of("owners") if imp.local and top(imp.target) == "workflows"]
    assert owners_to_journey == []


def test_the_product_never_imports_the_tests():
    """What the tests share with the product lives in the product (the fake world, lab/fakes.py;
    the drive helpers, lab/drive.py); nothing the product runs imports tests/ (the benchmarks
    may: they are not shipped)."""
    offending = [
        f"{imp.importer}:{imp.line} imports {imp.target}"
        for imp in imports()
        if imp.local and top(imp.target) == "tests" and top(imp.importer) not in {"tests", "bench"}
    ]
    assert offending == []
