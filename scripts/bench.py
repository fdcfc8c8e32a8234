"""Handshake Ledger benchmarks: every figure beside its physical limit, measured in the same run.

    python scripts/bench.py [--quick | --full] [--store sqlite|postgres] [--pg-url URL] [--out FILE]

Figures, each with the limit it is compared to:

1. durable commands/s in-process (invite, then decline/accept/cancel), command only and through the
   client (incl. the read-your-writes view catch-up)  vs  raw one-row-per-transaction inserts;
2. HTTP requests/s over loopback keep-alive connections (Describe, ListForAccount, Decline)
   vs  the same client against a fixed-200 server on the standard library (ThreadingHTTPServer);
   DescribeOrganization at 4 clients  vs  ministack's, run beside it on 127.0.0.1 with its defaults
   (when installed: ``pip install ministack``, best in a venv of its own as it pins botocore, then
   ``--ministack PATH``); the server's CPU per DescribeHandshake at 4 clients  vs  at 1 (flat);
3. List page latency p50/p99 at growing sizes (random pages via NextToken)  vs  the raw keyset query;
4. full rebuild events/s  vs  a raw decoded read of the notification log;
5. as-of Describe and ledger-wide as-of view  vs  the raw reads they must do;
6. peak RSS of the server holding the largest ledger  vs  the fixed-200 server's.

Sizes: ``--quick`` is tiny (smoke test), the default grows the ledger to 100k handshakes, ``--full``
to 1M. Handshakes are seeded in bulk through the application (aggregates saved thousands per
transaction), then the view catches up in big batches. The workloads live in ``scripts/benchkit/``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from benchkit.as_of import bench_as_of
from benchkit.commands import bench_commands
from benchkit.figures import DEFAULT_PG_URL, PLANS, Figure, Plan, machine, size_label
from benchkit.http_load import find_ministack, fixed_200_server
from benchkit.http_reads import bench_http
from benchkit.http_writes import bench_http_writes
from benchkit.lists import list_figures, list_latency
from benchkit.rebuild import bench_rebuild, bench_view_disk
from benchkit.seeding import seed_ledgers
from benchkit.stores import PostgresStore, SqliteStore


def run(store: Any, plan: Plan, scratch: Path, log: Callable[[str], None],
        ministack: list[str] | None = None) -> dict[str, Any]:
    rng = random.Random(7)
    figures: list[Figure] = []
    log("commands ...")
    figures += bench_commands(store, plan)
    ledgers = seed_ledgers(store, plan, log)
    largest = ledgers[-1]
    try:
        log("List latency ...")
        figures += list_figures(list_latency(store, ledgers, plan, rng))
        log("as-of ...")
        figures += bench_as_of(store, ledgers, plan, rng)
        figures.append(bench_view_disk(store, largest))
        log("rebuild ...")
        figures.append(bench_rebuild(largest.ledger, largest.size))
    finally:
        for seeded in ledgers:
            seeded.ledger.close()
    log("HTTP ...")
    figures += bench_http(largest.location, largest.seed, plan, scratch, rng, ministack)
    log("HTTP writes ...")
    figures += bench_http_writes(store, plan, scratch)
    seeded_events, seeded_seconds = sum(s.seed.events for s in ledgers), sum(s.seed.seconds for s in ledgers)
    return {"mode": plan.mode, "store": store.kind, "machine": machine(), "sizes": plan.sizes, "largest_size": largest.size,
            "seed": {"handshakes": sum(plan.sizes), "events": seeded_events, "seconds": seeded_seconds,
                     "events_per_s": seeded_events / seeded_seconds},
            "figures": {f.key: asdict(f) for f in figures}}


def table(results: dict[str, Any]) -> str:
    m = results["machine"]
    sizes = ", ".join(size_label(size) for size in results["sizes"])
    lines = [f"Handshake Ledger bench, {results['mode']} mode ({sizes} handshakes"
             f"{'' if results['largest_size'] >= 1_000_000 else '; 1M with --full'}), store {results['store']}",
             f"{m['date']}  {m['host']}  {m['cpu']}  {m['cores']} cores  Python {m['python']}  SQLite {m['sqlite']}",
             f"seeded {results['seed']['events']} events in {results['seed']['seconds']:.1f} s "
             f"({results['seed']['events_per_s']:,.0f} ev/s, incl. view catch-up)", ""]
    head = f"{'figure':58} {'value':>12}  {'limit':>12}  {'ratio':>7}  {'target':>12} met  limit is"
    lines += [head, "-" * len(head)]
    for f in results["figures"].values():
        met = {True: "yes", False: "NO", None: "-"}[f["met"]]
        lines.append(f"{f['title'][:58]:58} {_fmt(f['value'], f['unit']):>12}  {_fmt(f['limit'], f['unit']):>12}  "
                     f"{_fmt(f['ratio'], 'x'):>7}  {f['target']:>12} {met:>3}  {f['limit_title']}")
        if f["details"].get("non_200"):
            lines.append(f"    ^ {f['details']['non_200']} of {f['details']['requests']} answers were not 200")
    return "\n".join(lines)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.2f}x"
    if unit in ("ms", "s"):
        return f"{value:.3f} {unit}"
    return f"{value:,.0f} {unit}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds (smoke test)")
    size.add_argument("--full", action="store_true", help="grow the ledger to 1M handshakes (default: 100k)")
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="server URL; a fresh database is created per ledger")
    parser.add_argument("--out", default="bench-results.json")
    parser.add_argument("--ministack", metavar="CMD", help="the ministack command (default: `ministack` on PATH, or "
                        "its module in this interpreter); it pins botocore, so a venv of its own suits it")
    parser.add_argument("--fixed-200-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fixed_200_server:
        fixed_200_server(args.fixed_200_server)
        return 0
    plan = PLANS["quick" if args.quick else "full" if args.full else "default"]
    began = time.perf_counter()
    log = lambda text: print(f"[{time.perf_counter() - began:6.1f}s] {text}", file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="hl-bench-") as scratch:
        store = SqliteStore(Path(scratch)) if args.store == "sqlite" else PostgresStore(args.pg_url)
        try:
            results = run(store, plan, Path(scratch), log, find_ministack(args.ministack))
        finally:
            store.close()
    results["seconds"] = time.perf_counter() - began
    Path(args.out).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(results))
    print(f"\n{len(results['figures'])} figures in {results['seconds']:.0f} s; JSON in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
