"""The audit table beside the events: one row per ApiCall, written in the events' transaction
(``AuditLogRecorder`` is mixed into each store's application recorder) and read back by the
CloudTrail read model. Instants are microseconds since the epoch; JSON columns hold what was sent
and answered."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Sequence

from ledger.domain.instants import to_us
from ledger.service_layer.audit import ApiCall, audit_text


COLUMNS = ("event_id", "event_time_us", "event_name", "event_type", "recipient_account_id", "account_id",
           "access_key_id", "request_id", "source_ip", "user_agent", "request_parameters", "response_elements",
           "error_code", "error_message", "resource_type", "resource_name", "resources", "details")


def to_row(call: ApiCall) -> tuple[Any, ...]:
    first = call.resources[0] if call.resources else (None, None)
    row = (call.event_id, to_us(call.event_time), call.event_name, call.event_type,
           call.recipient_account_id, call.account_id, call.access_key_id, call.request_id, call.source_ip,
           call.user_agent, _json(call.request_parameters), _json(call.response_elements), call.error_code,
           call.error_message, first[0], first[1], _json([list(r) for r in call.resources]), _json(call.details))
    return tuple(_storable(value) if isinstance(value, str) else value for value in row)


def _storable(text: str) -> str:
    """What a refused call sent may hold lone surrogates (not UTF-8) or NUL (not PostgreSQL text):
    kept as escapes, so the record says what arrived."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def from_row(row: Any) -> ApiCall:
    us = row["event_time_us"]
    return ApiCall(
        event_time=datetime.fromtimestamp(us // 1_000_000, timezone.utc).replace(microsecond=us % 1_000_000),
        event_name=row["event_name"], event_type=row["event_type"], recipient_account_id=row["recipient_account_id"],
        account_id=row["account_id"], access_key_id=row["access_key_id"], request_id=row["request_id"],
        source_ip=row["source_ip"], user_agent=row["user_agent"],
        request_parameters=_unjson(row["request_parameters"]), response_elements=_unjson(row["response_elements"]),
        error_code=row["error_code"], error_message=row["error_message"],
        resources=tuple((r[0], r[1]) for r in _unjson(row["resources"]) or ()),
        details=_unjson(row["details"]), event_id=row["event_id"], position=row["id"],
    )


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=audit_text, separators=(",", ":"))


def _unjson(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class AuditLogRecorder:
    """Mixed into the application recorder: the audit table beside the events, written with them.
    ``contains``: the store's SQL for "column holds this text" (``instr``; ``strpos`` on PostgreSQL)."""

    datastore: Any
    placeholder = "?"
    autoincrement = "INTEGER PRIMARY KEY AUTOINCREMENT"
    contains = "instr({column}, ?) > 0"

    @property
    def audit_table(self) -> str:
        return "audit_log"

    def create_table(self) -> None:
        super().create_table()  # type: ignore[misc]
        columns = ", ".join(f"{c} BIGINT NOT NULL" if c == "event_time_us" else f"{c} TEXT" for c in COLUMNS)
        table = self.audit_table
        for statement in (
            f"CREATE TABLE IF NOT EXISTS {table} (id {self.autoincrement}, {columns})",
            f"CREATE INDEX IF NOT EXISTS {table}_by_account ON {table} (recipient_account_id, event_time_us, id)",
            f"CREATE INDEX IF NOT EXISTS {table}_by_time ON {table} (event_time_us, id)",
            f"CREATE INDEX IF NOT EXISTS {table}_by_resource ON {table} (resource_name, event_time_us)",
            f"CREATE INDEX IF NOT EXISTS {table}_by_request ON {table} (request_id)",
        ):
            with self.datastore.transaction(commit=True) as cursor:
                cursor.execute(statement)

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

    def select_calls(self, where: str = "TRUE", params: Sequence[Any] = (), *, order: str = "id",
                     limit: int | None = None) -> list[ApiCall]:
        """Audit records matching ``where`` (``?`` for parameters), in ``order``."""
        text = f"SELECT * FROM {self.audit_table} WHERE {where} ORDER BY {order}"
        if limit is not None:
            text += f" LIMIT {int(limit)}"
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(text.replace("?", self.placeholder), list(params))
            return [from_row(row) for row in cursor.fetchall()]
