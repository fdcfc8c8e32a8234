"""Figure 3: List page latency p50/p99 at growing sizes (random pages via NextToken) beside the raw
keyset query each page must run."""

from __future__ import annotations

import functools
import gc
import random
from dataclasses import dataclass
from typing import Any, Callable

from benchkit.figures import ROUNDS, Figure, Plan, latencies, percentile, size_label
from benchkit.seeding import Seed, Seeded, management
from ledger.domain.clock import system_clock
from ledger.domain.instants import to_us
from ledger.service_layer.application import Caller


@dataclass(frozen=True)
class PageProbe:
    operation: str
    caller: str
    token: str
    key: tuple[int, str]  # (requested_us, id) of the row before the page: the raw query's keyset
    owner: str  # organization id or recipient account id


def walk_pages(ledger: Any, operation: str, caller: str, owner: str) -> list[PageProbe]:
    """Follow NextToken to the end; one probe per page after the first."""
    probes: list[PageProbe] = []
    token = None
    while True:
        answer = ledger.call(Caller(caller), operation, {"NextToken": token} if token else {})
        token = answer.get("NextToken")
        if not token:
            return probes
        last = answer["Handshakes"][-1]
        probes.append(PageProbe(operation, caller, token, (to_us(last["RequestedTimestamp"]), last["Id"]), owner))


def page_probes(ledger: Any, seed: Seed, operation: str, samples: int, rng: random.Random) -> list[PageProbe]:
    """Random pages: walk random owners' lists to collect tokens, then shuffle them."""
    probes: list[PageProbe] = []
    orgs = seed.count // seed.org_size
    for _ in range(10 * samples):
        if len(probes) >= samples:
            break
        if operation == "ListHandshakesForOrganization":
            org = rng.randrange(orgs)
            probes += walk_pages(ledger, operation, management(org), seed.organization_id(org))
        else:
            recipient = seed.recipient(rng.randrange(seed.count))
            probes += walk_pages(ledger, operation, recipient, recipient)
    rng.shuffle(probes)
    return probes[:samples]


RAW_PAGE = {
    "ListHandshakesForOrganization": "organization_id",
    "ListHandshakesForAccount": "recipient_account_id",
}


def raw_page_latencies(store: Any, ledger: Any, probes: list[PageProbe]) -> list[float]:
    """The keyset query of each page, straight on the view's tables: the floor of a List call."""
    now_us = to_us(system_clock.now())
    with store.view_connection(ledger) as (db, ph):
        column = RAW_PAGE[probes[0].operation]
        text = (f"SELECT h.*, d.arn, d.parties, d.resources FROM hv_handshakes h JOIN hv_handshake_documents d "
                f"ON d.id = h.id WHERE h.{column} = {ph} AND h.visible_until_us > {ph} AND h.valid_to IS NULL "
                f"AND (h.requested_us < {ph} OR (h.requested_us = {ph} AND h.id < {ph})) "
                f"ORDER BY h.requested_us DESC, h.id DESC LIMIT 21")

        def query(p: PageProbe) -> Callable[[], Any]:
            return lambda: db.execute(text, (p.owner, now_us, p.key[0], p.key[0], p.key[1])).fetchall()

        return latencies([query(p) for p in probes])


def list_latency(store: Any, ledgers: list[Seeded], plan: Plan, rng: random.Random) -> dict[int, dict[str, Any]]:
    """p50/p99 in ms per size and operation, with the raw query's. The sizes take turns, a slice
    of their pages each round, so a neighbour's load on the machine falls on all of them alike."""
    probes = {(s.size, op): page_probes(s.ledger, s.seed, op, plan.samples, rng) for s in ledgers for op in RAW_PAGE}
    by_size = {s.size: s for s in ledgers}
    served: dict[tuple[int, str], list[float]] = {key: [] for key in probes}
    raw: dict[tuple[int, str], list[float]] = {key: [] for key in probes}
    gc.collect()  # the garbage of seeding is not the List calls' to pay
    for turn in range(-1, ROUNDS):  # turn -1 warms up
        for (size, operation), pages in probes.items():
            chunk = pages[max(turn, 0)::ROUNDS]
            ledger = by_size[size].ledger
            calls = [functools.partial(next_page, ledger, p) for p in chunk]
            times, raw_times = latencies(calls), raw_page_latencies(store, ledger, chunk)
            if turn >= 0:
                served[size, operation] += times
                raw[size, operation] += raw_times
    return {size: {op: _page_stats(served[size, op], raw[size, op]) for op in RAW_PAGE} for size in by_size}


def next_page(ledger: Any, probe: PageProbe) -> Any:
    """The page a probe's NextToken asks for, as its caller asks."""
    return ledger.call(Caller(probe.caller), probe.operation, {"NextToken": probe.token})


def _page_stats(served: list[float], raw: list[float]) -> dict[str, Any]:
    return {"p50_ms": 1e3 * percentile(served, 50), "p99_ms": 1e3 * percentile(served, 99),
            "raw_p50_ms": 1e3 * percentile(raw, 50), "raw_p99_ms": 1e3 * percentile(raw, 99), "pages": len(served)}


def list_figures(by_size: dict[int, dict[str, Any]]) -> list[Figure]:
    sizes = sorted(by_size)
    small, large = sizes[0], sizes[-1]
    figures = []
    for operation in RAW_PAGE:
        for size in sizes:
            m = by_size[size][operation]
            figures.append(Figure(
                f"list_{short_operation(operation)}_{size}", f"{operation} page p50 @{size_label(size)} (p99 {m['p99_ms']:.2f} ms)",
                m["p50_ms"], "ms", f"raw keyset query p50 (p99 {m['raw_p99_ms']:.2f} ms)", m["raw_p50_ms"],
                m["p50_ms"] / m["raw_p50_ms"], "p50 <= 1 ms", m["p50_ms"] <= 1.0, dict(m),
            ))
        scale = by_size[large][operation]["p99_ms"] / by_size[small][operation]["p99_ms"]
        figures.append(Figure(
            f"list_{short_operation(operation)}_p99_scaling", f"{operation} p99 @{size_label(large)} / p99 @{size_label(small)}",
            by_size[large][operation]["p99_ms"], "ms", f"p99 @{size_label(small)}", by_size[small][operation]["p99_ms"],
            scale, "<= 1.5", scale <= 1.5,
        ))
    return figures


def short_operation(operation: str) -> str:
    return "org" if operation.endswith("Organization") else "account"
