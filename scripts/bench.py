"""Handshake Ledger benchmarks: every figure beside its physical limit, measured in the same run.

    python scripts/bench.py [--quick | --full] [--store sqlite|postgres] [--pg-url URL] [--out FILE]

Figures (issue 7 and the bench items of issue 3), each with the limit it is compared to:

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
transaction), then the view catches up in big batches.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import http.client
import json
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable from a checkout without installing

from ledger import open_ledger  # noqa: E402
from ledger.domain.account import Account, default_email, default_name  # noqa: E402
from ledger.service_layer.application import Caller, Limits  # noqa: E402
from ledger.domain.clock import system_clock  # noqa: E402
from ledger.domain.handshake import INVITE, INVITE_LIFETIME, OPEN, Handshake  # noqa: E402
from ledger.domain.ids import handshake_arn  # noqa: E402
from ledger.domain.organization import ALL, Organization  # noqa: E402

TARGET = "AWSOrganizationsV20161128."
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SPREAD = timedelta(days=10)  # seeded handshakes were requested over the last 10 days: all visible
ROUNDS = 5  # interleaved rounds: the machine is shared, its load drifts


# -- plan and results -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    mode: str
    sizes: tuple[int, ...]  # ledger sizes (handshakes) at which List latency is measured
    org_size: int  # handshakes per seeded organization
    command_orgs: int  # organizations in the command benchmark (12 commands each)
    samples: int  # List pages sampled per size and operation
    http_reads: int  # HTTP requests per read operation
    http_declines: int
    http_clients: int = 4


PLANS = {
    "quick": Plan("quick", (1_000, 4_000), org_size=100, command_orgs=4, samples=60,
                  http_reads=300, http_declines=60),
    "default": Plan("default", (10_000, 100_000), org_size=1000, command_orgs=150, samples=500,
                    http_reads=4000, http_declines=1000),
    "full": Plan("full", (10_000, 100_000, 1_000_000), org_size=1000, command_orgs=150, samples=500,
                 http_reads=4000, http_declines=1000),
}


@dataclass
class Figure:
    """One measured figure, its physical limit from the same run, and the ratio between them."""

    key: str
    title: str
    value: float | None
    unit: str
    limit_title: str = ""
    limit: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)


def throughput_figure(key: str, title: str, value: float, limit_title: str, limit: float,
                      unit: str, target: float | None = None, **details: Any) -> Figure:
    """A rate against the rate of its limit; the target, if any, is a minimum ratio."""
    ratio = value / limit if limit else None
    met = None if target is None or ratio is None else ratio >= target
    return Figure(key, title, value, unit, limit_title, limit, ratio,
                  f">= {target}x" if target is not None else "", met, details)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    answer = work()
    return time.perf_counter() - began, answer


def latencies(calls: list[Callable[[], Any]]) -> list[float]:
    """Seconds per call, each call timed alone."""
    out = []
    for call in calls:
        began = time.perf_counter()
        call()
        out.append(time.perf_counter() - began)
    return out


# -- stores: where the ledger lives, and the raw limits of that store ------------------------------

class SqliteStore:
    kind = "sqlite"

    def __init__(self, scratch: Path):
        self.scratch = scratch

    def location(self, name: str) -> str:
        return str(self.scratch / name)

    @contextmanager
    def raw_table(self, ledger: Any) -> Iterator[RawCommits]:
        """A table shaped like eventsourcing's stored_events, WAL, the ledger's synchronous setting."""
        synchronous = _sqlite_pragma(ledger.app.recorder.datastore, "synchronous")
        db = sqlite3.connect(self.scratch / f"raw-{uuid.uuid4().hex[:8]}.sqlite", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute("CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, topic TEXT, "
                   "state BLOB, PRIMARY KEY (originator_id, originator_version))")

        def insert(row: tuple[Any, ...]) -> None:
            db.execute("BEGIN")
            db.execute("INSERT INTO stored_events VALUES (?,?,?,?)", row)
            db.execute("COMMIT")

        try:
            yield RawCommits(insert, f"raw sqlite3 1-row txn/s (WAL, synchronous={synchronous})")
        finally:
            db.close()

    @staticmethod
    def relation_bytes(db: Any, table: str) -> int:
        """A table and its indexes on disk (SQLite's dbstat)."""
        rows = db.execute("SELECT SUM(pgsize) FROM dbstat WHERE name = ? OR name IN "
                          "(SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?)", (table, table))
        return int(rows.fetchone()[0] or 0)

    @contextmanager
    def view_connection(self, ledger: Any) -> Iterator[tuple[Any, str]]:
        db = sqlite3.connect(ledger.store.env["SQLITE_DBNAME"], uri=True)
        try:
            yield db, "?"
        finally:
            db.close()

    def close(self) -> None:
        pass


def _sqlite_pragma(datastore: Any, name: str) -> int:
    with datastore.transaction(commit=False) as cursor:
        cursor.execute(f"PRAGMA {name}")
        return int(cursor.fetchone()[0])


class RawCommits:
    """One-row transactions of a given size, timed: the floor under a durable command."""

    def __init__(self, insert: Callable[[tuple[Any, ...]], Any], title: str):
        self.insert = insert
        self.title = title
        self.rows = 0

    def commit(self, count: int, row_bytes: int) -> float:
        """Seconds for ``count`` transactions of one ``row_bytes`` row each."""
        topic = "handshake-ledger:Handshake.Created:v1"
        state = b"x" * max(1, row_bytes - len(topic) - 18)
        rows = [(f"h-{n:016x}", 1, topic, state) for n in range(self.rows, self.rows + count)]
        self.rows += count
        began = time.perf_counter()
        for row in rows:
            self.insert(row)
        return time.perf_counter() - began


class PostgresStore:
    kind = "postgres"

    def __init__(self, server_url: str):
        try:
            import psycopg
        except ImportError:
            raise SystemExit("--store postgres needs psycopg (pip install 'psycopg[binary]')") from None
        self.psycopg = psycopg
        self.server_url = server_url
        self.databases: list[str] = []
        try:
            with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as problem:
            raise SystemExit(f"--store postgres: can't reach {server_url}: {problem}".strip()) from None

    def location(self, name: str) -> str:
        from urllib.parse import urlparse, urlunparse

        dbname = f"hl_bench_{name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        with self.psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        self.databases.append(dbname)
        return urlunparse(urlparse(self.server_url)._replace(path="/" + dbname))

    @contextmanager
    def raw_table(self, ledger: Any) -> Iterator[RawCommits]:
        """A table shaped like eventsourcing's events table, one autocommitted INSERT per row."""
        with self.psycopg.connect(self.location("raw"), autocommit=True) as conn:
            conn.execute("CREATE TABLE raw_events (originator_id TEXT, originator_version INTEGER, topic TEXT, "
                         "state BYTEA, notification_id BIGSERIAL, PRIMARY KEY (originator_id, originator_version))")
            yield RawCommits(lambda row: conn.execute("INSERT INTO raw_events VALUES (%s,%s,%s,%s)", row),
                             "raw psycopg 1-row txn/s")

    @staticmethod
    def relation_bytes(db: Any, table: str) -> int:
        """A table and its indexes on disk (pg_total_relation_size)."""
        return int(db.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()[0])

    @contextmanager
    def view_connection(self, ledger: Any) -> Iterator[tuple[Any, str]]:
        conn = self.psycopg.connect(ledger.store.location, autocommit=True)
        try:
            yield conn, "%s"
        finally:
            conn.close()

    def close(self) -> None:
        with self.psycopg.connect(self.server_url, autocommit=True) as conn:
            for dbname in self.databases:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


# -- figure 1: durable commands -----------------------------------------------------------------------

INVITES_PER_ORG = 6  # then 2 declines, 2 accepts, 2 cancels: 12 commands per organization


def management(n: int) -> str:
    return f"1{n:011d}"


def invitee(org: int, n: int) -> str:
    return f"3{org:07d}{n:04d}"


class CommandDriver:
    """The command mix, sent through ``ledger.app`` (command only) or ``ledger.client`` (as users do)."""

    def __init__(self, ledger: Any, through_client: bool):
        self.ledger = ledger
        self.through_client = through_client

    def create_organization(self, org: int) -> None:
        caller = management(org)
        if self.through_client:
            self.ledger.client(caller).create_organization(FeatureSet="ALL")
        else:
            self.ledger.app.create_organization(Caller(caller))

    def invite(self, org: int, n: int) -> str:
        caller, target = management(org), invitee(org, n)
        if self.through_client:
            answer = self.ledger.client(caller).invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": target})
            return str(answer["Handshake"]["Id"])
        return str(self.ledger.app.invite_account_to_organization(Caller(caller), "ACCOUNT", target).id)

    def respond(self, org: int, n: int, handshake_id: str) -> None:
        method = ("decline_handshake", "accept_handshake", "cancel_handshake")[n % 3]
        caller = management(org) if method == "cancel_handshake" else invitee(org, n)
        if self.through_client:
            getattr(self.ledger.client(caller), method)(HandshakeId=handshake_id)
        else:
            getattr(self.ledger.app, method)(Caller(caller), handshake_id)


def command_mix(driver: CommandDriver, orgs: range, threads: int = 1) -> int:
    """Invitations from every organization of ``orgs``, then their answers; the number of commands.
    With ``threads``, each thread sends the mix of its own share of the organizations, all at once."""
    if threads > 1:
        counts = [0] * threads
        shares = [list(orgs)[n::threads] for n in range(threads)]
        workers = [threading.Thread(target=lambda n=n: counts.__setitem__(n, command_mix(driver, shares[n])))
                   for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return sum(counts)
    invited = {(org, n): driver.invite(org, n) for n in range(INVITES_PER_ORG) for org in orgs}
    for (org, n), handshake_id in invited.items():
        driver.respond(org, n, handshake_id)
    return 2 * len(invited)


def recorded_bytes(app: Any, after: int) -> int:
    total, position = 0, after
    while True:
        page = app.recorder.select_notifications(start=position, limit=1000, inclusive_of_start=False)
        if not page:
            return total
        total += sum(len(n.state) + len(n.topic) + len(n.originator_id) for n in page)
        position = page[-1].id


@dataclass
class CommandRun:
    commands: int = 0
    seconds: float = 0.0
    bytes: int = 0
    raw_seconds: float = 0.0


def run_commands(ledger: Any, raw: RawCommits, orgs: int, through_client: bool, chunk: int = 10,
                 threads: int = 1) -> CommandRun:
    """Chunks of the command mix, each followed by as many raw one-row commits of the same size:
    both see the same disk (its fsync latency drifts with whatever else runs on the machine)."""
    driver, total = CommandDriver(ledger, through_client), CommandRun()
    for org in range(orgs):
        driver.create_organization(org)
    ledger.catch_up()
    for first in range(0, orgs, chunk):
        start = ledger.app.recorder.max_notification_id() or 0
        seconds, commands = timed(lambda: command_mix(driver, range(first, min(orgs, first + chunk)), threads))
        written = recorded_bytes(ledger.app, start)
        total.raw_seconds += raw.commit(commands, written // commands)
        total.commands, total.seconds, total.bytes = total.commands + commands, total.seconds + seconds, \
            total.bytes + written
    return total


COMMAND_RUNS = (  # (key, title, through the client, threads, target)
    ("commands_app", "Commands/s, command only (ledger.app), 1 thread", False, 1, None),
    ("commands_app_8", "Commands/s, command only, 8 threads (group commit)", False, 8, 0.7),
    ("commands_client", "Commands/s, boto3 client incl. view catch-up, 8 threads", True, 8, 0.7),
)


def bench_commands(store: Any, plan: Plan) -> list[Figure]:
    """Durable commands in-process beside raw one-row commits of the same size, taking turns."""
    figures = []
    for key, title, through_client, threads, target in COMMAND_RUNS:
        with open_ledger(store.location(key)) as ledger, store.raw_table(ledger) as raw:
            done = run_commands(ledger, raw, plan.command_orgs, through_client, threads=threads,
                                chunk=max(10, 2 * threads))
        per_command = done.bytes // done.commands
        figures.append(throughput_figure(
            key, title, done.commands / done.seconds, f"{raw.title}, {per_command} B",
            done.commands / done.raw_seconds, "cmd/s", target=target, commands=done.commands,
            bytes_per_command=per_command,
        ))
    return figures


# -- seeding: a large ledger, in bulk, through the application -------------------------------------

@dataclass
class Seed:
    """Deterministic bulk data: handshake ``i`` belongs to organization ``i // org_size``."""

    org_size: int
    capacity: int
    base: datetime
    count: int = 0
    recipients: int = 0
    seconds: float = 0.0
    events: int = 0

    def instant(self, i: int) -> datetime:
        return self.base + SPREAD * (i / self.capacity)

    def handshake_id(self, i: int) -> str:
        """Random-looking, like the service's own ids: the primary key sees random inserts."""
        return "h-" + hashlib.blake2b(i.to_bytes(8, "big"), digest_size=8).hexdigest()

    def organization_id(self, org: int) -> str:
        return f"o-{org:010d}"

    @property
    def pool(self) -> int:
        """Ten organizations share a pool of recipients, each receiving 20 handshakes from each."""
        return self.org_size // 20

    def recipient(self, i: int) -> str:
        org, j = divmod(i, self.org_size)
        return f"2{(org // 10) * self.pool + j % self.pool:011d}"

    def sender(self, i: int) -> str:
        return management(i // self.org_size)

    def state(self, i: int) -> str:
        return ("OPEN", "DECLINED", "ACCEPTED", "CANCELED")[i % 4]


def seed_organization(seed: Seed, org: int) -> list[Any]:
    """Made just before its first handshake: the log is written in time order, as a real one is."""
    mgmt, timestamp = management(org), seed.instant(org * seed.org_size) - timedelta(microseconds=2)
    email = default_email(mgmt)
    stamp = {"actor": mgmt, "request_id": None, "timestamp": timestamp}
    organization = Organization(
        id=seed.organization_id(org), root_id=f"r-{org:04d}", feature_set=ALL, management_account_id=mgmt,
        management_email=email, management_name=default_name(mgmt), **stamp,
    )
    account = Account(id=mgmt, email=email, name=default_name(mgmt), **stamp)
    account.join(organization_id=organization.id, method="CREATED", handshake_id=None, **stamp)
    return [organization, account]


def seed_recipient(seed: Seed, n: int, first: int) -> list[Any]:
    """A recipient account, seen just before handshake ``first`` (its first)."""
    account_id = f"2{n:011d}"
    stamp = {"actor": account_id, "request_id": None, "timestamp": seed.instant(first) - timedelta(microseconds=1)}
    return [Account(id=account_id, email=default_email(account_id), name=default_name(account_id), **stamp)]


def seed_handshake(seed: Seed, i: int) -> Handshake:
    handshake_id, org = seed.handshake_id(i), i // seed.org_size
    mgmt, target, timestamp = seed.sender(i), seed.recipient(i), seed.instant(i)
    organization_id = seed.organization_id(org)
    handshake = Handshake(
        id=handshake_id, action=INVITE, arn=handshake_arn(mgmt, organization_id, INVITE, handshake_id),
        organization_id=organization_id, sender_account_id=mgmt, recipient_account_id=target,
        target_type="ACCOUNT", target_id=target,
        parties=[{"Type": "ORGANIZATION", "Id": organization_id}, {"Type": "ACCOUNT", "Id": target}],
        resources=[{"Type": "ORGANIZATION", "Value": organization_id, "Resources": [
            {"Type": "MASTER_EMAIL", "Value": default_email(mgmt)},
            {"Type": "MASTER_NAME", "Value": default_name(mgmt)},
            {"Type": "ORGANIZATION_FEATURE_SET", "Value": ALL},
        ]}, {"Type": "ACCOUNT", "Value": target}],
        state=OPEN, expires_at=timestamp + INVITE_LIFETIME, parent_id=None, children=[], tags=[],
        actor=mgmt, request_id=None, timestamp=timestamp,
    )
    answer = {"DECLINED": handshake.decline, "ACCEPTED": handshake.accept, "CANCELED": handshake.cancel}
    state = seed.state(i)
    if state in answer:
        actor = mgmt if state == "CANCELED" else target
        gap = SPREAD / seed.capacity  # answered before the next one is requested: the log in time order
        answer[state](actor=actor, request_id=None, timestamp=timestamp + gap / 2)
    return handshake


def grow(ledger: Any, seed: Seed, size: int) -> None:
    """Bulk-save handshakes (and their organizations and recipients) until the ledger holds ``size``."""
    # psycopg's pipelined insert of one huge save stalls (both ends wait on full buffers): smaller saves there.
    batch = 1_000 if ledger.store.kind == "postgres" else 10_000
    began, first = time.perf_counter(), ledger.app.recorder.max_notification_id() or 0
    pending: list[Any] = []
    for i in range(seed.count, size):
        if i % seed.org_size == 0:
            pending += seed_organization(seed, i // seed.org_size)
            while seed.recipients < (i // seed.org_size // 10 + 1) * seed.pool:
                pending += seed_recipient(seed, seed.recipients, i)
                seed.recipients += 1
        pending.append(seed_handshake(seed, i))
        if len(pending) >= batch:
            ledger.app.save(*pending)
            pending = []
    if pending:
        ledger.app.save(*pending)
    seed.count = size
    ledger.view.catch_up(ledger.app, batch=20_000)
    seed.seconds += time.perf_counter() - began
    seed.events += (ledger.app.recorder.max_notification_id() or 0) - first


# -- figure 3: List page latency -------------------------------------------------------------------

@dataclass(frozen=True)
class PageProbe:
    operation: str
    caller: str
    token: str
    key: tuple[int, str]  # (requested_us, id) of the row before the page: the raw query's keyset
    owner: str  # organization id or recipient account id


def walk_pages(ledger: Any, operation: str, caller: str, owner: str) -> list[PageProbe]:
    """Follow NextToken to the end; one probe per page after the first."""
    probes, token = [], None
    while True:
        answer = ledger.call(Caller(caller), operation, {"NextToken": token} if token else {})
        token = answer.get("NextToken")
        if not token:
            return probes
        last = answer["Handshakes"][-1]
        probes.append(PageProbe(operation, caller, token, (_us(last["RequestedTimestamp"]), last["Id"]), owner))


def _us(instant: datetime) -> int:
    delta = instant - datetime(1970, 1, 1, tzinfo=instant.tzinfo)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


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
    now_us = _us(system_clock.now())
    with store.view_connection(ledger) as (db, ph):
        column = RAW_PAGE[probes[0].operation]
        text = (f"SELECT h.*, d.arn, d.parties, d.resources FROM hv_handshakes h JOIN hv_handshake_documents d "
                f"ON d.id = h.id WHERE h.{column} = {ph} AND h.visible_until_us > {ph} AND h.valid_to IS NULL "
                f"AND (h.requested_us < {ph} OR (h.requested_us = {ph} AND h.id < {ph})) "
                f"ORDER BY h.requested_us DESC, h.id DESC LIMIT 21")

        def query(p: PageProbe) -> Callable[[], Any]:
            return lambda: db.execute(text, (p.owner, now_us, p.key[0], p.key[0], p.key[1])).fetchall()

        return latencies([query(p) for p in probes])


@dataclass
class Seeded:
    """A ledger grown to one size, open."""

    size: int
    location: str
    ledger: Any
    seed: Seed


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
            calls = [lambda p=p: ledger.call(Caller(p.caller), p.operation, {"NextToken": p.token}) for p in chunk]
            times, raw_times = latencies(calls), raw_page_latencies(store, ledger, chunk)
            if turn >= 0:
                served[size, operation] += times
                raw[size, operation] += raw_times
    return {size: {op: _page_stats(served[size, op], raw[size, op]) for op in RAW_PAGE} for size in by_size}


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
                f"list_{_short(operation)}_{size}", f"{operation} page p50 @{_n(size)} (p99 {m['p99_ms']:.2f} ms)",
                m["p50_ms"], "ms", f"raw keyset query p50 (p99 {m['raw_p99_ms']:.2f} ms)", m["raw_p50_ms"],
                m["p50_ms"] / m["raw_p50_ms"], "p50 <= 1 ms", m["p50_ms"] <= 1.0, dict(m),
            ))
        scale = by_size[large][operation]["p99_ms"] / by_size[small][operation]["p99_ms"]
        figures.append(Figure(
            f"list_{_short(operation)}_p99_scaling", f"{operation} p99 @{_n(large)} / p99 @{_n(small)}",
            by_size[large][operation]["p99_ms"], "ms", f"p99 @{_n(small)}", by_size[small][operation]["p99_ms"],
            scale, "<= 1.5", scale <= 1.5,
        ))
    return figures


def _short(operation: str) -> str:
    return "org" if operation.endswith("Organization") else "account"


def _n(size: int) -> str:
    return f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1000}k" if size >= 1000 else str(size)


# -- figure 4: full rebuild ------------------------------------------------------------------------------

def raw_log_read(app: Any, stop: int | None = None) -> tuple[int, float]:
    """(events, seconds) to read the notification log in pages of 1000 and decode every event."""
    position, events = 0, 0
    began = time.perf_counter()
    while True:
        page = app.recorder.select_notifications(start=position, limit=1000, stop=stop, inclusive_of_start=False)
        if not page:
            return events, time.perf_counter() - began
        for notification in page:
            app.mapper.to_domain_event(notification)
        events += len(page)
        position = page[-1].id


def bench_rebuild(ledger: Any, size: int) -> Figure:
    """The rebuild between two raw reads; the faster raw read is the limit."""
    events, raw_before = raw_log_read(ledger.app)
    seconds, _ = timed(ledger.rebuild)
    _, raw_after = raw_log_read(ledger.app)
    return throughput_figure(
        "rebuild", f"Rebuild events/s @{_n(size)} handshakes", events / seconds,
        "raw log read + decode events/s", events / min(raw_before, raw_after), "ev/s", target=0.8,
        events=events, seconds=seconds,
    )


# -- figure 5: as of an instant (issue 15) ----------------------------------------------------------------

def bench_as_of(store: Any, ledgers: list[Seeded], plan: Plan, rng: random.Random) -> list[Figure]:
    """Opening the ledger as of an instant, and its List pages beside the live ones, at every size."""
    figures: list[Figure] = []
    opened: dict[int, float] = {}
    for s in ledgers:
        instants = [s.seed.instant(rng.randrange(s.seed.count)) for _ in range(plan.samples)]
        served = latencies([lambda t=t: s.ledger.at(t) for t in instants])
        with store.view_connection(s.ledger) as (db, ph):
            seek = (f"SELECT notification_id FROM hv_event_times WHERE high_us <= {ph} "
                    "ORDER BY high_us DESC, notification_id DESC LIMIT 1")
            raw = latencies([lambda t=t: db.execute(seek, (_us(t),)).fetchall() for t in instants])
        opened[s.size] = percentile(served, 50)
        figures.append(Figure(
            f"as_of_open_{s.size}", f"Open the ledger as of an instant p50 @{_n(s.size)} (p99 "
            f"{1e3 * percentile(served, 99):.2f} ms)", 1e3 * opened[s.size], "ms", "raw time-index seek p50",
            1e3 * percentile(raw, 50), percentile(served, 50) / percentile(raw, 50), "p50 <= 5 ms",
            opened[s.size] <= 0.005, {"p99_ms": 1e3 * percentile(served, 99)}))
    small, large = min(opened), max(opened)
    figures.append(Figure(
        "as_of_open_flat", f"Open as of an instant p50 @{_n(large)} / p50 @{_n(small)}", opened[large] / opened[small],
        "x", "flat in the history's length", 1.0, opened[large] / opened[small], "<= 1.5",
        opened[large] / opened[small] <= 1.5))
    for s in ledgers:
        for operation in RAW_PAGE:
            live, past = as_of_pages(s, operation, plan.samples, rng)
            figures.append(Figure(
                f"as_of_page_{_short(operation)}_{s.size}",
                f"As-of {operation} page p50 @{_n(s.size)} (p99 {1e3 * percentile(past, 99):.2f} ms)",
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


VIEW_TABLES = ("handshakes", "handshake_documents", "accounts", "organizations")
LIVE_COPIES = {  # a live-only view: current versions, a handshake's document in its row, the same lookups
    "handshakes": ("SELECT h.*, d.arn, d.parties, d.resources FROM hv_handshakes h JOIN hv_handshake_documents d "
                   "ON d.id = h.id WHERE h.valid_to IS NULL", "id",
                   ("recipient_account_id", "target_email", "organization_id", "parent_id")),
    "accounts": ("SELECT * FROM hv_accounts WHERE valid_to IS NULL", "account_id", ("email_key", "organization_id")),
    "organizations": ("SELECT * FROM hv_organizations WHERE valid_to IS NULL", "organization_id", ()),
}


def bench_view_disk(store: Any, seeded: Seeded) -> Figure:
    """The view's tables and indexes beside a live-only copy of them: current versions alone, each
    handshake's document in its row, a primary key and the same lookup indexes."""
    with store.view_connection(seeded.ledger) as (db, _):
        for table, (select, key, lookups) in LIVE_COPIES.items():
            db.execute(f"DROP TABLE IF EXISTS live_{table}")
            db.execute(f"CREATE TABLE live_{table} AS {select}")
            db.execute(f"CREATE UNIQUE INDEX live_{table}_pk ON live_{table} ({key})")
            for column in lookups:
                db.execute(f"CREATE INDEX live_{table}_{column} ON live_{table} ({column}, requested_us, id)"
                           if table == "handshakes" else f"CREATE INDEX live_{table}_{column} ON live_{table} ({column})")
        if hasattr(db, "commit"):
            db.commit()
        versioned = sum(store.relation_bytes(db, f"hv_{table}") for table in VIEW_TABLES)
        live = sum(store.relation_bytes(db, f"live_{table}") for table in LIVE_COPIES)
        for table in LIVE_COPIES:
            db.execute(f"DROP TABLE live_{table}")
        if hasattr(db, "commit"):
            db.commit()
    return Figure("view_disk", f"Versioned view on disk @{_n(seeded.size)} (tables + indexes)", versioned / 2**20,
                  "MB", "a live-only view: current versions, same indexes", live / 2**20, versioned / live, "<= 2x",
                  versioned <= 2 * live)


# -- figures 2 and 6: the HTTP service and its memory -------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(command: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with open(log, "ab") as errors:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=errors, stderr=errors)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}; see {log}:\n{log.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/_ledger/health")
            if connection.getresponse().status == 200:
                connection.close()
                return server
        except OSError:
            time.sleep(0.05)  # polling until the server listens
    stop_server(server)
    raise SystemExit(f"server did not answer within 60 s; see {log}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/<pid>/status")


Request = tuple[str, bytes, dict[str, str]]  # path, body, headers


def request(operation: str, params: dict[str, Any], account: str, path: str = "/") -> Request:
    headers = {
        "X-Amz-Target": TARGET + operation, "Content-Type": "application/x-amz-json-1.1",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/organizations/aws4_request, "
                         "SignedHeaders=host, Signature=x",
    }
    return path, json.dumps(params).encode(), headers


def load(port: int, shares: list[list[Request]]) -> tuple[float, int]:
    """(requests/s, non-200 answers): one keep-alive connection and thread per share."""
    failures = [0] * len(shares)
    ready = threading.Barrier(len(shares) + 1)

    def run(index: int, share: list[Request]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port)
        connection.connect()
        ready.wait()
        for path, body, headers in share:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            failures[index] += response.status != 200
        connection.close()

    threads = [threading.Thread(target=run, args=(n, share)) for n, share in enumerate(shares)]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return sum(map(len, shares)) / (time.perf_counter() - began), sum(failures)


def split(requests: list[Request], clients: int) -> list[list[Request]]:
    return [requests[n::clients] for n in range(clients)]


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
    command = [sys.executable, str(Path(__file__).resolve()), "--fixed-200-server", str(port)]
    return start_server(command, port, scratch / "fixed-server.log"), port


def start_ledger_server(location: str, scratch: Path, workers: int = 1) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [sys.executable, "-m", "ledger.entrypoints.cli", "serve", "--port", str(port), "--data", location,
               "--workers", str(workers)]
    return start_server(command, port, scratch / "ledger-server.log"), port


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process and all its descendants (a supervisor and its workers)."""
    total = cpu_seconds(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += tree_cpu_seconds(int(child))
    return total


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Turn:
    port: int
    pid: int
    shares: list[list[Request]]


def http_rates(turns: dict[str, Turn]) -> dict[str, dict[str, Any]]:
    """Best rate of ROUNDS turns per load, the turns interleaved; server CPU per request over all of them."""
    best: dict[str, dict[str, Any]] = {}
    for turn in range(ROUNDS):
        for name, (port, pid, shares) in ((n, (t.port, t.pid, t.shares)) for n, t in turns.items()):
            part = [share[turn::ROUNDS] for share in shares]
            cpu = cpu_seconds(pid)
            rate, failed = load(port, part)
            mine = best.setdefault(name, {"rate": 0.0, "requests": 0, "non_200": 0, "cpu": 0.0})
            mine["cpu"] += cpu_seconds(pid) - cpu
            mine["rate"] = max(mine["rate"], rate)
            mine["requests"] += sum(map(len, part))
            mine["non_200"] += failed
    for mine in best.values():
        mine["cpu_us"] = mine.pop("cpu") / mine["requests"] * 1e6
    return best


def find_ministack(command: str | None) -> list[str] | None:
    """How to run ministack: ``--ministack CMD``, a ``ministack`` on PATH, or its module here."""
    if command:
        return [str(Path(command).resolve()) if Path(command).exists() else command]
    if shutil.which("ministack"):
        return [str(shutil.which("ministack"))]
    import importlib.util

    return [sys.executable, "-m", "ministack"] if importlib.util.find_spec("ministack") else None


def start_ministack(command: list[str], scratch: Path) -> tuple[subprocess.Popen[bytes], int]:
    """ministack with its defaults, but on 127.0.0.1 and a free port; ready when it describes its organization."""
    port = free_port()
    env = {**os.environ, "GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1"}
    with open(scratch / "ministack.log", "ab") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=scratch)
    _, body, headers = request("DescribeOrganization", {}, "000000000000")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("POST", "/", body=body, headers=headers)
            if connection.getresponse().status == 200:
                return server, port
        except OSError:
            time.sleep(0.1)  # polling until ministack listens
    stop_server(server)
    raise SystemExit(f"ministack did not answer DescribeOrganization; see {scratch / 'ministack.log'}")


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
    figures.append(Figure("server_peak_rss", f"Server peak RSS holding {_n(seed.count)} handshakes", rss, "MB",
                          "fixed-200 server peak RSS", fixed_rss, rss / fixed_rss, "<= 200 MB", rss <= 200))
    return figures


WRITE_CLIENTS = 8


def bench_http_writes(store: Any, plan: Plan, scratch: Path) -> list[Figure]:
    """Durable writes over HTTP: 8 keep-alive clients inviting into organizations of their own, on one
    server process and on ``--workers 2`` (group commit, issue 14), beside raw one-row commits."""
    location = store.location("http-writes")
    orgs = 4 * WRITE_CLIENTS
    with open_ledger(location, limits=Limits(accounts_per_organization=10**6, invitations_per_day=10**6)) as ledger:
        for org in range(orgs):
            ledger.call(Caller(management(org)), "CreateOrganization", {})
    per_client = plan.http_declines // 2
    rates: dict[int, tuple[float, float]] = {}
    os.environ.update({"HANDSHAKE_LEDGER_ACCOUNT_LIMIT": "1000000", "HANDSHAKE_LEDGER_INVITE_RATE_LIMIT": "1000000"})
    try:
        for round_ in range(2):  # the process counts take turns: the disk's latency drifts
            for workers in (1, 2):
                server, port = start_ledger_server(location, scratch, workers)
                try:
                    shares = [[request("InviteAccountToOrganization",
                                       {"Target": {"Type": "ACCOUNT", "Id": f"5{workers}{round_}{c:02d}{i:07d}"}},
                                       management(c * 4 + i % 4)) for i in range(per_client)]
                              for c in range(WRITE_CLIENTS)]
                    cpu = tree_cpu_seconds(server.pid)
                    rate, failed = load(port, shares)
                    cpu = tree_cpu_seconds(server.pid) - cpu
                finally:
                    stop_server(server)
                if failed:
                    raise SystemExit(f"{failed} writes were refused; see {scratch / 'ledger-server.log'}")
                best = rates.get(workers, (0.0, 0.0))
                rates[workers] = (max(best[0], rate), cpu / (per_client * WRITE_CLIENTS) * 1e6)
    finally:
        for name in ("HANDSHAKE_LEDGER_ACCOUNT_LIMIT", "HANDSHAKE_LEDGER_INVITE_RATE_LIMIT"):
            os.environ.pop(name, None)
    with open_ledger(store.location("http-writes-raw")) as raw_ledger, store.raw_table(raw_ledger) as raw:
        count = per_client * WRITE_CLIENTS
        raw_rate = count / raw.commit(count, 1200)
    target = 1.0 if store.kind == "sqlite" else 0.5
    (one, cpu_one), (two, _) = rates[1], rates[2]
    return [
        throughput_figure("http_writes", f"HTTP InviteAccountToOrganization/s, {WRITE_CLIENTS} clients, 1 process",
                          one, f"{raw.title}, 1200 B", raw_rate, "req/s", target=target),
        Figure("http_write_cpu", "Server CPU per durable write (1 process)", cpu_one, "us", "target", 1000.0,
               cpu_one / 1000, "<= 1 ms", cpu_one <= 1000),
        throughput_figure("http_writes_workers", f"HTTP writes/s, {WRITE_CLIENTS} clients, --workers 2", two,
                          "the same with 1 process", one, "req/s", target=1.3),
    ]


def fixed_200_server(port: int) -> None:
    """The ceiling: the standard library's threading HTTP/1.1 server answering a fixed 200, no ledger."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = json.dumps({"Handshake": {"Id": "h-0000000000000000", "State": "OPEN"}}).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version, wbufsize, disable_nagle_algorithm = "HTTP/1.1", -1, True

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_request(self, *args: Any) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever(poll_interval=0.1)


# -- the run ------------------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"date": system_clock.now().isoformat(timespec="seconds"), "host": platform.node(), "cpu": cpu,
            "cores": os.cpu_count(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform()}


def seed_ledgers(store: Any, plan: Plan, log: Callable[[str], None]) -> list[Seeded]:
    """One ledger per size, each grown in bulk from empty."""
    base = system_clock.now() - SPREAD - timedelta(minutes=1)
    ledgers = []
    for size in plan.sizes:
        log(f"seeding {_n(size)} handshakes ...")
        location = store.location(f"seeded-{_n(size)}")
        seed = Seed(plan.org_size, size, base)
        ledger = open_ledger(location)
        grow(ledger, seed, size)
        ledgers.append(Seeded(size, location, ledger, seed))
    return ledgers


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
    sizes = ", ".join(_n(size) for size in results["sizes"])
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
