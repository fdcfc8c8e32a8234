"""The cost of recording every call: write and refused-request throughput, audit on vs off.

    python scripts/audit_cost.py [--store sqlite|postgres] [--rounds 3] [--before PATH] [--http]

Variants, each run in a fresh process on fresh data, their turns interleaved over ``--rounds``
rounds (the machine is shared: medians are shown, with the spread):

- ``on``: this tree as it runs: an accepted command's record in its transaction, a refused
  command's record in a transaction of its own;
- ``off``: this tree with the recording switched off in that process only (``audit_off`` below: a
  local toggle of this script, not a setting of the ledger): no record of any call (the
  membership service events of an accepted invitation remain);
- ``before`` (``--before PATH``): a checkout from before the audit existed (``git worktree add
  PATH e771d57^``), the same workloads through its own code.

Workloads:

- the command rows of ``scripts/bench.py`` (``benchkit.commands.bench_commands``: the invite, decline, accept,
  cancel mix of 150 organizations, command only through ``ledger.app`` and through the in-process
  client, beside raw one-row commits of the same size);
- refused commands through the in-process client: CancelHandshake of a canceled handshake
  (HandshakeAlreadyInStateException) and AcceptHandshake by its sender (AccessDeniedException), in turn;
- with ``--http`` (``on`` and ``off`` only: the server of ``before`` is another one), the same
  refusals and InviteAccountToOrganization writes over HTTP, 4 keep-alive clients, each with an
  organization of its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

HERE = Path(__file__).resolve().parent.parent
LIMITS = {"HANDSHAKE_LEDGER_ACCOUNT_LIMIT": "1000000", "HANDSHAKE_LEDGER_INVITE_RATE_LIMIT": "1000000"}
CLIENTS = 4


def audit_off() -> None:
    """Switch the recording off in this process: commands run without their record, refusals unrecorded."""
    from ledger.service_layer.service import LedgerService

    execute = LedgerService.execute

    def unrecorded(self: Any, work: Any, audit: Any = None) -> Any:
        def answered() -> Any:  # the caller's answer is still shaped in the command's unit; no record kept
            result = work()
            if audit is not None:
                audit.accepted(result)
            return result
        return execute(self, answered)

    LedgerService.execute = unrecorded  # type: ignore[method-assign]
    LedgerService.record_refusal = lambda self, call: None  # type: ignore[method-assign]


def load_tree(tree: Path, variant: str) -> Any:
    """The bench's parts, with the variant applied: this tree's ``benchkit``, or for ``before`` the
    one-file ``scripts/bench.py`` of that older checkout (its child process runs with that tree
    first on PYTHONPATH, so the bench and the ledger it drives are both that checkout's)."""
    if variant == "before":
        spec = importlib.util.spec_from_file_location("bench_before", tree / "scripts" / "bench.py")
        assert spec is not None and spec.loader is not None
        module: ModuleType = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    if variant == "off":
        audit_off()
    from benchkit import commands, figures, http_load, stores
    from ledger import open_ledger

    return SimpleNamespace(
        open_ledger=open_ledger, free_port=http_load.free_port, start_server=http_load.start_server,
        stop_server=http_load.stop_server, load=http_load.load, request=http_load.request,
        SqliteStore=stores.SqliteStore, PostgresStore=stores.PostgresStore, PLANS=figures.PLANS,
        bench_commands=commands.bench_commands,
    )


# -- one variant, in its own process ----------------------------------------------------------------

def refusals_in_process(bench: Any, location: str, count: int) -> float:
    from botocore.exceptions import ClientError

    with bench.open_ledger(location) as ledger:
        mgmt = ledger.client("100000000001")
        mgmt.create_organization(FeatureSet="ALL")
        handshake_id = mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": "200000000001"})[
            "Handshake"]["Id"]
        mgmt.cancel_handshake(HandshakeId=handshake_id)
        calls = [mgmt.cancel_handshake, mgmt.accept_handshake]
        began = time.perf_counter()
        for n in range(count):
            try:
                calls[n % 2](HandshakeId=handshake_id)
            except ClientError:
                pass
            else:
                raise AssertionError("a refusal was accepted")
        return count / (time.perf_counter() - began)


def http_rates(bench: Any, tree: Path, variant: str, location: str, scratch: Path, count: int) -> dict[str, float]:
    port = bench.free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", variant, "--tree", str(tree),
               "--port", str(port), "--data", location]
    server = bench.start_server(command, port, scratch / f"server-{variant}.log")
    try:
        handshakes = []
        for n in range(CLIENTS):
            mgmt = f"10000000000{n}"
            bench.load(port, [[bench.request("CreateOrganization", {"FeatureSet": "ALL"}, mgmt)]])
            connection = http.client.HTTPConnection("127.0.0.1", port)
            _, body, headers = bench.request("InviteAccountToOrganization",
                                             {"Target": {"Type": "ACCOUNT", "Id": f"29999999999{n}"}}, mgmt)
            connection.request("POST", "/", body=body, headers=headers)
            handshakes.append(json.loads(connection.getresponse().read())["Handshake"]["Id"])
            bench.load(port, [[bench.request("CancelHandshake", {"HandshakeId": handshakes[-1]}, mgmt)]])
        refused = [[bench.request(("CancelHandshake", "AcceptHandshake")[i % 2], {"HandshakeId": handshakes[n]},
                                  f"10000000000{n}") for i in range(count // CLIENTS)] for n in range(CLIENTS)]
        writes = [[bench.request("InviteAccountToOrganization", {"Target": {"Type": "ACCOUNT", "Id": f"3{n}{i:010d}"}},
                                 f"10000000000{n}") for i in range(count // CLIENTS // 2)] for n in range(CLIENTS)]
        refused_rate, not_200 = bench.load(port, refused)
        write_rate, failed = bench.load(port, writes)
        assert not_200 == sum(map(len, refused)) and failed == 0, (not_200, failed)
        return {"http_refused": refused_rate, "http_writes": write_rate}
    finally:
        bench.stop_server(server)


def child(args: argparse.Namespace) -> None:
    bench = load_tree(Path(args.tree), args.variant)
    os.environ.update(LIMITS)
    with tempfile.TemporaryDirectory(prefix="hl-audit-cost-") as scratch:
        store = bench.SqliteStore(Path(scratch)) if args.store == "sqlite" else bench.PostgresStore(args.pg_url)
        try:
            plan = dataclasses.replace(bench.PLANS["default"], command_orgs=args.orgs)
            figures = {f.key: f.value for f in bench.bench_commands(store, plan)}
            figures["refused_in_process"] = refusals_in_process(bench, store.location("refused"), args.refusals)
            if args.http:
                figures.update(http_rates(bench, Path(args.tree), args.variant, store.location("http"), Path(scratch),
                                          args.refusals))
        finally:
            store.close()
    print(json.dumps(figures))


def serve(args: argparse.Namespace) -> int:
    load_tree(Path(args.tree), args.variant)
    from ledger.entrypoints.cli import main

    return main(["serve", "--port", str(args.port), "--data", args.data])


# -- the rounds ---------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--refusals", type=int, default=2000, help="refused requests per turn (and half as many writes)")
    parser.add_argument("--orgs", type=int, default=150, help="organizations of the bench's command mix (12 commands each)")
    parser.add_argument("--before", type=Path, metavar="PATH", help="a checkout from before the audit (e771d57^)")
    parser.add_argument("--http", action="store_true", help="also over HTTP (on and off)")
    parser.add_argument("--child", dest="variant", choices=("on", "off", "before"), help=argparse.SUPPRESS)
    parser.add_argument("--serve", dest="serve_variant", choices=("on", "off"), help=argparse.SUPPRESS)
    parser.add_argument("--tree", default=str(HERE), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_variant:
        args.variant = args.serve_variant
        return serve(args)
    if args.variant:
        child(args)
        return 0
    variants = {"on": HERE, "off": HERE, **({"before": args.before.resolve()} if args.before else {})}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for turn in range(args.rounds):
        for name, tree in variants.items():
            command = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--tree", str(tree),
                       "--store", args.store, "--pg-url", args.pg_url, "--refusals", str(args.refusals),
                       "--orgs", str(args.orgs)]
            command += ["--http"] if args.http and name != "before" else []
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))}
            done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
            if done.returncode:
                raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
            results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"round {turn + 1} {name}: {results[name][-1]}", file=sys.stderr, flush=True)
    print(table(results, args.store))
    return 0


def table(results: dict[str, list[dict[str, float]]], store: str) -> str:
    keys = {"commands_app": "Commands/s, command only (ledger.app)",
            "commands_client": "Commands/s, client incl. view catch-up",
            "refused_in_process": "Refused commands/s, in-process client",
            "http_refused": f"HTTP refused requests/s ({CLIENTS} clients)",
            "http_writes": f"HTTP InviteAccountToOrganization/s ({CLIENTS} clients)"}
    names = list(results)
    lines = [f"store {store}; median of {len(results[names[0]])} rounds [min-max]",
             f"{'figure':46}" + "".join(f"{name:>24}" for name in names) + "   off/on"]
    for key, title in keys.items():
        cells, medians = [], {}
        for name in names:
            values = [r[key] for r in results[name] if r.get(key) is not None]
            if values:
                medians[name] = statistics.median(values)
                cells.append(f"{medians[name]:>8,.0f} [{min(values):,.0f}-{max(values):,.0f}]".rjust(24))
            else:
                cells.append(f"{'-':>24}")
        if medians:
            ratio = f"{medians['off'] / medians['on']:>8.2f}x" if "on" in medians and "off" in medians else ""
            lines.append(f"{title:46}" + "".join(cells) + ratio)
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
