"""One command's unit of work, and the repository that loads its aggregates cheaply.

A command loads aggregates, checks, changes them and saves once (``LedgerService.execute``).
Measured on SQLite, loading cost more than the fsync'd commit: eventsourcing's cache
deep-copies every aggregate it hands out (so that a refused command can't corrupt it) and asks the
store for newer events on every load, cache hit or not. Here instead:

- Within a command an aggregate is loaded once, and the same object is handed out again (an
  identity map) and changed in place; the cache holds it. A command that fails for any reason (an
  AWS error, a version conflict, the store failing) evicts everything it loaded, so nothing it
  changed in memory outlives it.
- Each cached aggregate remembers the log head at which it was known current. A command reads the
  head once (one indexed query); an aggregate known current at that head is used as it is, and so
  is one known current at an earlier head when every event since was this process's own (its
  changes to the aggregate would be in the cache), or another process's that did not touch it
  (a process taking its turn reads which aggregates the others changed meanwhile: one query); any
  other is fast-forwarded with the events recorded since (what eventsourcing does on every load).
  After a commit, what the command saved is current at the new head.
- Outside a command (tests, tools), ``get`` replays from the store: never an object a command
  may be changing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextvars import ContextVar, Token
from typing import Any, Callable, Sequence

from eventsourcing.application import Repository
from eventsourcing.persistence import EventStore, Notification


def fold(aggregate: Any, events: Any) -> Any:
    """Replay events onto an aggregate: eventsourcing's projector without its per-event
    runtime-Protocol isinstance check, which costs a third of a read."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class UnitOfWork:
    """What one command loaded and changed (saved together, one transaction, when it is done).
    ``head``: the log's head when the command began, under the writers' turn; ``generation``: the
    cache's generation then (``CommandRepository``)."""

    def __init__(self, head: int, generation: int) -> None:
        self.head = head
        self.generation = generation
        self.loaded: dict[str, Any] = {}
        self.aggregates: dict[str, Any] = {}

    def collect(self, *aggregates: Any) -> None:
        for aggregate in aggregates:
            if aggregate is not None:
                self.aggregates[aggregate.id] = aggregate


LEARN_AT_MOST = 2_000  # positions of the log a process reads to keep its cache current


class CommandRepository(Repository[str]):
    """eventsourcing's repository with a command's identity map and a cache of its own (LRU):
    aggregate id -> (aggregate, the log head at which it was known current, generation).

    ``generation`` moves on whenever what is in memory may hold changes that will never be
    durable (``ledger/service_layer/group_commit.py``): entries of an older generation are never used again.
    """

    maxsize = 20_000

    def __init__(self, event_store: EventStore[str], *, snapshot_store: EventStore[str] | None = None) -> None:
        super().__init__(event_store, snapshot_store=snapshot_store)  # eventsourcing's own cache: off
        # The command this thread is running on this repository (another ledger's is not ours).
        self._unit: ContextVar[UnitOfWork | None] = ContextVar(f"unit-{id(self)}", default=None)
        self._cached: OrderedDict[str, tuple[Any, int, int]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.generation = 0
        # (low, high): the cache holds every change recorded at positions low+1 to high of the log
        # to the aggregates it holds as current at or after low.
        self._known = (0, 0)

    def begin(self, unit: UnitOfWork) -> Token[UnitOfWork | None]:
        """``unit`` is this thread's command until ``end``: ``get`` hands out what it loaded."""
        return self._unit.set(unit)

    def end(self, token: Token[UnitOfWork | None]) -> None:
        self._unit.reset(token)

    def unit(self) -> UnitOfWork | None:
        """The unit of work of the command this thread is running, if any."""
        return self._unit.get()

    def wrote(self, first: int, last: int) -> None:
        """This process's commit recorded positions ``first`` to ``last`` of the log."""
        with self._cache_lock:
            low, high = self._known
            self._known = (low, last) if first == high + 1 else (first - 1, last)

    def learn(self, head: int, select_notifications: Callable[..., Sequence[Notification]]) -> None:
        """Whenever a process reads the log's head anew (its turn's first command, or after a write
        out of turn): the aggregates changed up to ``head`` by anyone but its recorded commits are
        marked to be fast-forwarded (one of its own still in flight is too: harmless); the rest of
        the cache stays current. A long stretch (a process idle for long) is not read: everything is
        then fast-forwarded."""
        low, high = self._known
        if head <= high:
            return
        if head - high > LEARN_AT_MOST or not self._cached:
            with self._cache_lock:
                self._known = (head, head)
            return
        changed = {str(n.originator_id) for n in select_notifications(
            start=high, limit=head - high, stop=head, inclusive_of_start=False)}
        with self._cache_lock:
            for aggregate_id in changed & self._cached.keys():
                aggregate, _, generation = self._cached[aggregate_id]
                self._cached[aggregate_id] = (aggregate, -1, generation)  # never current: fast-forwarded
            self._known = (low, head) if self._known == (low, high) else (head, head)

    def forget_everything(self) -> None:
        """Nothing cached now is used again (a new generation)."""
        with self._cache_lock:
            self.generation += 1
            self._cached.clear()

    def get(self, aggregate_id: str, *, version: int | None = None, projector_func: Any = fold,
            **_: Any) -> Any:
        if version is not None:
            return super().get(aggregate_id, version=version, projector_func=projector_func)
        unit = self._unit.get()
        if unit is None:  # outside a command: from the store, never what a command is changing
            return self._reconstruct_aggregate(aggregate_id, None, fold)
        if aggregate_id in unit.loaded:
            return unit.loaded[aggregate_id]
        with self._cache_lock:
            cached, current_at, generation = self._cached.get(aggregate_id, (None, -1, -1))
            low, high = self._known
        if cached is None or generation != unit.generation:
            aggregate = self._reconstruct_aggregate(aggregate_id, None, fold)
        elif current_at == unit.head or low <= current_at <= unit.head <= high:  # every change since is here
            aggregate = cached
        else:
            aggregate = fold(cached, self.event_store.get(aggregate_id, gt=cached.version))
        unit.loaded[aggregate_id] = aggregate
        self.keep(unit.generation, unit.head, aggregate)
        return aggregate

    def keep(self, generation: int, current_at: int, *aggregates: Any) -> None:
        """Cache ``aggregates``, known current at log head ``current_at`` (unless ``generation`` is past)."""
        with self._cache_lock:
            if generation != self.generation:
                return
            for aggregate in aggregates:
                self._cached[aggregate.id] = (aggregate, current_at, generation)
                self._cached.move_to_end(aggregate.id)
            while len(self._cached) > self.maxsize:
                self._cached.popitem(last=False)
