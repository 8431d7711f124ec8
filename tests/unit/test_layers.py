"""The house plan holds: imports only go down the layers, and no module imports itself round."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "zigwheel"

# Lowest first. A module may import modules of its own package, and of any package below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "zigwheel._version",
        "zigwheel.errors",
        "zigwheel._proc",
        "zigwheel.cache",
        "zigwheel.resources",
        "zigwheel.output",
        "zigwheel.platforms",
        "zigwheel.host",
    ),
    ("zigwheel.toolchain", "zigwheel.explain"),
    ("zigwheel.compliance",),
    ("zigwheel.builder",),
    ("zigwheel.runtime",),
    ("zigwheel.release",),
    ("zigwheel.api",),
    ("zigwheel",),
    ("zigwheel.cli",),
    ("zigwheel.__main__",),
)
# The package root is one module; every other module's name starts with its name too.
_ROOT = "zigwheel"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> tuple[int, str]:
    """The layer of a module and the unit (package or core module) it belongs to."""
    best: tuple[int, str] | None = None
    for rank, units in enumerate(LAYERS):
        for unit in units:
            inside = module == unit or (unit != _ROOT and module.startswith(unit + "."))
            if inside and (best is None or len(unit) > len(best[1])):
                best = (rank, unit)
    if best is None:
        pytest.fail(f"{module} is in no layer: add it to LAYERS in {Path(__file__).name}")
    return best


def _imports(path: Path, known: set[str]) -> Iterator[str]:
    """Every zigwheel module a file imports, at the top or inside a function alike."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "zigwheel":
                    yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "zigwheel":
                continue
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                # `from zigwheel.runtime import roots` imports the module roots, not a name.
                yield submodule if submodule in known else node.module


def _graph() -> dict[str, set[str]]:
    files = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    known = set(files)
    return {name: set(_imports(path, known)) - {name} for name, path in files.items()}


def test_every_import_goes_down_or_stays_in_its_package() -> None:
    climbing = []
    for module, imported in sorted(_graph().items()):
        rank, unit = _unit(module)
        for target in sorted(imported):
            target_rank, target_unit = _unit(target)
            # The small core is one unit: its modules may use each other (circles aside).
            same_unit = target_unit == unit or rank == target_rank == 0
            if not same_unit and target_rank >= rank:
                climbing.append(f"{module} -> {target}")
    assert climbing == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
            elif child not in graph:
                continue
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_no_import_circle() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_a_climbing_import_is_seen(tmp_path: Path) -> None:
    # The walker itself must see an import hidden inside a function.
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from zigwheel.cli import main\n    return main\n")
    assert list(_imports(source, {"zigwheel.cli"})) == ["zigwheel.cli"]
    assert _unit("zigwheel.cli")[0] > _unit("zigwheel.compliance.elf")[0]
