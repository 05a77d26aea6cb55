"""The house by stage: ``ecostat/`` is a stack of stage packages, every import (lazy ones too) goes to the
same floor or below, and no modules import each other in a circle. A circle or an import back up added
later fails here, naming the modules."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ecostat"

# Bottom first. A package may import its own modules and any package on a lower floor, never one above.
FLOORS = ("common", "contract", "intake", "read", "check", "store", "notify", "publish", "run", "portal", "cli")
MAX_LINES = 450


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def modules() -> dict[str, Path]:
    return {module_name(f): f for f in PACKAGE.rglob("*.py")}


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The ecostat modules that ``name`` imports anywhere in its file (top level or inside a function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def floor(name: str) -> int | None:
    parts = name.split(".")
    return FLOORS.index(parts[1]) if len(parts) > 1 and parts[1] in FLOORS else None


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
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
    return found


def test_every_module_lives_in_a_stage_package():
    loose = [n for n in modules() if n.count(".") == 1 and n not in {f"ecostat.{p}" for p in FLOORS}]
    assert loose == [], f"modules outside the stage packages: {loose}"


def test_no_import_runs_back_up_a_floor():
    back_up = [f"{src} → {dst}" for src, targets in graph().items() for dst in sorted(targets)
               if floor(src) is not None and floor(dst) is not None and floor(dst) > floor(src)]  # type: ignore[operator]
    assert back_up == [], "imports that run back up a floor:\n" + "\n".join(back_up)


def test_no_import_circles():
    found = circles(graph())
    assert found == [], "modules that import each other in a circle:\n" + "\n".join(" ↔ ".join(c) for c in found)


def test_the_scan_sees_a_circle_and_an_import_back_up():
    edges = {"ecostat.common.a": {"ecostat.store.b"}, "ecostat.store.b": {"ecostat.common.a"}}
    assert circles(edges) == [["ecostat.common.a", "ecostat.store.b"]]
    assert floor("ecostat.store.b") > floor("ecostat.common.a")  # type: ignore[operator]


def test_no_module_is_over_the_size_limit():
    sizes = {n: len(p.read_text(encoding="utf-8").splitlines()) for n, p in modules().items()}
    big = {n: lines for n, lines in sizes.items() if lines > MAX_LINES}
    assert big == {}, f"modules over {MAX_LINES} lines: {big}"
