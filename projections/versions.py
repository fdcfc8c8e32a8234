"""Versioned rows: system-versioned tables (SQL:2011's ``FOR SYSTEM_TIME``) kept by a projection.

Every row version holds the log positions between which it was current: ``valid_from``, the
event that made it, and ``valid_to``, the event that replaced it (NULL while it is current).
So the live view is the versions with ``valid_to IS NULL`` and the view as of position P is the
versions with ``valid_from <= P < valid_to``: time travel is an index lookup, not a replay.

A batch of events becomes a list of operations on rows, gathered before the write transaction
(decoding is the slow part). Inside it, ``VersionedBatch.write`` loads the current versions of
the rows the batch changes, replays the operations in memory, and writes with a few
``executemany``: in-place updates of bookkeeping columns, then the closing of replaced
versions, then the new versions.

A replay (the rebuild) passes ``HeldRows``: the current versions stay in memory between batches
and each version is written once, when it is replaced or the replay ends, so loading a row,
closing it with an UPDATE and the insert of a version soon replaced are avoided. The rows
written are the same as catch-up writes (tests/integration/test_replay.py).
"""

from __future__ import annotations

import itertools
from collections import Counter
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

Row = dict[str, Any]
Change = Callable[[Row], "tuple[Row, bool]"]  # current row -> (changed columns, is a new version?)
Sql = Callable[[str], str]  # adds the table prefix and the store's placeholders
LOAD_CHUNK = 500  # keys per SELECT when loading current versions


@dataclass(frozen=True)
class VersionedTable:
    """A versioned table: its name (without prefix), key column and every column in order."""

    name: str
    key: str
    columns: tuple[str, ...]  # begins with key, valid_from, valid_to

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", operator.itemgetter(*self.columns))  # a row's values, in column order

    values: Callable[[Row], tuple[Any, ...]] = field(init=False, repr=False, compare=False)

    def insert_sql(self) -> str:
        return f"INSERT INTO {{p}}{self.name} ({', '.join(self.columns)}) VALUES ({', '.join('?' * len(self.columns))})"


class HeldRows:
    """The current versions a replay keeps in memory instead of in the tables (per table, by key).

    ``limit``: how many rows at most stay held after a batch; the least recently changed are
    written (as current versions) beyond it, and later changes to them load them again.
    """

    def __init__(self, limit: int = 300_000):
        self.limit = limit
        self.rows: dict[str, dict[str, Row]] = {}
        self.release_all = False  # set to write every held row with the next batch
        self.totals: Counter[Any] = Counter()  # additive counters summed across batches, written at release

    def count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())


@dataclass
class _Pending:
    table: VersionedTable
    ops: list[tuple[int, str, Row | None, Change | None]] = field(default_factory=list)


class VersionedBatch:
    """The row operations of a batch of events, for one or more versioned tables."""

    def __init__(self, tables: Sequence[VersionedTable], held: HeldRows | None = None):
        self._pending = {table.name: _Pending(table) for table in tables}
        self.held = held

    def insert(self, table: str, position: int, row: Row) -> None:
        """A new row (its first version), made by the event at ``position``."""
        self._pending[table].ops.append((position, row[self._pending[table].table.key], row, None))

    def change(self, table: str, position: int, key: str, change: Change) -> None:
        """``change(current)`` gives the changed columns and whether they make a new version
        (an answer changed) or are bookkeeping, updated in place."""
        self._pending[table].ops.append((position, key, None, change))

    def inserted(self, table: str, *, before: int, where: Callable[[Row], bool]) -> list[str]:
        """Keys of the rows this batch inserts before ``position`` that match ``where``."""
        return [key for position, key, row, _ in self._pending[table].ops
                if row is not None and position < before and where(row)]

    def write(self, cursor: Any, sql: Sql) -> None:
        held = self.held
        for pending in self._pending.values():
            if pending.ops:
                pending.ops.sort(key=lambda op: op[0])  # stable: changes added late go to their position
            if held is not None:
                _write_held(cursor, sql, pending.table, pending.ops, held)
            elif pending.ops:
                _write_table(cursor, sql, pending.table, pending.ops)
        if held is not None:
            _release(cursor, sql, [p.table for p in self._pending.values()], held)

    def release_held(self, cursor: Any, sql: Sql) -> None:
        """Write every row the replay holds (before a query of the tables needs them there)."""
        if self.held is not None:
            self.held.release_all = True
            _release(cursor, sql, [p.table for p in self._pending.values()], self.held)


def _write_table(cursor: Any, sql: Sql, table: VersionedTable,
                 ops: list[tuple[int, str, Row | None, Change | None]]) -> None:
    inserted = {key for _, key, row, _ in ops if row is not None}
    current: dict[str, Row] = _load_current(cursor, sql, table, {key for _, key, row, _ in ops if key not in inserted})
    stored = set(current)  # keys whose current version is a row in the table
    new: list[Row] = []
    closed: list[tuple[int, str]] = []
    in_place: list[tuple[tuple[str, ...], list[Any]]] = []
    for position, key, row, change in ops:
        if row is not None:
            version = {**row, "valid_from": position, "valid_to": None}
        else:
            old = current.get(key)
            if old is None:
                continue  # a change to a row this view never had (events older than the view's tables)
            columns, versioned = change(old)  # type: ignore[misc]
            if not versioned:
                old.update(columns)
                if key in stored:
                    in_place.append((tuple(columns), [*columns.values(), key]))
                continue
            if key in stored:
                closed.append((position, key))
                stored.discard(key)
            else:
                old["valid_to"] = position
            version = {**old, **columns, "valid_from": position, "valid_to": None}
        current[key] = version
        new.append(version)
    _update_current(cursor, sql, table, in_place, closed)
    if new:
        cursor.executemany(sql(table.insert_sql()), list(map(table.values, new)))


def _write_held(cursor: Any, sql: Sql, table: VersionedTable,
                ops: list[tuple[int, str, Row | None, Change | None]], held: HeldRows) -> None:
    """``_write_table`` for a replay: versions replaced are written, current ones stay held."""
    current = held.rows.setdefault(table.name, {})
    needed = {key for _, key, row, _ in ops if row is None and key not in current}
    stored = _load_current(cursor, sql, table, needed) if needed else {}
    finished: list[Row] = []
    in_place: list[tuple[tuple[str, ...], list[Any]]] = []
    closed: list[tuple[int, str]] = []
    for position, key, row, change in ops:
        if row is not None:
            version = {**row, "valid_from": position, "valid_to": None}
        else:
            old = current.get(key)
            if old is None:
                old = stored.pop(key, None)
                if old is None:
                    continue  # a change to a row this view never had
                columns, versioned = change(old)  # type: ignore[misc]
                if not versioned:
                    old.update(columns)
                    in_place.append((tuple(columns), [*columns.values(), key]))
                    stored[key] = old  # still the stored row
                    continue
                closed.append((position, key))
            else:
                columns, versioned = change(old)  # type: ignore[misc]
                if not versioned:
                    old.update(columns)
                    continue
                old["valid_to"] = position
                finished.append(old)
                del current[key]  # re-added last: the held rows stay in order of their last change
            version = {**old, **columns, "valid_from": position, "valid_to": None}
        current[key] = version
    _update_current(cursor, sql, table, in_place, closed)
    if finished:  # in key order: neighbours in the primary key's pages
        finished.sort(key=lambda version: (version[table.key], version["valid_from"]))
        insert_rows(cursor, sql, table.name, table.columns, list(map(table.values, finished)))


def _release(cursor: Any, sql: Sql, tables: Sequence[VersionedTable], held: HeldRows) -> None:
    """Write the held rows beyond the limit (all of them after ``release_all``), least recently changed first."""
    excess = held.count() - (0 if held.release_all else held.limit)
    held.release_all = False
    for table in tables:
        current = held.rows.get(table.name, {})
        if excess <= 0 or not current:
            continue
        keys = list(itertools.islice(current, min(excess, len(current))))
        insert_rows(cursor, sql, table.name, table.columns, [table.values(current[k]) for k in sorted(keys)])
        for key in keys:
            del current[key]
        excess -= len(keys)


def insert_rows(cursor: Any, sql: Sql, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                bulk: bool = True) -> None:
    """Insert many rows into ``{p}table``: in ``bulk``, PostgreSQL's COPY (one stream, no statement
    per row) where the cursor has it (psycopg); else one prepared ``executemany``."""
    if not rows:
        return
    names = ", ".join(columns)
    if bulk and hasattr(cursor, "copy"):
        with cursor.copy(sql(f"COPY {{p}}{table} ({names}) FROM STDIN")) as copy:
            for row in rows:
                copy.write_row(row)
    else:
        cursor.executemany(sql(f"INSERT INTO {{p}}{table} ({names}) VALUES ({', '.join('?' * len(columns))})"), rows)


def _load_current(cursor: Any, sql: Sql, table: VersionedTable, keys: set[str]) -> dict[str, Row]:
    found: dict[str, Row] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), LOAD_CHUNK):
        chunk = ordered[start:start + LOAD_CHUNK]
        cursor.execute(sql(f"SELECT {', '.join(table.columns)} FROM {{p}}{table.name} "
                           f"WHERE {table.key} IN ({', '.join('?' * len(chunk))}) AND valid_to IS NULL"), chunk)
        for values in cursor.fetchall():
            row = dict(zip(table.columns, values.values() if isinstance(values, dict) else values))
            found[row[table.key]] = row
    return found


def valid_at(position: int | None, alias: str = "") -> tuple[str, list[Any]]:
    """The SQL condition (and its parameters) for the versions current at ``position`` (None: now)."""
    if position is None:
        return f"{alias}valid_to IS NULL", []
    return f"{alias}valid_from <= ? AND ({alias}valid_to IS NULL OR {alias}valid_to > ?)", [position, position]


def _update_current(cursor: Any, sql: Sql, table: VersionedTable, in_place: list[Any], closed: list[Any]) -> None:
    """Change current versions where they stand: columns updated in place (grouped by the columns
    they set, one ``executemany`` each), and versions closed at a position (``valid_to``)."""
    for names, group in itertools.groupby(in_place, key=lambda update: update[0]):
        assignments = ", ".join(f"{name} = ?" for name in names)
        cursor.executemany(sql(f"UPDATE {{p}}{table.name} SET {assignments} "
                               f"WHERE {table.key} = ? AND valid_to IS NULL"), [params for _, params in group])
    if closed:
        cursor.executemany(sql(f"UPDATE {{p}}{table.name} SET valid_to = ? "
                               f"WHERE {table.key} = ? AND valid_to IS NULL"), closed)
