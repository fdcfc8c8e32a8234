"""``serve --workers 4`` on the store under test (a SQLite folder, or PostgreSQL in the postgres pass).

A worker killed with -9 under load is restarted, and loses no acknowledged write; clients racing
to decline, accept and cancel the same handshakes through different workers end each one once.
Afterwards the views hold the log exactly once and equal a rebuild.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ledger import open_ledger
from ledger.service_layer.application import Limits
from tests.conftest import MANAGEMENT
from tests.e2e.conftest import ROOT, Server
from tests.e2e.processes import assert_views_equal_a_rebuild, busiest_child, children

WORKERS = 4
LIMIT = 100_000
LIMITS = {"HANDSHAKE_LEDGER_ACCOUNT_LIMIT": str(LIMIT), "HANDSHAKE_LEDGER_INVITE_RATE_LIMIT": str(LIMIT)}
WAIT = 60.0  # seconds any one step may take before the test gives up; far above what it needs
ENDS = {"decline_handshake": "Declined", "accept_handshake": "Accepted", "cancel_handshake": "Canceled"}
LOSING = {"HandshakeAlreadyInStateException", "InvalidHandshakeTransitionException",
          "ConcurrentModificationException"}


@dataclass(frozen=True)
class Outcome:
    move: str
    handshake_id: str | None
    result: str  # "ok", the error code, or "unknown: ..." when no answer came
    status: int | None = None
    request_id: str | None = None


def attempt(move: str, client: Any, **params: Any) -> tuple[Outcome, dict[str, Any]]:
    """One request as a client sees it; the handshake id is the one acted on or invited."""
    try:
        answer = getattr(client, move)(**params)
    except ClientError as error:
        meta = error.response["ResponseMetadata"]
        outcome = Outcome(move, params.get("HandshakeId"), error.response["Error"]["Code"], meta["HTTPStatusCode"],
                          meta.get("RequestId"))
        return outcome, {}
    except BotoCoreError as error:  # the connection broke: done or not, nobody told the client
        return Outcome(move, params.get("HandshakeId"), f"unknown: {error}"), {}
    handshake_id = params.get("HandshakeId") or answer["Handshake"]["Id"]
    return Outcome(move, handshake_id, "ok", 200, answer["ResponseMetadata"]["RequestId"]), answer


class Clients:
    """boto3 clients on the server, made from one session (client creation is not thread-safe)."""

    def __init__(self, server: Server, pool: int):
        self.session = boto3.session.Session()
        self.url = server.url
        self.config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, max_pool_connections=pool)

    def __call__(self, account: str) -> Any:
        return self.session.client("organizations", endpoint_url=self.url, region_name="us-east-1",
                                   aws_access_key_id=account, aws_secret_access_key="x", config=self.config)


def run_threads(bodies: list[Callable[[], None]]) -> list[str]:
    """Run the bodies on threads and wait for them; the failures they raised, formatted."""
    failures: list[str] = []

    def guarded(body: Callable[[], None]) -> None:
        try:
            body()
        except BaseException as failure:  # noqa: BLE001 - reported by the test
            failures.append(f"{type(failure).__name__}: {failure}")

    threads = [threading.Thread(target=guarded, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT * 3)
    return failures + [f"{thread.name} still running" for thread in threads if thread.is_alive()]


def until(condition: Callable[[], bool], what: str) -> None:
    """Poll a condition of other processes (their pids, their log) for at most WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def recorded_as(ledger: Any, outcome: Outcome) -> tuple[str, str | None]:
    """What the log says of an acknowledged request: its event and that event's request id."""
    entries = ledger.history(outcome.handshake_id)
    entry = entries[0] if outcome.move == "invite_account_to_organization" else entries[-1]
    return entry.what, entry.request_id


def expected(outcome: Outcome) -> tuple[str, str | None]:
    return ENDS.get(outcome.move, "Requested"), outcome.request_id


# -- the supervisor and its workers -------------------------------------------------------------

def test_a_writer_reads_its_own_writes_whichever_worker_answers(data_location: str) -> None:
    server = Server(data_location, env=LIMITS, workers=WORKERS).start()
    try:
        clients = Clients(server, pool=1)
        management = clients(MANAGEMENT)
        management.create_organization(FeatureSet="ALL")
        for n in range(20):
            invitee = f"7{n:011d}"
            handshake_id = management.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": invitee})
            reader = clients(invitee)  # a new connection: any worker may accept it
            assert [h["Id"] for h in reader.list_handshakes_for_account()["Handshakes"]] == [
                handshake_id["Handshake"]["Id"]]
            reader.close()
    finally:
        assert server.stop() == 0


def test_commands_at_once_on_one_organization_see_each_other_on_every_worker(data_location: str) -> None:
    """Workers commit in groups, each in its turn: no command works on what another process did but
    has not committed yet, so none answers ConcurrentModificationException."""
    server = Server(data_location, env=LIMITS, workers=2).start()
    try:
        clients = Clients(server, pool=8)
        for round_ in range(6):
            manager = f"53{round_:010d}"
            clients(manager).create_organization(FeatureSet="ALL")
            start, outcomes = threading.Barrier(8), [""] * 8
            senders = [clients(manager) for _ in range(8)]  # connections of their own: any worker

            def invite(n: int) -> None:
                client = senders[n]
                start.wait()
                try:
                    client.invite_account_to_organization(Target={"Type": "EMAIL", "Id": f"y{n}@example.com"})
                    outcomes[n] = "ok"
                except ClientError as error:
                    outcomes[n] = error.response["Error"]["Code"]

            threads = [threading.Thread(target=invite, args=(n,)) for n in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert outcomes == ["ok"] * 8
    finally:
        assert server.stop() == 0


def test_sigint_stops_the_supervisor_and_every_child_with_0(data_location: str) -> None:
    server = Server(data_location, workers=2).start()
    assert server.process is not None
    supervisor = server.process.pid
    until(lambda: len(children(supervisor)) == 3, "two workers and the view runner")
    started = children(supervisor)
    assert server.stop(signal.SIGINT) == 0
    assert [pid for pid in started if Path(f"/proc/{pid}").exists()] == []


def test_a_port_in_use_is_refused_with_1_before_any_child_starts(data_location: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        command = [sys.executable, "-m", "ledger.entrypoints.cli", "serve", "--workers", "2",
                   "--port", str(taken.getsockname()[1]), "--data", data_location]
        run = subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                             text=True, timeout=WAIT)
    assert (run.returncode, "Address already in use" in run.stderr) == (1, True)
    assert "started" not in run.stderr


# -- a worker killed with -9 ---------------------------------------------------------------------

LOADERS = 4
INVITEES_PER_LOADER = 3
BEFORE_KILL = AFTER_RESTART = 100  # acknowledged requests: a few seconds of load in all


class Load:
    """LOADERS threads, each the management account of its own organization, inviting one of its
    invitees, then having the invitee decline or canceling it, until ``finish``."""

    def __init__(self, clients: Clients):
        self.outcomes: list[Outcome] = []
        self.failures: list[str] = []
        self.changed = threading.Condition()
        self.stop = threading.Event()
        self.managements = [f"9000000000{n:02d}" for n in range(LOADERS)]
        self.invitees = {m: [f"8{n:05d}{k:06d}" for k in range(INVITEES_PER_LOADER)]
                         for n, m in enumerate(self.managements)}
        self.clients = {account: clients(account) for m in self.managements for account in [m, *self.invitees[m]]}
        self.thread = threading.Thread(target=lambda: self.failures.extend(
            run_threads([self.loader(m) for m in self.managements])))

    def acknowledged(self, since: int = 0) -> int:
        return sum(outcome.result == "ok" for outcome in self.outcomes[since:])

    def wait_for(self, acknowledged: int, since: int = 0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.acknowledged(since) >= acknowledged, timeout=WAIT)

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(timeout=WAIT * 3)

    def _record(self, outcome: Outcome) -> Outcome:
        with self.changed:
            self.outcomes.append(outcome)
            self.changed.notify_all()
        return outcome

    def loader(self, management: str) -> Callable[[], None]:
        def run() -> None:
            boss = self.clients[management]
            boss.create_organization(FeatureSet="CONSOLIDATED_BILLING")
            usable = list(self.invitees[management])  # an invitee left with an unknown outcome is dropped
            for n in itertools.count():
                if self.stop.is_set() or not usable:
                    return
                invitee = usable[n % len(usable)]
                invited, answer = attempt("invite_account_to_organization", boss,
                                          Target={"Type": "ACCOUNT", "Id": invitee})
                last = self._record(invited)
                if invited.result == "ok":
                    closer, move = (self.clients[invitee], "decline_handshake") if n % 2 else (boss, "cancel_handshake")
                    last = self._record(attempt(move, closer, HandshakeId=answer["Handshake"]["Id"])[0])
                if last.result.startswith("unknown"):
                    usable.remove(invitee)
        return run


def restarts(log: Path, pid: int) -> list[int]:
    """The pids the supervisor's log says replaced the worker ``pid`` killed with -9."""
    line = rf"worker \d+ \(pid {pid}\) was killed by SIGKILL; restarted as pid (\d+)"
    return [int(replacement) for replacement in re.findall(line, log.read_text())]


def test_a_worker_killed_mid_load_is_restarted_and_loses_no_acknowledged_write(
        data_location: str, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    server = Server(data_location, env=LIMITS, workers=WORKERS, log=log).start()
    assert server.process is not None
    supervisor = server.process.pid
    try:
        until(lambda: len(children(supervisor)) == WORKERS + 1, "the workers and the view runner")
        load = Load(Clients(server, pool=4))
        load.thread.start()
        load.wait_for(BEFORE_KILL)
        victim = busiest_child(supervisor, server.port)
        os.kill(victim, signal.SIGKILL)
        until(lambda: len(restarts(log, victim)) == 1, "the restart's log line")
        assert victim not in children(supervisor) and restarts(log, victim)[0] in children(supervisor)
        load.wait_for(AFTER_RESTART, since=len(load.outcomes))
        load.finish()
    finally:
        assert server.stop() == 0

    assert load.failures == []
    assert "Traceback" not in log.read_text()
    assert [o for o in load.outcomes if o.status and o.status >= 500] == []
    refused = {o.result for o in load.outcomes if o.result != "ok" and not o.result.startswith("unknown")}
    assert refused <= {"ConcurrentModificationException"}
    # A request has an unknown outcome when it was in flight at the kill (one per loader) or sent on a
    # keep-alive connection the killed worker held idle (once per client: a loader then drops it).
    assert len([o for o in load.outcomes if o.result.startswith("unknown")]) <= len(load.clients)
    with open_ledger(data_location) as ledger:
        acknowledged = [o for o in load.outcomes if o.result == "ok"]
        assert [recorded_as(ledger, o) for o in acknowledged] == [expected(o) for o in acknowledged]
    invitees = [invitee for m in load.managements for invitee in load.invitees[m]]
    assert_views_equal_a_rebuild(data_location, load.managements, invitees)


# -- clients racing through different workers ----------------------------------------------------

RACED = 200  # handshakes
PARTITIONS = 4  # each a decliner, an accepter and a canceler taking the partition's handshakes in turn
MOVES = ("decline_handshake", "accept_handshake", "cancel_handshake")
RETRIES = 50  # attempts of a move answered ConcurrentModificationException


def invite_everyone(location: str) -> dict[str, str]:
    """handshake id -> invitee: MANAGEMENT's organization inviting RACED accounts (before the server starts)."""
    with open_ledger(location, limits=Limits(accounts_per_organization=LIMIT, invitations_per_day=LIMIT)) as ledger:
        management = ledger.client(MANAGEMENT)
        management.create_organization(FeatureSet="ALL")
        invitees = [f"5{n:011d}" for n in range(RACED)]
        return {management.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": invitee})["Handshake"]["Id"]:
                invitee for invitee in invitees}


def racer(move: str, turns: list[tuple[str, Any]], barrier: threading.Barrier,
          outcomes: list[Outcome]) -> Callable[[], None]:
    """Make ``move`` on each (handshake, client) at the moment the partition's other two make theirs.

    Every move of an invitation also changes its organization, so moves on other handshakes of the
    organization conflict with it too: a ConcurrentModificationException is tried again, as a client
    would ("try again later"); it recorded nothing.
    """
    def run() -> None:
        for handshake_id, client in turns:
            barrier.wait(timeout=WAIT)
            for _ in range(RETRIES):
                outcomes.append(attempt(move, client, HandshakeId=handshake_id)[0])
                if outcomes[-1].result != "ConcurrentModificationException":
                    break
            if move != "cancel_handshake":
                client.close()  # the next invitee's client connects afresh, to whichever worker accepts
    return run


def test_racing_clients_on_the_workers_end_each_handshake_once(data_location: str, tmp_path: Path) -> None:
    invitations = invite_everyone(data_location)
    log = tmp_path / "serve.log"
    server = Server(data_location, env=LIMITS, workers=WORKERS, log=log).start()
    outcomes: list[Outcome] = []
    try:
        clients = Clients(server, pool=PARTITIONS)
        bodies = []
        for partition in range(PARTITIONS):
            handshakes = list(invitations.items())[partition::PARTITIONS]
            barrier = threading.Barrier(len(MOVES))
            bodies += [racer(move, [(h, clients(MANAGEMENT if move == "cancel_handshake" else invitee))
                                    for h, invitee in handshakes], barrier, outcomes) for move in MOVES]
        assert run_threads(bodies) == []
    finally:
        assert server.stop() == 0

    assert "Traceback" not in log.read_text()
    assert len(outcomes) >= len(MOVES) * RACED
    assert [o for o in outcomes if o.result != "ok" and o.result not in LOSING] == []  # no 500, no broken answer
    won: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.result == "ok":
            won[str(outcome.handshake_id)].append(outcome)
    with open_ledger(data_location) as ledger:
        ends = {h: [(e.what, e.request_id) for e in ledger.history(h) if e.what in ENDS.values()] for h in invitations}
        members = {a["Id"] for page in ledger.client(MANAGEMENT).get_paginator("list_accounts").paginate()
                   for a in page["Accounts"]}
    assert {h: e for h, e in ends.items() if len(e) != 1} == {}
    assert ends == {h: [expected(o) for o in won[h]] for h in invitations}  # the one winner, by request id
    accepted = {invitations[h] for h, [o] in won.items() if o.move == "accept_handshake"}
    assert members == accepted | {MANAGEMENT}
    assert_views_equal_a_rebuild(data_location, [MANAGEMENT], sorted(invitations.values()))



def test_workers_stop_when_the_supervisor_is_killed(data_location: str) -> None:
    """A supervisor killed by SIGKILL leaves no worker serving (Linux parent-death signal)."""
    server = Server(data_location, workers=2).start()
    assert server.process is not None
    group = server.process.pid
    try:
        workers = children(server.process.pid)
        assert len(workers) >= 3  # two workers and the view runner
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)  # bounded wait for the children's own shutdown
        assert not any(_alive(pid) for pid in workers)
    finally:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
