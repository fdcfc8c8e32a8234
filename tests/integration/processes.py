"""Bodies of the worker processes of the concurrency tests (spawned: importable, no fixtures).

Each worker opens its own ledger on the shared location, waits at the barrier so all start
together, runs its jobs, and sends back one outcome per attempt: "ok", the AWS error code, or
"unexpected: ..." for anything else.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import threading
import traceback
from collections import deque
from typing import Any, Callable

from ledger import open_ledger
from ledger.service_layer.application import Limits
from botocore.exceptions import ClientError

Job = tuple[str, str, str]  # (client method, account calling it, handshake id)
Outcome = tuple[str, str, str, str]  # the job, then its outcome

TIMEOUT = 300  # seconds a test waits for its workers; far above what they need
RETRIES = 50  # attempts of a job answered ConcurrentModificationException, as a client would


def outcome_of(call: Callable[[], Any]) -> str:
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    except Exception as error:  # noqa: BLE001 - the test asserts there is none; keep it to report
        return f"unexpected: {type(error).__name__}: {error}"
    return "ok"


def handshake_worker(location: str, limits: Limits, jobs: list[Job], barrier: Any, results: Any) -> None:
    """Run each (method, account, handshake) as that account's client would, retrying later on conflicts."""
    try:
        with open_ledger(location, limits=limits) as ledger:
            barrier.wait(timeout=TIMEOUT)
            outcomes = []
            todo = deque((job, 1) for job in jobs)
            while todo:
                (method, account, handshake_id), attempt = todo.popleft()
                outcome = outcome_of(lambda: getattr(ledger.client(account), method)(HandshakeId=handshake_id))
                outcomes.append((method, account, handshake_id, outcome))
                if outcome == "ConcurrentModificationException" and attempt < RETRIES:
                    todo.append(((method, account, handshake_id), attempt + 1))  # "Try again later."
        results.put(outcomes)
    except BaseException:
        barrier.abort()  # release the others rather than leave them waiting
        results.put([("worker", "", "", "unexpected: " + traceback.format_exc())])
        raise


def inviting_worker(location: str, limits: Limits, management: str, accounts: list[str],
                    barrier: Any, results: Any) -> None:
    """Invite the accounts one by one; between invitations, catch the view up in small batches."""
    try:
        with open_ledger(location, limits=limits) as ledger:
            barrier.wait(timeout=TIMEOUT)
            client = ledger.client(management)
            outcomes = []
            for account in accounts:
                outcome = outcome_of(lambda: client.invite_account_to_organization(
                    Target={"Type": "ACCOUNT", "Id": account}))
                outcomes.append(("invite_account_to_organization", management, account, outcome))
                outcomes.append(("catch_up", management, account,
                                 outcome_of(lambda: ledger.view.catch_up(ledger.app, batch=3))))
        results.put(outcomes)
    except BaseException:
        barrier.abort()  # release the others rather than leave them waiting
        results.put([("worker", "", "", "unexpected: " + traceback.format_exc())])
        raise


def shared_organizations_worker(location: str, limits: Limits, managers: list[str], accounts: list[str], seed: int,
                                barrier: Any, results: Any) -> None:
    """Four threads of commands at once on organizations other processes also use: invitations,
    answers (accepting moves an account between organizations), cancels and departures."""
    try:
        with open_ledger(location, limits=limits) as ledger:
            barrier.wait(timeout=TIMEOUT)
            outcomes: list[Outcome] = []
            threads = [threading.Thread(target=_busy, args=(ledger, managers, accounts, seed * 10 + n, outcomes))
                       for n in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        results.put(outcomes)
    except BaseException:
        barrier.abort()
        results.put([("worker", "", "", "unexpected: " + traceback.format_exc())])
        raise


def _busy(ledger: Any, managers: list[str], accounts: list[str], seed: int, outcomes: list[Outcome]) -> None:
    rng = random.Random(seed)
    for _ in range(40):
        manager, account = rng.choice(managers), rng.choice(accounts)
        move = rng.choice(["invite", "invite", "accept", "accept", "decline", "cancel", "leave"])
        if move == "invite":
            call = lambda: ledger.client(manager).invite_account_to_organization(  # noqa: E731
                Target={"Type": "ACCOUNT", "Id": account})
        elif move == "leave":
            call = lambda: ledger.client(account).leave_organization()  # noqa: E731
        else:
            caller = manager if move == "cancel" else account
            try:
                received = (ledger.client(manager).list_handshakes_for_organization() if move == "cancel"
                            else ledger.client(account).list_handshakes_for_account())["Handshakes"]
            except ClientError:
                received = []
            open_ones = [h["Id"] for h in received if h["State"] == "OPEN"]
            if not open_ones:
                continue
            handshake_id = rng.choice(open_ones)
            call = lambda: getattr(ledger.client(caller), f"{move}_handshake")(  # noqa: E731
                HandshakeId=handshake_id)
        outcomes.append((move, manager, account, outcome_of(call)))


def opening_worker(location: str, barrier: Any, results: Any) -> None:
    """Open a ledger on a location nobody has opened yet, at the same moment as the others."""
    barrier.wait(timeout=TIMEOUT)

    def open_and_read() -> None:
        with open_ledger(location) as ledger:
            ledger.client("111111111111").list_handshakes_for_account()

    results.put([("open_ledger", "", "", outcome_of(open_and_read))])


def run_workers(target: Callable[..., None], argument_lists: list[tuple[Any, ...]]) -> list[Outcome]:
    """Start one spawned process per argument tuple, all released together; gather their outcomes."""
    context = multiprocessing.get_context("spawn")  # no forking of pools and threads
    barrier = context.Barrier(len(argument_lists))
    results = context.Queue()
    processes = [context.Process(target=target, args=(*arguments, barrier, results))
                 for arguments in argument_lists]
    for process in processes:
        process.start()
    outcomes: list[Outcome] = []
    try:
        for _ in processes:
            outcomes += _next_report(results, processes)
    finally:
        for process in processes:
            process.join(timeout=TIMEOUT)
            if process.is_alive():
                process.kill()
    assert [p.exitcode for p in processes] == [0] * len(processes), outcomes[-1:]
    return outcomes


def _next_report(results: Any, processes: list[Any]) -> list[Outcome]:
    """The next worker's outcomes; give up soon if every worker is gone without reporting."""
    for _ in range(TIMEOUT):
        try:
            return list(results.get(timeout=1))
        except queue.Empty:
            if not any(p.is_alive() for p in processes) and results.empty():
                break
    raise AssertionError(f"workers stopped without reporting: exit codes {[p.exitcode for p in processes]}")
