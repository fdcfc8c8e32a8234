"""The audit table beside the events: one row per ApiCall, written in the events' transaction
(``AuditLogRecorder`` is mixed into each store's application recorder) and read back by the
CloudTrail read model. Instants are microseconds since the epoch; JSON columns hold what was sent
and answered."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Sequence

from ledger.domain.instants import to_us
from ledger.service_layer.audit import API_CALL, MAX_ELEMENTS_BYTES, MAX_ELEMENTS_DEPTH, ApiCall, audit_text, depth


COLUMNS = ("event_id", "event_time_us", "event_name", "event_type", "recipient_account_id", "account_id",
           "access_key_id", "request_id", "source_ip", "user_agent", "request_parameters", "response_elements",
           "error_code", "error_message", "resource_type", "resource_name", "resources", "details")


def to_row(call: ApiCall) -> tuple[Any, ...]:
    """The row of a call. ``details``: a service event's details; for a call, ``{"omitted": true}``
    when what it sent or answered was past the bound (``ledger.service_layer.audit.bounded``)."""
    first = call.resources[0] if call.resources else (None, None)
    details = call.details if call.event_type != API_CALL else {"omitted": True} if call.omitted else None
    row = (call.event_id, to_us(call.event_time), call.event_name, call.event_type,
           call.recipient_account_id, call.account_id, call.access_key_id, call.request_id, call.source_ip,
           call.user_agent, _json(call.request_parameters), _json(call.response_elements), call.error_code,
           call.error_message, first[0], first[1], _json([list(r) for r in call.resources]), _json(details))
    return tuple(_storable(value) if isinstance(value, str) else value for value in row)


def _storable(text: str) -> str:
    """What a refused call sent may hold lone surrogates (not UTF-8) or NUL (not PostgreSQL text):
    kept as escapes, so the record says what arrived."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def from_row(row: Any) -> ApiCall:
    """The call a row holds; what it sent or answered past the bound (rows written before there
    was one) read as omitted."""
    us = row["event_time_us"]
    details = _unjson(row["details"])
    is_call = row["event_type"] == API_CALL
    params, params_omitted = _kept(row["request_parameters"])
    answer, answer_omitted = _kept(row["response_elements"])
    return ApiCall(
        event_time=datetime.fromtimestamp(us // 1_000_000, timezone.utc).replace(microsecond=us % 1_000_000),
        event_name=row["event_name"], event_type=row["event_type"], recipient_account_id=row["recipient_account_id"],
        account_id=row["account_id"], access_key_id=row["access_key_id"], request_id=row["request_id"],
        source_ip=row["source_ip"], user_agent=row["user_agent"],
        request_parameters=params, response_elements=answer,
        error_code=row["error_code"], error_message=row["error_message"],
        resources=tuple((r[0], r[1]) for r in _unjson(row["resources"]) or ()),
        details=None if is_call else details, event_id=row["event_id"], position=row["id"],
        omitted=is_call and (bool((details or {}).get("omitted")) or params_omitted or answer_omitted),
    )


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=audit_text, separators=(",", ":"))


def _unjson(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _kept(text: str | None) -> tuple[Any, bool]:
    """What a record keeps of a JSON column, and whether it was past the bound: rows written
    before there was one may hold more (``ledger.service_layer.audit.bounded``), never decoded."""
    if text is None:
        return None, False
    if len(text) > MAX_ELEMENTS_BYTES:
        return None, True
    try:
        value = json.loads(text)
    except RecursionError:
        return None, True
    return (None, True) if depth(value) > MAX_ELEMENTS_DEPTH else (value, False)


class AuditLogRecorder:
    """Mixed into the application recorder: the audit table beside the events, written with them.
    ``contains``: the store's SQL for "column holds this text" (``instr``; ``strpos`` on PostgreSQL).

    Beside it, ``<audit table>_resources``: one row per resource a record names (its audit row's
    id, whose history, the resource's type and name, the event time), written in the same
    transaction, so a LookupEvents ResourceName or ResourceType filter is an index seek in the
    caller's history instead of a scan of it. Created, and filled from the records already
    there, by the first process that opens a ledger written before it existed (DDL takes turns:
    ``ledger/storage/stores.py`` schema_turn, the PostgreSQL advisory lock)."""

    datastore: Any
    placeholder = "?"
    autoincrement = "INTEGER PRIMARY KEY AUTOINCREMENT"
    contains = "instr({column}, ?) > 0"
    table_exists = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"

    @property
    def audit_table(self) -> str:
        return "audit_log"

    @property
    def resources_table(self) -> str:
        return f"{self.audit_table}_resources"

    def create_table(self) -> None:
        super().create_table()  # type: ignore[misc]
        columns = ", ".join(f"{c} BIGINT NOT NULL" if c == "event_time_us" else f"{c} TEXT" for c in COLUMNS)
        table, resources = self.audit_table, self.resources_table
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self.table_exists.replace("?", self.placeholder), [resources])
            indexed = bool(cursor.fetchall())
        for statement in (
            f"CREATE TABLE IF NOT EXISTS {table} (id {self.autoincrement}, {columns})",
            f"CREATE INDEX IF NOT EXISTS {table}_by_account ON {table} (recipient_account_id, event_time_us, id)",
            f"CREATE INDEX IF NOT EXISTS {table}_by_time ON {table} (event_time_us, id)",
            f"CREATE INDEX IF NOT EXISTS {table}_by_resource ON {table} (resource_name, event_time_us)",
            f"CREATE INDEX IF NOT EXISTS {table}_by_request ON {table} (request_id)",
            f"CREATE INDEX IF NOT EXISTS {table}_by_event ON {table} (event_id)",
            f"CREATE TABLE IF NOT EXISTS {resources} (audit_id BIGINT NOT NULL, recipient_account_id TEXT NOT NULL, "
            "resource_type TEXT NOT NULL, resource_name TEXT NOT NULL, event_time_us BIGINT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {resources}_by_name "
            f"ON {resources} (recipient_account_id, resource_name, event_time_us, audit_id)",
            f"CREATE INDEX IF NOT EXISTS {resources}_by_type "
            f"ON {resources} (recipient_account_id, resource_type, event_time_us, audit_id)",
        ):
            with self.datastore.transaction(commit=True) as cursor:
                cursor.execute(statement)
        if not indexed:
            self._index_resources()

    def _index_resources(self, batch: int = 5000) -> None:
        """Fill the resources table from the records written before it existed, a batch a transaction."""
        after = 0
        while True:
            with self.datastore.transaction(commit=True) as cursor:
                cursor.execute(f"SELECT id, recipient_account_id, event_time_us, resources FROM {self.audit_table} "
                               f"WHERE id > {self.placeholder} ORDER BY id LIMIT {int(batch)}", [after])
                rows = cursor.fetchall()
                found = [(row["id"], row["recipient_account_id"], kind, name, row["event_time_us"])
                         for row in rows for kind, name in dict.fromkeys(map(tuple, _unjson(row["resources"]) or ()))]
                if found:
                    marks = ", ".join([self.placeholder] * 5)
                    cursor.executemany(f"INSERT INTO {self.resources_table} (audit_id, recipient_account_id, "
                                       f"resource_type, resource_name, event_time_us) VALUES ({marks})", found)
            if len(rows) < batch:
                return
            after = rows[-1]["id"]

    def _insert_audit(self, cursor: Any, calls: Sequence[ApiCall] | None) -> None:
        """The records a save passed (``save(..., audit=[...])``), in the events' transaction."""
        if calls:
            self._insert_calls(cursor, calls)

    def append_calls(self, calls: Sequence[ApiCall]) -> None:
        """Records alone, in a transaction of their own (a refused call's)."""
        with self.datastore.transaction(commit=True) as cursor:
            self._insert_calls(cursor, calls)

    def _insert_calls(self, cursor: Any, calls: Sequence[ApiCall]) -> None:
        marks = ", ".join([self.placeholder] * len(COLUMNS))
        cursor.executemany(f"INSERT INTO {self.audit_table} ({', '.join(COLUMNS)}) VALUES ({marks})",
                           [to_row(call) for call in calls])
        named = [(kind, _storable(name), call.event_id) for call in calls for kind, name in dict.fromkeys(call.resources)]
        if named:
            mark = self.placeholder
            cursor.executemany(f"INSERT INTO {self.resources_table} (audit_id, recipient_account_id, resource_type, "
                               f"resource_name, event_time_us) SELECT id, recipient_account_id, {mark}, {mark}, "
                               f"event_time_us FROM {self.audit_table} WHERE event_id = {mark}", named)

    def select_calls_by_resource(self, account_id: str, column: str, value: str, where: str = "1 = 1",
                                 params: Sequence[Any] = (), *, limit: int) -> list[ApiCall]:
        """The records of ``account_id``'s history naming a resource whose ``column``
        (``resource_name`` or ``resource_type``) is ``value``, newest first: an index seek.
        ``where`` may use ``r.event_time_us`` and ``r.audit_id`` (the record's position)."""
        if column not in ("resource_name", "resource_type"):
            raise ValueError(column)
        text = (f"SELECT a.* FROM {self.resources_table} r JOIN {self.audit_table} a ON a.id = r.audit_id "
                f"WHERE r.recipient_account_id = ? AND r.{column} = ? AND {where} "
                f"ORDER BY r.event_time_us DESC, r.audit_id DESC LIMIT {int(limit)}")
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(text.replace("?", self.placeholder), [account_id, value, *params])
            return [from_row(row) for row in cursor.fetchall()]

    def select_calls(self, where: str = "TRUE", params: Sequence[Any] = (), *, order: str = "id",
                     limit: int | None = None) -> list[ApiCall]:
        """Audit records matching ``where`` (``?`` for parameters), in ``order``."""
        text = f"SELECT * FROM {self.audit_table} WHERE {where} ORDER BY {order}"
        if limit is not None:
            text += f" LIMIT {int(limit)}"
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(text.replace("?", self.placeholder), list(params))
            return [from_row(row) for row in cursor.fetchall()]
