"""The dependency rule and the one clock, checked on the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def modules(package: str, *, exclude: str | None = None) -> list[Path]:
    return [p for p in (ROOT / package).rglob("*.py") if not (exclude and exclude in p.parts)]


def test_domain_imports_neither_projections_nor_entrypoints():
    for path in modules("ledger", exclude="entrypoints"):
        if path.name == "__init__.py" and path.parent.name == "ledger":
            continue  # open_ledger() is a lazy door to the composition root
        bad = {m for m in imports_of(path) if m.startswith(("projections", "ledger.entrypoints"))}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_projections_do_not_import_entrypoints():
    for path in modules("projections"):
        bad = {m for m in imports_of(path) if m.startswith("ledger.entrypoints")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_only_the_clock_reads_the_time():
    for path in modules("ledger") + modules("projections"):
        if path.name == "clock.py":
            continue
        text = path.read_text()
        for needle in ("datetime.now(", "datetime.utcnow(", "time.time()", "date.today("):
            assert needle not in text, f"{path.relative_to(ROOT)} reads the time with {needle}"
