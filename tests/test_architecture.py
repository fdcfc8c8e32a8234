"""The house's dependency rule, checked on the source tree: each folder imports only the rooms
below it, no module takes part in an import circle (lazy imports and TYPE_CHECKING ones count),
the SQL drivers are spoken only where storage lives, and only the clock reads the time.

    entrypoints -> (projections, ledger.storage) -> ledger.service_layer -> ledger.domain
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ledger", "projections")
# a room and the rooms of the project it may import (itself always)
ALLOWED = {
    "ledger.domain": (),
    "ledger.service_layer": ("ledger.domain",),
    "ledger.storage": ("ledger.service_layer", "ledger.domain"),
    "projections": ("ledger.service_layer", "ledger.domain"),
}
SQL_DRIVERS = ("sqlite3", "psycopg", "psycopg_pool", "eventsourcing.sqlite", "eventsourcing.postgres")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, known: dict[str, Path] | None = None) -> set[str]:
    """Every module ``path`` imports, wherever the import stands (top level, function, TYPE_CHECKING);
    ``from package import submodule`` counts as the submodule when ``known`` lists it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & set(known or ())
            found |= submodules if len(submodules) == len(node.names) else {node.module, *submodules}
    return found


def sources() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def project_imports(path: Path, known: dict[str, Path]) -> set[str]:
    return {m for m in imports_of(path, known) if m in known and m.split(".")[0] in PACKAGES}


def room_of(module: str) -> str:
    for room in ALLOWED:
        if module == room or module.startswith(room + "."):
            return room
    return "ledger.entrypoints" if module.startswith("ledger.entrypoints") else module


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_each_room_imports_only_the_rooms_below_it(room):
    known = sources()
    for module, path in known.items():
        if room_of(module) != room:
            continue
        for imported in project_imports(path, known):
            below = room_of(imported)
            if imported in ("ledger", "projections"):
                continue  # a package's own docstring-only __init__
            assert below == room or below in ALLOWED[room], f"{module} ({room}) imports {imported} ({below})"


def test_no_module_is_part_of_an_import_circle():
    known = sources()
    graph = {m: {i for i in project_imports(p, known) if i not in ("ledger", "projections", m)} for m, p in known.items()}
    graph["ledger"] = graph.get("ledger", set())
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_sql_drivers_are_imported_only_by_storage_and_the_read_models():
    for module, path in sources().items():
        if room_of(module) in ("ledger.storage", "projections"):
            continue
        spoken = {m for m in imports_of(path) if m.startswith(SQL_DRIVERS)}
        assert not spoken, f"{module} imports {spoken}"


def test_the_environment_is_read_in_one_module():
    for module, path in sources().items():
        if module == "ledger.entrypoints.settings":
            continue
        text = path.read_text()
        assert "os.environ" not in text and "os.getenv" not in text, f"{module} reads the environment"


def test_only_the_clock_reads_the_time():
    for module, path in sources().items():
        if module == "ledger.domain.clock":
            continue
        text = path.read_text()
        for needle in ("datetime.now(", "datetime.utcnow(", "time.time()", "date.today("):
            assert needle not in text, f"{module} reads the time with {needle}"
