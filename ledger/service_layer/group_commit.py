"""Running commands: each a unit of work, their transactions shared by commands that arrive together.

Commands take turns for their work (load, check, change: one thread of the process at a time),
then wait for a transaction. Whoever finds no transaction under way leads: it commits every command
done meanwhile in one transaction (one fsync on SQLite, one round trip on PostgreSQL) and wakes them
all; each answers only once its events are durable (group commit). A command's work sees
what the commands before it did even before they are durable (the cache holds their aggregates), so
a group always commits in the order its work was done.

Processes sharing the data take turns too (``writers_lock``: a file lock on SQLite, an advisory
lock on PostgreSQL): a process holds its turn from its first command's work until everything it did
is durable, so no process ever works on what another has done but not yet committed (concurrent
commands see each other's results, not version conflicts). A process that has held its turn for
``TURN`` seconds admits no new work until what it queued is durable, and then gives the turn up.

- A refused command (an AWS error) records nothing in any aggregate; its audit record joins the
  group, and it answers once what it was judged against is durable.
- A group whose transaction fails (a version conflict with another writer, the store failing) takes
  with it every command done after it, whose work stood on it: the cache forgets what they touched,
  and each runs again, committed one transaction per command. A second failure answers
  ConcurrentModificationException (the optimistic-concurrency guard of eventsourcing stays the last
  word: an insert of a version already taken fails).
- A command that fails after changing an aggregate in memory (a bug, or a store error while
  loading) is treated as a failed group: what it changed must not reach anyone.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from eventsourcing.persistence import ApplicationRecorder, EventStore, IntegrityError

from ledger.domain import errors
from ledger.service_layer.audit import ApiCall, AuditLog, CallAudit, service_events
from ledger.domain.organization import Organization
from ledger.service_layer.unit_of_work import CommandRepository, UnitOfWork

T = TypeVar("T")
TURN = 0.005  # seconds a process keeps admitting new work in its turn before it hands the turn over


@dataclass
class Done:
    """A command done in memory, waiting for its transaction."""

    unit: UnitOfWork
    alone: bool  # a second attempt: committed in a transaction of its own
    events: list[Any] = field(default_factory=list)
    calls: list[ApiCall] = field(default_factory=list)
    result: Any = None
    error: errors.OrganizationsError | None = None
    durable: bool = False
    failed: bool = False


class CommandRunner:
    """Runs the application's commands (``run``) and commits them: the application holds one.

    ``events``: the application's event store (a group's events and audit records go in with one
    ``put``); ``recorder``: its recorder (the log's head); ``repository``: the command repository
    whose units of work it opens; ``audit_log``: where a refusal's record goes alone;
    ``writers_lock``: the turn among processes (``__enter__``/``__exit__``; a thread lock when
    this process is the only writer).
    """

    def __init__(self, events: EventStore[str], recorder: ApplicationRecorder, repository: CommandRepository,
                 audit_log: AuditLog, writers_lock: Any = None) -> None:
        self.events = events
        self.recorder = recorder
        self.repository = repository
        self.audit_log = audit_log
        # Acquired (``__enter__``) by a thread doing work, released (``__exit__``) by whichever thread
        # finds the process with nothing left to commit: not a reentrant lock.
        self._writers_lock = writers_lock or threading.Lock()
        self._work_turn = threading.Lock()  # one thread of this process works at a time
        guard = threading.Lock()  # of what follows
        self._group = threading.Condition(guard)  # notified when a group is durable
        self._admitted = threading.Condition(guard)  # notified when new work may start again
        self._queue: list[Done] = []
        self._committing = False
        self._working = 0  # threads doing work now
        self._turn_held = False  # this process holds its turn among the processes
        self._handing_over = False  # no new work until what is queued is durable and the turn is given up
        self._turn_began = 0.0  # when this process took its turn (time.monotonic)
        # The log's head when this process took its turn (None: to be read, and what other processes
        # wrote meanwhile learnt). In its turn only its own commits move the log, so later works take
        # the head from them instead of a query.
        self._turn_head: int | None = None
        # What the views must reach for this process's callers to read what they were answered
        # (``answered_head``): the last position its commits made durable, and the last head its
        # commands were judged at (a command that records nothing may rest on another's events).
        self.durable_head = 0  # written by the one committing thread
        self.judged_head = 0  # written by the one working thread

    def run(self, work: Callable[[], T], audit: CallAudit[T] | None = None) -> T:
        """Run ``work`` (load, check, change; its ``save`` calls are collected) as one command and
        answer once it is durable, with its audit record (``audit.accepted(result)``, or
        ``audit.refused(error)``) and the membership service events beside its events.
        Raises the AWS error that refused it; RuntimeError for a command run inside another."""
        if self.repository.unit() is not None:
            raise RuntimeError("a command can't run inside another command (it would wait for its own turn)")
        for attempt in (1, 2):
            done = self._work(work, audit, alone=attempt == 2)
            if done is None:
                continue
            self._until_durable(done)
            if not done.failed:
                if done.error is not None:
                    raise done.error
                return done.result
        error = errors.ConcurrentModificationException()
        if audit is not None:
            self.audit_log.append_calls([audit.refused(error)])
        raise error

    @property
    def answered_head(self) -> int:
        """The log position that the answers this process has given so far rest on."""
        return max(self.durable_head, self.judged_head)

    def collect(self, *objs: Any) -> bool:
        """Inside a command: ``objs`` join its unit of work, saved when it is done (True).
        Elsewhere: False, and the caller saves them now (``log_moved`` once it has)."""
        unit = self.repository.unit()
        if unit is None:
            return False
        unit.collect(*objs)
        return True

    def log_moved(self) -> None:
        """Something was saved outside the turns: the next work reads the log's head again."""
        self._turn_head = None

    def close(self) -> None:
        getattr(self._writers_lock, "close", lambda: None)()

    # -- the work, in turns ------------------------------------------------------------------

    def _work(self, work: Callable[[], Any], audit: CallAudit[Any] | None, *, alone: bool) -> Done | None:
        """Do the work in this process's and this thread's turn, and queue it; None when it must run again."""
        with self._work_turn:
            self._take_turn()
            try:
                return self._do(work, audit, alone=alone)
            finally:
                with self._group:
                    self._working -= 1
                    self._give_up_turn_if_idle()

    def _take_turn(self) -> None:
        with self._group:
            while self._handing_over:
                self._admitted.wait()
            self._working += 1
            if self._turn_held:
                return
        try:
            self._writers_lock.__enter__()
        except BaseException:
            with self._group:
                self._working -= 1
            raise
        with self._group:
            self._turn_held = True
            self._turn_began = time.monotonic()
            self._turn_head = None  # the first work learns what other processes wrote meanwhile

    def _give_up_turn_if_idle(self) -> None:
        """(Holding ``_group``.) Hand the turn to the other processes once nothing of ours is pending."""
        if self._turn_held and not self._queue and not self._working and not self._committing:
            self._writers_lock.__exit__(None, None, None)
            self._turn_held = False
            if self._handing_over:
                self._handing_over = False
                self._admitted.notify_all()

    def _do(self, work: Callable[[], Any], audit: CallAudit[Any] | None, *, alone: bool) -> Done | None:
        if self._turn_head is None:
            self._turn_head = head = self.recorder.max_notification_id() or 0
            self.repository.learn(head, self.recorder.select_notifications)
        else:
            head = max(self._turn_head, self.durable_head)
        unit = UnitOfWork(head, self.repository.generation)
        self.judged_head = max(self.judged_head, unit.head)
        done = Done(unit, alone)
        token = self.repository.begin(unit)
        try:
            done.result = work()
            record = [audit.accepted(done.result)] if audit else []  # its answer read in the unit too
        except errors.OrganizationsError as refused:
            done.error = refused
        except IntegrityError:  # read skew found by the work itself: run it again
            self._turn_head = None  # someone wrote out of turn: read the head again
            self._forget_if_changed(unit)
            return None
        except BaseException:
            self._forget_if_changed(unit)
            raise
        finally:
            self.repository.end(token)
        if done.error is not None:
            if self._forget_if_changed(unit):
                return None  # refused after a change in memory (a guard too late): judged again
            done.calls = [audit.refused(done.error)] if audit else []
        else:
            aggregates = list(unit.aggregates.values())
            done.events = [event for aggregate in aggregates for event in aggregate.collect_events()]
            management_of = {a.id: a.management_account_id for a in aggregates if isinstance(a, Organization)}
            request_id = next((e.request_id for e in done.events), None)
            done.calls = record + service_events(
                done.events, management_of, request_id)
        with self._group:
            self._queue.append(done)
        return done

    def _forget_if_changed(self, unit: UnitOfWork) -> bool:
        """If the failed work changed anything in memory, nothing in memory is trusted again."""
        touched = [*unit.loaded.values(), *unit.aggregates.values()]
        if any(aggregate.pending_events for aggregate in touched):
            self.repository.forget_everything()
            return True
        return False

    # -- the transactions, led by whoever finds none under way ---------------------------------------

    def _until_durable(self, done: Done) -> None:
        with self._group:
            while not done.durable:
                if self._committing:
                    self._group.wait()
                    continue
                batch, self._queue = self._queue, []
                self._committing = True
                self._group.release()
                try:
                    self._commit(batch)
                finally:
                    self._group.acquire()
                    self._committing = False
                    for entry in batch:
                        entry.durable = True
                    if self._queue and time.monotonic() - self._turn_began > TURN:
                        self._handing_over = True  # the turn is long enough: what is queued, then the others
                    self._give_up_turn_if_idle()
                    self._group.notify_all()

    def _commit(self, batch: list[Done]) -> None:
        """Commit ``batch`` in the order its work was done: one transaction, or one per command
        when a second attempt is among them. Work done on a past generation fails (runs again)."""
        for entry in batch:
            entry.failed = entry.unit.generation != self.repository.generation
        live = [entry for entry in batch if not entry.failed]
        groups = [[entry] for entry in live] if any(entry.alone for entry in live) else [live] if live else []
        for n, group in enumerate(groups):
            try:
                recordings = self.events.put([e for d in group for e in d.events],
                                             audit=[c for d in group for c in d.calls])
            except Exception:  # noqa: BLE001 - any failure: this group and all done on top of it run again
                self.repository.forget_everything()
                self._turn_head = None
                for entry in (entry for rest in groups[n:] for entry in rest):
                    entry.failed = True
                return
            self._keep(group, recordings)

    def _keep(self, group: list[Done], recordings: list[Any]) -> None:
        """What a group saved is current at its last position (a concurrent change would have
        conflicted); if nobody else wrote since its first command began, what it read is too."""
        if not recordings:
            return
        head = recordings[-1].notification.id
        self.durable_head = max(self.durable_head, head)
        self.repository.wrote(recordings[0].notification.id, head)
        nobody_else = recordings[0].notification.id == group[0].unit.head + 1
        for done in group:
            kept = list(done.unit.aggregates.values())
            if nobody_else:
                kept += [a for a in done.unit.loaded.values() if a.id not in done.unit.aggregates]
            self.repository.keep(done.unit.generation, head, *kept)
