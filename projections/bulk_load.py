"""A rebuild's bulk load: what makes replaying the whole log cheaper than catching up with it.

- Transactions of many batches (``HandshakeView.rebuild``'s ``commit_every``).
- SQLite: the load writes through a connection of its own, closed after it, with a page cache of
  ``CACHE_KIB`` (128 MiB instead of SQLite's 2 MB), so that random handshake ids don't evict the
  primary keys' pages between inserts, and the indexes built at the swap sort in memory.
  PostgreSQL: its commits don't wait for the WAL flush, index builds get ``SORT_MEMORY``.
- Python: full GC collections are rarer while it runs (``fewer_full_collections``), and event
  states that are plain JSON are decoded with orjson (``decode``); events that make no rows
  give only their instant (``time_only``).

Memory, beyond the held rows (``HeldRows``, 300,000 by default: about 1 KB each): one batch of
row changes and the page cache.
"""

from __future__ import annotations

import gc
import sqlite3
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Iterator

import orjson
from eventsourcing.persistence import JSONTranscoder, Notification, find_id_convertor
from eventsourcing import persistence
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore
from eventsourcing.utils import resolve_topic

from ledger.domain.instants import to_us
from projections.view_tables import makes_rows

CACHE_KIB = 128 * 1024  # the SQLite page cache of the load's connection (KiB; SQLite's default: 2000)
SORT_THREADS = 1  # helper threads of SQLite's sorter when it builds the indexes (0: none, its default)
SORT_MEMORY = "256MB"  # PostgreSQL's maintenance_work_mem while the load's transactions build indexes
FULL_COLLECTIONS_AFTER = 1000  # the load's third GC threshold (Python's default: 10)


@contextmanager
def fewer_full_collections() -> Iterator[None]:
    """Python's cyclic GC, for the load's duration, walks the whole heap (the held rows among it)
    after ``FULL_COLLECTIONS_AFTER`` young collections instead of 10: a third of a rebuild's time
    went there. Young objects are still collected as often; the thresholds are restored after."""
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], max(thresholds[2], FULL_COLLECTIONS_AFTER))
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


@contextmanager
def bulk_transactions(datastore: Any, transaction: Callable[..., Any]) -> Iterator[Callable[[], Any]]:
    """A factory of write transactions for a bulk load: on an SQLite file a connection of the
    load's own (synchronous=NORMAL, a ``CACHE_KIB`` page cache), closed afterwards; on PostgreSQL
    ``transaction`` with ``synchronous_commit`` off and ``maintenance_work_mem`` of ``SORT_MEMORY``
    (index builds) for each; else ``transaction``."""
    if not isinstance(datastore, SQLiteDatastore):
        yield lambda: _unsynchronised(transaction)
        return
    if datastore.pool.is_sqlite_memory_mode:
        yield transaction
        return
    raw = sqlite3.connect(datastore.pool.db_name, uri=True, check_same_thread=False, isolation_level=None,
                          timeout=datastore.pool.lock_timeout or 5.0)
    raw.row_factory = sqlite3.Row
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    raw.execute(f"PRAGMA threads={SORT_THREADS}")
    try:
        yield lambda: _immediate(raw)
    finally:
        raw.close()


@contextmanager
def _immediate(raw: sqlite3.Connection) -> Iterator[SQLiteCursor]:
    """A write transaction that takes SQLite's write lock when it begins (BEGIN IMMEDIATE), waiting
    for it as long as the busy timeout allows: a transaction begun as a reader could not take it
    later if another process (a server's catch-up) wrote meanwhile ("database is locked" at once).
    Errors as eventsourcing's persistence errors, as its own transactions raise them."""
    try:
        raw.execute("BEGIN IMMEDIATE")
        cursor = SQLiteCursor(raw.cursor())
        try:
            yield cursor
        except BaseException:
            raw.rollback()
            raise
        raw.commit()
    except sqlite3.Error as error:
        raise persistence_error(error) from error


def persistence_error(error: sqlite3.Error) -> Exception:
    """An sqlite3 error as eventsourcing's own transactions raise it (``OperationalError``, ...)."""
    return getattr(persistence, type(error).__name__, persistence.PersistenceError)(error)


@contextmanager
def _unsynchronised(transaction: Callable[..., Any]) -> Iterator[Any]:
    """A PostgreSQL transaction of the rebuild: its commit doesn't wait for the WAL's flush. A
    crash of the server may lose the last ones (the swap too), never part of one: the old view
    then stays, and the shadow tables are dropped by the next rebuild."""
    with transaction() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(f"SET LOCAL maintenance_work_mem TO '{SORT_MEMORY}'")
        yield cursor

_PLAIN: dict[tuple[int, str], tuple[type, bool] | None] = {}  # (mapper, topic) -> (class, makes rows?)


def _plain(mapper: Any, topic: str) -> tuple[type, bool] | None:
    """The event class of ``topic`` and whether it makes rows, if its stored state is plain JSON
    that ``decode`` reads as eventsourcing's mapper would (no cipher, no compressor, eventsourcing's
    JSON transcoder, no upcasting); else None."""
    key = (id(mapper), topic)
    if key not in _PLAIN:
        cls = resolve_topic(topic)
        plain = (mapper.cipher is None and mapper.compressor is None and isinstance(mapper.transcoder, JSONTranscoder)
                 and getattr(cls, "class_version", 1) == 1)
        _PLAIN[key] = (cls, makes_rows(cls)) if plain else None
    return _PLAIN[key]


def time_only(mapper: Any, notification: Notification) -> int | None:
    """The instant (µs) of a stored event that makes no rows, from its state's ``timestamp`` alone,
    without decoding the event; None if the event makes rows or isn't plain (``_plain``)."""
    plain = _plain(mapper, notification.topic)
    if plain is None or plain[1]:
        return None
    stamp = orjson.loads(notification.state).get("timestamp")
    if type(stamp) is not dict or stamp.get("_type_") != "datetime_iso" or len(stamp) != 2:
        return None
    return to_us(datetime.fromisoformat(stamp["_data_"]))


def decode(mapper: Any, notification: Notification) -> Any:
    """``mapper.to_domain_event(notification)``, with orjson in place of the json module where
    the state is plain (``_plain``): the same event, about twice as fast. Anything orjson refuses
    (integers beyond 64 bits, NaN) goes through the mapper."""
    plain = _plain(mapper, notification.topic)
    if plain is None:
        return mapper.to_domain_event(notification)
    stored = notification.state
    try:
        state = orjson.loads(stored)
    except orjson.JSONDecodeError:
        return mapper.to_domain_event(notification)
    names, revived = mapper.transcoder.names, 0
    for name, value in state.items():  # the usual case: transcoded values (instants) at the top only
        if type(value) is dict and len(value) == 2 and "_type_" in value and "_data_" in value \
                and type(value["_data_"]) is str:
            state[name] = names[value["_type_"]].decode(value["_data_"])
            revived += 1
    if not isinstance(stored, bytes) or stored.count(b'"_type_"') > revived:  # some inside lists or objects (a string holds it as \"_type_\")
        for name, value in state.items():
            if type(value) is dict or type(value) is list:
                state[name] = _revive(value, names)
    cls = plain[0]
    id_type: Any = type(notification.originator_id)
    state["originator_id"] = find_id_convertor(cls, id_type)(notification.originator_id)
    state["originator_version"] = notification.originator_version
    state.pop("class_version", None)
    event: Any = object.__new__(cls)
    object.__setattr__(event, "__dict__", state)
    return event


def _revive(value: Any, names: dict[str, Any]) -> Any:
    """The transcoded objects in decoded JSON, inner ones first (as the json module's object hook)."""
    if type(value) is list:
        return [_revive(item, names) if type(item) is dict or type(item) is list else item for item in value]
    for name, item in value.items():
        if type(item) is dict or type(item) is list:
            value[name] = _revive(item, names)
    if len(value) == 2 and "_type_" in value and "_data_" in value:
        return names[value["_type_"]].decode(value["_data_"])
    return value
