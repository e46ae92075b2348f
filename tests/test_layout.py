"""How the packages depend on each other: no module-level import circle between incidents and incidents.runs."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _module(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _graph() -> dict[str, set[str]]:
    paths = [p for p in (ROOT / "incidents").rglob("*.py") if "migrations" not in p.parts]
    modules = {_module(p): p for p in paths}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.parse(path.read_text()).body:  # module level only: lazy imports inside functions are fine
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        here = todo.pop()
        for nxt in graph.get(here, ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def test_incidents_and_runs_do_not_import_each_other_in_a_circle() -> None:
    graph = _graph()
    runs = [m for m in graph if m.startswith("incidents.runs")]
    others = [m for m in graph if m.startswith("incidents") and not m.startswith("incidents.runs")]
    circles = [(r, o) for r in runs for o in others if o in graph[r] and _reaches(graph, o, r)]
    assert circles == []
