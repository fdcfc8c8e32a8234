"""``handshake-ledger serve --workers N``: N server processes on one port, one view runner, a supervisor.

The supervisor (the process ``serve`` started) binds the port once and forks the children, which
inherit that one listening socket. Preferred to SO_REUSEPORT (each worker binding the port) because:

- one accept queue: a worker killed with -9 loses only the connections it had accepted, while
  with SO_REUSEPORT the connections waiting in its own queue would be reset too;
- "port in use" is found once, before any child starts, and no stray process can join the port
  (SO_REUSEPORT lets any process of the same user bind beside us);
- it works wherever fork does (SO_REUSEPORT spreads connections only on Linux).

The socket is non-blocking: idle workers all wake for a new connection, and the ones that lose the
race to accept it go back to waiting instead of blocking in accept() (where SIGTERM would not
stop them). The children:

- a set-up child, first and once: registers the accounts file's names and emails and catches the
  views up (exit 1, as single-process ``serve``, when the ledger refuses them);
- the view runner: opens the ledger, ``follow()``s the log until SIGTERM/SIGINT;
- N workers: ``http_server.run_server`` (uvicorn) on the inherited socket, with no runner of their own. Every
  command catches the shared views up before it answers, so a writer reads its own writes
  whichever worker answers its next request; the runner picks up anything a worker that died
  between its commit and its catch-up left behind.

The supervisor forks from a state with no thread and no open ledger, so children inherit no
connection or lock. It forwards SIGTERM/SIGINT to the children, waits for them (SIGKILL after
``STOP_GRACE``) and returns 0. A child that dies otherwise is restarted, with one line on stderr;
one that keeps dying young is restarted after a pause that grows from 0.1 s to 5 s.
"""

from __future__ import annotations

import ctypes
import math
import os
import select
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Callable, NoReturn

from ledger.domain import errors
from ledger.service_layer.application import Limits
from ledger.entrypoints.accounts import Accounts, AccountsFileError
from ledger.entrypoints.bootstrap import open_ledger
from ledger.entrypoints.http_protocol import ServerLimits
from ledger.entrypoints.cli_format import one_line
from ledger.entrypoints.http_server import listen, run_server
from ledger.entrypoints.settings import Settings, compose_service, load_settings, register_accounts

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
STOP_GRACE = 30.0  # seconds the children have to finish their requests before SIGKILL
YOUNG = 1.0  # a child dying younger than this many seconds is restarted after a pause
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a child gets when its parent dies
FIRST_PAUSE, LONGEST_PAUSE = 0.1, 5.0
PREFIX = "handshake-ledger:"


def serve(location: str | None, *, host: str, port: int, accounts_file: str | None, strict: bool,
          workers: int, limits: ServerLimits = ServerLimits(), ui: bool = True,
          allowed_hosts: tuple[str, ...] = (), access_log: bool = False) -> int:
    """Like ``http_server.serve`` with ``workers`` processes: 0 after a clean stop, 2 for bad settings, 1 when refused."""
    try:
        accounts, ledger_limits = load_settings(accounts_file, strict)
        listening = listen(host, port)
    except (AccountsFileError, ValueError) as problem:
        print(PREFIX, one_line(problem), file=sys.stderr)
        return 2
    except OSError as problem:  # e.g. the port in use
        print(PREFIX, one_line(problem), file=sys.stderr)
        return 1
    settings = Settings(location, accounts, ledger_limits, strict, limits, ui, allowed_hosts, access_log)
    children: dict[str, Callable[[], int]] = {"view runner": lambda: follow_views(settings)}
    children.update({f"worker {n}": lambda: serve_on(listening, settings) for n in range(1, workers + 1)})
    with listening:
        return Supervisor(children).run(set_up=lambda: set_up(settings))


# -- the children -------------------------------------------------------------------------------

def set_up(settings: Settings) -> int:
    """Once, before the others start: what single-process ``serve`` does before it listens."""
    with open_ledger(settings.location, limits=settings.limits) as ledger:
        try:
            register_accounts(ledger, settings.accounts)
        except errors.OrganizationsError as problem:  # e.g. an email taken
            print(PREFIX, one_line(problem), file=sys.stderr)
            return 1
    return 0


def follow_views(settings: Settings) -> int:
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # the runner thread inherits the mask; sigwait takes them
    with open_ledger(settings.location, limits=settings.limits) as ledger:
        ledger.follow(interval=0.2)
        signal.sigwait(STOP_SIGNALS)
    return 0


def serve_on(listening: socket.socket, settings: Settings) -> int:
    with open_ledger(settings.location, limits=settings.limits) as ledger:
        ledger.views_followed = True  # by the view runner, a sibling process
        service, web_ui = compose_service(ledger, settings)
        run_server(service, listening, settings.server, web_ui, settings.access_log)
    return 0


# -- the supervisor -----------------------------------------------------------------------------

class Supervisor:
    """Forks the named children, restarts the ones that die, stops them all on SIGTERM/SIGINT."""

    def __init__(self, children: dict[str, Callable[[], int]]):
        self.children = children
        self.running: dict[int, tuple[str, float]] = {}  # pid -> (name, monotonic start)
        self.due: dict[str, tuple[float, str]] = {}  # name -> (monotonic restart time, what happened)
        self.young_deaths: dict[str, int] = {}  # name -> deaths in a row, each younger than YOUNG
        self.signalled: int | None = None
        self._wake, self._woken = socket.socketpair()

    def run(self, set_up: Callable[[], int]) -> int:
        """Run ``set_up`` in a child, then every child until a stop signal: 0, or 1 if ``set_up`` failed."""
        for end in (self._wake, self._woken):
            end.setblocking(False)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        previous[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, lambda *_: None)  # a Python handler wakes _wait
        wakeup_fd = signal.set_wakeup_fd(self._wake.fileno())
        try:
            code = self._set_up(set_up)
            if code is None:  # stopped meanwhile
                return 0
            if code != 0:
                return 1
            self._supervise()
            return 0
        finally:
            signal.set_wakeup_fd(wakeup_fd)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._wake.close()
            self._woken.close()

    def _set_up(self, body: Callable[[], int]) -> int | None:
        """``body``'s exit code, or None when a stop signal came first (the child is stopped)."""
        self.running[self._fork(body)] = ("set-up", time.monotonic())
        while self.signalled is None:
            ended = self._reap()
            if ended:
                return ended[0][3]
            self._wait(1.0)
        self._stop()
        return None

    def _supervise(self) -> None:
        for name in self.children:
            self._start(name)
        print(PREFIX, f"supervisor {os.getpid()}: {', '.join(self.children)} started", file=sys.stderr, flush=True)
        while self.signalled is None:
            next_due = min((when for when, _ in self.due.values()), default=math.inf)
            self._wait(min(next_due - time.monotonic(), 60.0))
            for pid, name, started, code in self._reap():
                self._schedule(name, pid, started, code)
            self._restart_due()
        self._stop()

    def _on_signal(self, sig: int, _: object) -> None:
        if self.signalled is None:
            self.signalled = sig

    def _wait(self, timeout: float) -> None:
        """Until a signal arrives (SIGCHLD too: the wake-up fd) or ``timeout`` seconds pass."""
        select.select([self._woken], [], [], max(timeout, 0.0))
        try:
            while self._woken.recv(256):
                pass
        except BlockingIOError:
            pass

    def _reap(self) -> list[tuple[int, str, float, int]]:
        """The children that ended: (pid, name, start, exit code; -N for signal N)."""
        ended = []
        for pid, (name, started) in list(self.running.items()):
            try:
                done, code = os.waitpid(pid, os.WNOHANG)
                code = os.waitstatus_to_exitcode(code) if done else 0
            except ChildProcessError:  # reaped by someone else: gone, exit code unknown
                done, code = pid, 1
            if done:
                del self.running[pid]
                ended.append((pid, name, started, code))
        return ended

    def _schedule(self, name: str, pid: int, started: float, code: int) -> None:
        young = time.monotonic() - started < YOUNG
        deaths = self.young_deaths[name] = self.young_deaths.get(name, 0) + 1 if young else 0
        pause = min(FIRST_PAUSE * 2 ** (deaths - 1), LONGEST_PAUSE) if deaths else 0.0
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with {code}"
        self.due[name] = (time.monotonic() + pause, f"{name} (pid {pid}) {how}")

    def _restart_due(self) -> None:
        for name, (when, what) in list(self.due.items()):
            if when <= time.monotonic():
                del self.due[name]
                print(PREFIX, f"{what}; restarted as pid {self._start(name)}", file=sys.stderr, flush=True)

    def _start(self, name: str) -> int:
        pid = self._fork(self.children[name])
        self.running[pid] = (name, time.monotonic())
        return pid

    def _stop(self) -> None:
        """Forward the stop signal and wait for every child; SIGKILL the ones left after STOP_GRACE."""
        self.due.clear()
        self._signal_all(self.signalled or signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while self.running:
            if time.monotonic() >= deadline:
                print(PREFIX, f"pids {sorted(self.running)} still running after {STOP_GRACE:.0f} s: killed",
                      file=sys.stderr, flush=True)
                self._signal_all(signal.SIGKILL)
                deadline = math.inf
            self._wait(min(deadline - time.monotonic(), 1.0))
            self._reap()

    def _signal_all(self, sig: int) -> None:
        for pid in self.running:  # not reaped yet, so the pid is still theirs
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def _fork(self, body: Callable[[], int]) -> int:
        """Fork a child running ``body``; signals wait until it has put back the default handlers."""
        sys.stdout.flush()
        sys.stderr.flush()
        supervisor = os.getpid()
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS | {signal.SIGCHLD})
        try:
            pid = os.fork()
            if pid == 0:
                _stop_with(supervisor)
                self._become_child(body)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        return pid

    def _become_child(self, body: Callable[[], int]) -> NoReturn:
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            self._wake.close()
            self._woken.close()
            for sig in (*STOP_SIGNALS, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS | {signal.SIGCHLD})
            code = body()
        except BaseException:
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)  # never back into the supervisor's code


def _stop_with(supervisor: int) -> None:
    """Ask Linux for SIGTERM when the supervisor dies (even by SIGKILL): no orphaned workers."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return  # not Linux: a supervisor killed by SIGKILL leaves its workers serving
    if os.getppid() != supervisor:  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)
