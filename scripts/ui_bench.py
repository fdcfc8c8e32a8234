"""The web UI at scale: page weight, time to first render, and time slider steps.

    python scripts/ui_bench.py [--size 100000] [--steps 40] [--store sqlite|postgres] [--pg-url URL]
                               [--data LOCATION] [--out FILE]

Seeds a ledger in bulk with ``benchkit.seeding.grow()`` (or reuses ``--data``), serves it with
``handshake-ledger serve`` on 127.0.0.1 and drives Debian's headless Chromium with Playwright:

- page weight: bytes over the wire (gzip) and decoded, of each page and everything it loads;
- time to first render: first-contentful-paint of a cold load (no cache), and the server's time to
  the first byte of the HTML;
- slider steps: the slider set to random instants, one at a time, each timed in the page from the
  input to the new view in the DOM (fetch, server render, swap), and one event on (the step button);
  the same fragment fetched without a browser gives the server's share.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchkit.figures import DEFAULT_PG_URL, SPREAD
from benchkit.http_load import free_port, start_server, stop_server
from benchkit.seeding import Seed, grow
from benchkit.stores import PostgresStore
from ledger import open_ledger
from ledger.domain.clock import system_clock

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]
PAGES = {"handshakes": "/ui/", "organization": "/ui/?organization=o-0000000042", "organizations": "/ui/organizations",
         "handshake": None, "analytics": "/ui/analytics", "audit": "/ui/audit"}


def seed(location: str, size: int) -> str:
    """A ledger of ``size`` handshakes (bench's shape: 1000 per organization, the last 10 days)."""
    seed = Seed(1000, size, system_clock.now() - SPREAD - timedelta(minutes=1))
    with open_ledger(location) as ledger:
        if (ledger.app.recorder.max_notification_id() or 0) == 0:
            began = time.perf_counter()
            grow(ledger, seed, size)
            print(f"seeded {size} handshakes in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    if location.startswith("postgresql"):  # the statistics autovacuum would have gathered by now
        import psycopg

        with psycopg.connect(location, autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
    return seed.handshake_id(size // 2)


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 1), "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
            "max": round(ordered[-1], 1), "n": len(ordered)}


def weigh(browser: Any, url: str) -> dict[str, Any]:
    """A cold load: bytes transferred and decoded, first contentful paint, the HTML's first byte."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    figures = page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const all = [nav, ...performance.getEntriesByType('resource')];
        const paint = performance.getEntriesByName('first-contentful-paint')[0];
        return {transferred: all.reduce((n, e) => n + e.transferSize, 0),
                decoded: all.reduce((n, e) => n + e.decodedBodySize, 0),
                html_decoded: nav.decodedBodySize, files: all.length,
                first_byte_ms: nav.responseStart - nav.requestStart,
                first_render_ms: paint ? paint.startTime : null};
    }""")
    context.close()
    return figures


def slider_steps(browser: Any, url: str, steps: int, rng: random.Random) -> dict[str, Any]:
    """Random instants on the slider, then single events on: each timed in the page, input to DOM."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    low, high = (int(page.get_attribute("#instant", name)) for name in ("min", "max"))
    drags, events = [], []
    for n in range(steps):
        value = rng.randrange(low, high)
        page.evaluate("""(v) => { const s = document.getElementById('instant'); delete document.getElementById('view')
            .dataset.stepMs; s.value = v; s.dispatchEvent(new Event('input')); }""", value)
        page.wait_for_function("() => document.getElementById('view').dataset.stepMs")
        drags.append(float(page.get_attribute("#view", "data-step-ms")))
    for n in range(steps):
        page.evaluate("() => delete document.getElementById('view').dataset.stepMs")
        page.click("#step-on")
        page.wait_for_function("() => document.getElementById('view').dataset.stepMs")
        events.append(float(page.get_attribute("#view", "data-step-ms")))
    context.close()
    return {"to_an_instant_ms": percentiles(drags), "one_event_on_ms": percentiles(events)}


def server_fragments(port: int, path: str, instants: list[str]) -> dict[str, float]:
    """The server's share of a step: the fragment as of each instant, over one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    for instant in instants:
        began = time.perf_counter()
        connection.request("GET", f"{path}{'&' if '?' in path else '?'}at={instant}", headers={"X-Fragment": "view"})
        response = connection.getresponse()
        response.read()
        times.append(1e3 * (time.perf_counter() - began))
        assert response.status == 200, response.status
    connection.close()
    return percentiles(times)


def table(results: dict[str, Any]) -> str:
    """The figures as docs/performance.md shows them."""
    lines = [f"{results['size']:,} handshakes, {results['store']}",
             f"{'page':<14}{'over the wire':>15}{'decoded':>10}{'files':>7}{'first byte':>12}{'first render':>14}"]
    for name, page in results["pages"].items():
        lines.append(f"{name:<14}{page['transferred'] / 1024:>12.1f} KB{page['decoded'] / 1024:>7.1f} KB"
                     f"{page['files']:>7}{page['first_byte_ms']:>9.0f} ms{page['first_render_ms'] or 0:>11.0f} ms")
    lines.append(f"{'slider step':<34}{'p50':>8}{'p95':>8}{'max':>8}  (ms, in the page: input to new view)")
    for name in ("handshakes", "organization"):
        for kind, label in (("to_an_instant_ms", "to an instant"), ("one_event_on_ms", "one event on")):
            figures = results[f"slider_{name}"][kind]
            lines.append(f"{name + ', ' + label:<34}{figures['p50']:>8}{figures['p95']:>8}{figures['max']:>8}")
        server = results[f"server_fragment_{name}_ms"]
        lines.append(f"{name + ', server alone':<34}{server['p50']:>8}{server['p95']:>8}{server['max']:>8}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--data", help="a ledger to reuse (seeded when empty)")
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="ui-bench-"))
    store = PostgresStore(args.pg_url) if args.store == "postgres" else None
    location = args.data or (store.location("ui") if store else str(scratch / "data"))
    handshake_id = seed(location, args.size)
    port = free_port()
    server = start_server([sys.executable, "-m", "ledger.entrypoints.cli", "serve", "--data", location,
                           "--port", str(port)], port, scratch / "serve.log")
    from playwright.sync_api import sync_playwright

    rng = random.Random(13)
    results: dict[str, Any] = {"size": args.size, "store": args.store, "pages": {}}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            base = f"http://127.0.0.1:{port}"
            for name, path in PAGES.items():
                results["pages"][name] = weigh(browser, base + (path or f"/ui/handshakes/{handshake_id}"))
            for name in ("handshakes", "organization"):
                results[f"slider_{name}"] = slider_steps(browser, base + PAGES[name], args.steps, rng)
            browser.close()
        now = system_clock.now()
        instants = [(now - timedelta(seconds=rng.randrange(11 * 86400))).isoformat().replace("+00:00", "Z")
                    for _ in range(args.steps)]
        for name in ("handshakes", "organization"):
            results[f"server_fragment_{name}_ms"] = server_fragments(port, PAGES[name], instants)
    finally:
        stop_server(server)
        if store:
            store.close()
    print(table(results))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
