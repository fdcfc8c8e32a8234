"""scripts/audit_cost.py runs end to end, audit on and off, in-process and over HTTP (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_one_small_round_reports_every_figure_for_both_variants(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "audit_cost.py"), "--rounds", "1", "--orgs", "1",
                           "--refusals", "40", "--http"], cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[1].split() == ["figure", "on", "off", "off/on"]
    assert [line[:46].strip() for line in lines[2:]] == [
        "Commands/s, command only (ledger.app)", "Commands/s, client incl. view catch-up",
        "Refused commands/s, in-process client", "HTTP refused requests/s (4 clients)",
        "HTTP InviteAccountToOrganization/s (4 clients)"]
