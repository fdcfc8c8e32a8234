"""Figures 2 and 6: HTTP requests/s of the service beside a fixed-200 stdlib server and ministack,
the server's CPU per read at 1 and at 4 clients, and its peak RSS holding the largest ledger."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from benchkit.figures import Figure, Plan, size_label, throughput_figure
from benchkit.http_load import (
    Request, Turn, free_port, http_rates, load, peak_rss_mb, request, split, start_ministack, start_server,
    stop_server,
)
from benchkit.seeding import Seed

BENCH = Path(__file__).resolve().parents[1] / "bench.py"  # its --fixed-200-server runs the ceiling


def http_workloads(seed: Seed, plan: Plan, rng: random.Random) -> dict[str, list[list[Request]]]:
    """Requests per operation, shared among the clients; declines never race for one organization."""
    picks = [rng.randrange(seed.count) for _ in range(plan.http_reads)]
    describe = [request("DescribeHandshake", {"HandshakeId": seed.handshake_id(i)}, seed.sender(i)) for i in picks]
    as_of = [request("DescribeHandshake", {"HandshakeId": seed.handshake_id(i)}, seed.sender(i),
                     path="/as-of/" + seed.instant(i + 1).isoformat().replace("+00:00", "Z")) for i in picks]
    lists = [request("ListHandshakesForAccount", {}, seed.recipient(i)) for i in picks]
    open_ones = [i for i in range(seed.count) if seed.state(i) == "OPEN"]
    rng.shuffle(open_ones)
    declines: list[list[Request]] = [[] for _ in range(plan.http_clients)]
    for i in open_ones[: plan.http_declines]:
        declines[(i // seed.org_size) % plan.http_clients].append(
            request("DeclineHandshake", {"HandshakeId": seed.handshake_id(i)}, seed.recipient(i)))
    return {"DescribeHandshake": split(describe, plan.http_clients),
            "DescribeHandshake as of": split(as_of, plan.http_clients),
            "ListHandshakesForAccount": split(lists, plan.http_clients), "DeclineHandshake": declines}


def start_fixed_server(scratch: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [sys.executable, str(BENCH), "--fixed-200-server", str(port)]
    return start_server(command, port, scratch / "fixed-server.log"), port


def start_ledger_server(location: str, scratch: Path, workers: int = 1) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [sys.executable, "-m", "ledger.entrypoints.cli", "serve", "--port", str(port), "--data", location,
               "--workers", str(workers)]
    return start_server(command, port, scratch / "ledger-server.log"), port


def bench_http(location: str, seed: Seed, plan: Plan, scratch: Path, rng: random.Random,
               ministack: list[str] | None) -> list[Figure]:
    """Requests/s of the service beside a fixed-200 stdlib server and ministack, all on loopback;
    the server's CPU per read at 1 and at 4 clients."""
    fixed, fixed_port = start_fixed_server(scratch)
    server: subprocess.Popen[bytes] | None = None
    peer: subprocess.Popen[bytes] | None = None
    try:
        probe = request("DescribeHandshake", {"HandshakeId": "h-0000000000000000"}, "111111111111")
        server, port = start_ledger_server(location, scratch)
        workloads = http_workloads(seed, plan, rng)
        describe_org = split([request("DescribeOrganization", {}, seed.sender(0))] * plan.http_reads, plan.http_clients)
        turns = {"ceiling": Turn(fixed_port, fixed.pid, split([probe] * plan.http_reads, plan.http_clients)),
                 **{op: Turn(port, server.pid, shares) for op, shares in workloads.items()},
                 "DescribeHandshake x1": Turn(port, server.pid, [sum(workloads["DescribeHandshake"], [])]),
                 "DescribeOrganization": Turn(port, server.pid, describe_org)}
        if ministack:
            peer, peer_port = start_ministack(ministack, scratch)
            ministack_org = request("DescribeOrganization", {}, "000000000000")
            turns["ministack"] = Turn(peer_port, peer.pid, split([ministack_org] * plan.http_reads, plan.http_clients))
        load(port, [share[: len(share) // 5] for share in workloads["DescribeHandshake"]])  # warm-up
        rates = http_rates(turns)
        rss, fixed_rss = peak_rss_mb(server.pid), peak_rss_mb(fixed.pid)
    finally:
        for process in (server, fixed, peer):
            if process is not None:
                stop_server(process)
    ceiling = rates.pop("ceiling")["rate"]
    single, ours, theirs = rates.pop("DescribeHandshake x1"), rates.pop("DescribeOrganization"), rates.pop("ministack", None)
    past = rates.pop("DescribeHandshake as of")
    figures = [throughput_figure(
        f"http_{op}", f"HTTP {op} req/s ({plan.http_clients} clients)", m["rate"],
        "fixed-200 stdlib server req/s", ceiling, "req/s", target=0.5 if op == "DescribeHandshake" else None,
        requests=m["requests"], non_200=m["non_200"], server_cpu_us=m["cpu_us"],
    ) for op, m in rates.items()]
    title = f"HTTP DescribeOrganization req/s ({plan.http_clients} clients)"
    if theirs is None:
        figures.append(Figure("http_DescribeOrganization", title, ours["rate"], "req/s",
                              "not measured: pip install ministack (--ministack CMD)", target=">= 1.5x",
                              details={"not_measured": True, "server_cpu_us": ours["cpu_us"]}))
    else:
        figures.append(throughput_figure(
            "http_DescribeOrganization", title, ours["rate"], "ministack DescribeOrganization req/s, same load",
            theirs["rate"], "req/s", target=1.5, server_cpu_us=ours["cpu_us"], ministack_cpu_us=theirs["cpu_us"],
            requests=ours["requests"], non_200=ours["non_200"] + theirs["non_200"]))
    figures.append(throughput_figure(
        "http_as_of_DescribeHandshake", f"HTTP DescribeHandshake through /as-of/ req/s ({plan.http_clients} clients)",
        past["rate"], "live DescribeHandshake req/s, same load", rates["DescribeHandshake"]["rate"], "req/s",
        target=0.5, requests=past["requests"], non_200=past["non_200"], server_cpu_us=past["cpu_us"]))
    if theirs is not None:
        figures.append(throughput_figure(
            "http_decline_vs_ministack", f"HTTP DeclineHandshake req/s ({plan.http_clients} clients)",
            rates["DeclineHandshake"]["rate"], "ministack DescribeOrganization req/s, same load", theirs["rate"],
            "req/s", target=1.0))
    figures.append(throughput_figure(
        "http_list_vs_describe", f"HTTP ListHandshakesForAccount req/s ({plan.http_clients} clients)",
        rates["ListHandshakesForAccount"]["rate"], "HTTP DescribeHandshake req/s, same load",
        rates["DescribeHandshake"]["rate"], "req/s", target=0.5))
    per_read, at_one = rates["DescribeHandshake"]["cpu_us"], single["cpu_us"]
    figures.append(Figure("server_cpu_per_read", f"Server CPU per DescribeHandshake, {plan.http_clients} clients",
                          per_read, "us", "the same with 1 client", at_one, per_read / at_one, "<= 1.2x",
                          per_read / at_one <= 1.2, {"rate_1_client": single["rate"]}))
    figures.append(Figure("server_peak_rss", f"Server peak RSS holding {size_label(seed.count)} handshakes", rss, "MB",
                          "fixed-200 server peak RSS", fixed_rss, rss / fixed_rss, "<= 200 MB", rss <= 200))
    return figures
