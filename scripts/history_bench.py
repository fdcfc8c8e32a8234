"""History at scale: analytics, what changed and the rebuild at N handshakes, each beside its
reference measured in the same run, with the ratio.

    python scripts/history_bench.py --sizes 10000 1000000 [--data-dir DIR] [--keep]

Each size is seeded with ``handshake-ledger demo --handshakes N`` (reused when DIR/N already holds
it); every figure runs in a fresh process (its time and peak RSS are that process's own). The
figure is the first call's time (nothing of the store in the process's page cache yet); for the
analytics and the UI page, ``warm`` is the median of five calls after it, as a server answers:

- analytics --by action, live and as of -3d: the rollup (``projections/rollup_reads.py``) beside the
  full recomputation in Python over every handshake row of the moment (the first way);
- the UI's analytics page (rendered in-process, HTML size too) beside the SQL groupings it made
  before the rollup (``analytics_of`` per organization and per action, ``outcomes_per_day_of``);
- one organization's diff over two days, beside the whole ledger's diff over the same days narrowed
  afterwards (the previous way's candidates); and the whole ledger's diff time per reported change;
- the list page's whole-ledger counts by state (``rollup_visible``), live and as of -3d, beside the
  visible rows counted one by one (the previous way);
- rebuild, beside the raw decoded log read (every notification read and decoded, nothing written).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = r'''
import json, resource, statistics, sys, time
from datetime import timedelta
from ledger.entrypoints.bootstrap import open_ledger
from projections.analytics import analytics
from projections.versions import valid_at
sys.path.insert(0, "scripts")  # the probe runs in the project's root
from benchkit.rebuild import raw_log_read
data, figure = sys.argv[1], sys.argv[2]
ledger = open_ledger(data)
count = None
if figure.startswith("ui-analytics"):
    from ledger.entrypoints.accounts import Accounts
    from ledger.entrypoints.identity import SignedRequest
    from ledger.entrypoints.webui.app import WebUI
    ui = WebUI(ledger, Accounts())  # the templates compiled here, not in the timed call


def run():
    global count
    if figure.startswith("analytics"):
        reader = ledger.at("-3d") if figure.endswith("as-of") else ledger
        if "python" in figure:
            moment = reader.moment()
            analytics(ledger.queries.facts(moment), now=moment.instant, by="action")
        else:
            reader.analytics(by="action")
    elif figure.startswith("diff"):
        now = ledger.now()
        since, until = now - timedelta(days=3), now - timedelta(days=1)
        if figure == "diff-organization":
            count = sum(1 for _ in ledger.iter_changes(since, until, organization_id="o-0000000000"))
        elif figure == "diff-organization-after":
            count = sum(1 for c in ledger.iter_changes(since, until)
                        if (c["After"] or c["Before"])["Parties"][0]["Id"] == "o-0000000000")
        else:
            count = sum(1 for _ in ledger.iter_changes(since, until))
    elif figure in ("ui-analytics", "ui-analytics-as-of"):
        path = "/ui/analytics" + ("?at=-3d" if figure.endswith("as-of") else "")
        answer = ui.handle(SignedRequest("GET", path, {}, b""))
        assert answer.status == 200, answer.status
        count = len(answer.body)
    elif figure == "ui-analytics-sql":
        from projections.analytics import analytics_of, outcomes_per_day_of
        moment = ledger.moment()
        where = valid_at(moment.position)
        (analytics_of(ledger.view, where, now=moment.instant, by="organization"),
         analytics_of(ledger.view, where, now=moment.instant, by="action"),
         outcomes_per_day_of(ledger.view, where, now=moment.instant))
    elif figure.startswith("list-counts"):
        from projections.browse import Filters, LedgerBrowser, Scope
        reader = ledger.at("-3d") if figure.endswith("as-of") else ledger
        browser = LedgerBrowser(ledger.queries)
        counter = browser.counts_from_rows if "rows" in figure else browser.counts
        count = counter(reader.moment(), Filters(), Scope())["TOTAL"]
    elif figure == "rebuild":
        ledger.rebuild()
    elif figure == "raw-log":
        raw_log_read(ledger.app)  # the reference bench.py's rebuild figure reads too


began = time.perf_counter()
run()  # the first call: a fresh process, nothing of the store in its page cache yet
seconds = time.perf_counter() - began
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
warm = []
if figure.startswith(("analytics", "ui-analytics", "list-counts")) and "python" not in figure and "sql" not in figure:
    for _ in range(5):  # and again, as a server answers it: its median
        began = time.perf_counter()
        run()
        warm.append(time.perf_counter() - began)
ledger.close()
print(json.dumps({"seconds": seconds, "warm": statistics.median(warm) if warm else None, "peak_mb": peak,
                  "count": count}))
'''

PAIRS = (  # (row, figure, reference)
    ("analytics --by action (live)", "analytics", "analytics-python"),
    ("analytics --by action --as-of -3d", "analytics-as-of", "analytics-python-as-of"),
    ("diff --organization, two days", "diff-organization", "diff-organization-after"),
    ("UI analytics page (ref: its SQL groupings)", "ui-analytics", "ui-analytics-sql"),
    ("UI analytics page as of -3d (ref: same)", "ui-analytics-as-of", "ui-analytics-sql"),
    ("list page counts (ref: the rows counted)", "list-counts", "list-counts-rows"),
    ("list page counts as of -3d (ref: same)", "list-counts-as-of", "list-counts-rows-as-of"),
    ("rebuild (reference: raw decoded log read)", "rebuild", "raw-log"),
)


def probe(data: str, figure: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", PROBE, data, figure], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def seeded(directory: Path, size: int) -> str:
    data = directory / f"ledger-{size}"
    if not data.exists():
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-m", "ledger.entrypoints.cli", "demo", "--data", str(data),
                        "--handshakes", str(size), "--json"], check=True, env=env, cwd=ROOT, capture_output=True)
    return str(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--no-rebuild", dest="rebuild", action="store_false",
                        help="leave out the rebuild and its reference (minutes at 1M)")
    args = parser.parse_args()
    directory = args.data_dir or Path(tempfile.mkdtemp(prefix="history-bench-"))
    results: dict[int, dict[str, dict[str, float]]] = {}
    for size in args.sizes:
        data = seeded(directory, size)
        names = dict.fromkeys(name for _, figure, reference in PAIRS for name in (figure, reference)
                              if args.rebuild or name not in ("rebuild", "raw-log"))
        figures = {name: probe(data, name) for name in names}
        figures["diff-whole"] = probe(data, "diff-whole")
        results[size] = figures
        print(f"\n== {size:,} handshakes ({data})")
        print(f"{'row':45} {'figure':>10} {'warm':>8} {'reference':>10} {'ratio':>7} {'peak MB':>8} {'ref MB':>8}")
        for row, figure, reference in PAIRS:
            if figure not in figures:
                continue
            mine, theirs = figures[figure], figures[reference]
            warm = f"{mine['warm']:8.4f}" if mine.get("warm") is not None else f"{'':8}"
            print(f"{row:45} {mine['seconds']:10.4f} {warm} {theirs['seconds']:10.3f} "
                  f"{mine['seconds'] / theirs['seconds']:7.3f} {mine['peak_mb']:8.0f} {theirs['peak_mb']:8.0f}")
        print(f"{'UI analytics page size':45} {int(figures['ui-analytics']['count'] or 0) / 1024:.0f} KB")
        whole = figures["diff-whole"]
        per = whole["seconds"] / max(1, int(whole["count"] or 0))
        print(f"{'whole-ledger diff, two days':45} {whole['seconds']:10.3f} s, {int(whole['count'] or 0)} changes, "
              f"{per * 1000:.3f} ms per change, {whole['peak_mb']:.0f} MB")
    if len(results) > 1:
        small, large = min(results), max(results)
        print(f"\n== {large:,} against {small:,} (targets: time <= 3x, peak <= 2x; diff per change <= 2x)")
        for name in ("analytics", "analytics-as-of", "ui-analytics", "ui-analytics-as-of", "list-counts",
                     "list-counts-as-of", "diff-organization", "diff-whole"):
            a, b = results[small][name], results[large][name]
            extra = ""
            if a.get("warm") and b.get("warm"):
                extra = f"  warm {b['warm'] / a['warm']:5.2f}x ({a['warm'] * 1000:.1f} -> {b['warm'] * 1000:.1f} ms)"
            if name == "diff-whole":
                extra = f"  per change {(b['seconds'] / max(1, b['count'] or 1)) / (a['seconds'] / max(1, a['count'] or 1)):.2f}x"
            print(f"{name:25} time {b['seconds'] / a['seconds']:7.2f}x  peak {b['peak_mb'] / a['peak_mb']:5.2f}x{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
