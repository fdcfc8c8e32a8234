"""Figure 5: opening the ledger as of an instant beside the raw time-index seek, and as-of List pages
beside the live ones."""

from __future__ import annotations

import functools
import random
from typing import Any

from benchkit.figures import Figure, Plan, latencies, percentile, size_label
from benchkit.lists import RAW_PAGE, short_operation
from benchkit.seeding import Seeded
from ledger.domain.instants import to_us
from ledger.service_layer.application import Caller


def bench_as_of(store: Any, ledgers: list[Seeded], plan: Plan, rng: random.Random) -> list[Figure]:
    """Opening the ledger as of an instant, and its List pages beside the live ones, at every size."""
    figures: list[Figure] = []
    opened: dict[int, float] = {}
    for s in ledgers:
        instants = [s.seed.instant(rng.randrange(s.seed.count)) for _ in range(plan.samples)]
        served = latencies([functools.partial(s.ledger.at, t) for t in instants])
        with store.view_connection(s.ledger) as (db, ph):
            seek = (f"SELECT notification_id FROM hv_event_times WHERE high_us <= {ph} "
                    "ORDER BY high_us DESC, notification_id DESC LIMIT 1")

            def query(params: tuple[int]) -> Any:
                return db.execute(seek, params).fetchall()

            raw = latencies([functools.partial(query, (to_us(t),)) for t in instants])
        opened[s.size] = percentile(served, 50)
        figures.append(Figure(
            f"as_of_open_{s.size}", f"Open the ledger as of an instant p50 @{size_label(s.size)} (p99 "
            f"{1e3 * percentile(served, 99):.2f} ms)", 1e3 * opened[s.size], "ms", "raw time-index seek p50",
            1e3 * percentile(raw, 50), percentile(served, 50) / percentile(raw, 50), "p50 <= 5 ms",
            opened[s.size] <= 0.005, {"p99_ms": 1e3 * percentile(served, 99)}))
    small, large = min(opened), max(opened)
    figures.append(Figure(
        "as_of_open_flat", f"Open as of an instant p50 @{size_label(large)} / p50 @{size_label(small)}", opened[large] / opened[small],
        "x", "flat in the history's length", 1.0, opened[large] / opened[small], "<= 1.5",
        opened[large] / opened[small] <= 1.5))
    for s in ledgers:
        for operation in RAW_PAGE:
            live, past = as_of_pages(s, operation, plan.samples, rng)
            figures.append(Figure(
                f"as_of_page_{short_operation(operation)}_{s.size}",
                f"As-of {operation} page p50 @{size_label(s.size)} (p99 {1e3 * percentile(past, 99):.2f} ms)",
                1e3 * percentile(past, 50), "ms", "live page p50, same callers", 1e3 * percentile(live, 50),
                percentile(past, 50) / percentile(live, 50), "<= 2x", percentile(past, 50) <= 2 * percentile(live, 50)))
    return figures


def as_of_pages(s: Seeded, operation: str, samples: int, rng: random.Random) -> tuple[list[float], list[float]]:
    """First pages of random callers' lists, live and as of a random instant, taking turns."""
    live: list[float] = []
    past: list[float] = []
    for _ in range(samples):
        i = rng.randrange(s.seed.count)
        caller = s.seed.sender(i) if operation == "ListHandshakesForOrganization" else s.seed.recipient(i)
        instant = s.seed.instant(rng.randrange(i, s.seed.count))  # after the caller's organization began
        live += latencies([lambda: s.ledger.call(Caller(caller), operation, {})])
        past += latencies([lambda: s.ledger.at(instant).call(Caller(caller), operation, {})])
    return live, past
