"""scripts/bench.py --quick runs end to end and reports every figure (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = ("1000", "4000")  # the quick plan's ledger sizes
FIGURES = [
    "commands_app", "commands_app_8", "commands_client",
    *(f"list_{kind}_{size}" for kind in ("org", "account") for size in SIZES),
    "list_org_p99_scaling", "list_account_p99_scaling",
    *(f"as_of_open_{size}" for size in SIZES), "as_of_open_flat",
    *(f"as_of_page_{kind}_{size}" for kind in ("org", "account") for size in SIZES), "view_disk", "rebuild",
    "http_DescribeHandshake", "http_ListHandshakesForAccount", "http_DeclineHandshake", "http_DescribeOrganization",
    "http_as_of_DescribeHandshake", "http_list_vs_describe", "http_writes", "http_write_cpu", "http_writes_workers",
    "server_cpu_per_read", "server_peak_rss",
]


def test_quick_bench_reports_every_figure_with_its_limit(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--out", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["mode"] == "quick" and results["machine"]["cores"]
    figures = results["figures"]
    assert sorted(figures) == sorted(FIGURES)
    for key, figure in figures.items():
        if figure["details"].get("not_measured"):  # ministack is not installed here
            assert figure["value"] > 0 and figure["limit_title"].startswith("not measured: pip install ministack")
            continue
        for field in ("value", "limit", "ratio"):
            assert isinstance(figure[field], (int, float)) and figure[field] > 0, (key, field, figure)
        assert figure["limit_title"], key
    assert "Rebuild events/s" in done.stdout  # the table was printed
