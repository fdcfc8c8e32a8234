"""The audit log: every command call, accepted or refused, appended to a log of its own (issue 12).

An ``ApiCall`` is what CloudTrail records of a call: when, which operation, who (account and
access key), from where (source address, user agent), what was asked (request parameters) and
what came back (response elements, or the error code and message). An accepted call's record is
written in the same transaction as its domain events (``save(..., audit=[...])``), so the two
never disagree; a refused call changes no aggregate and no view (habit 1 of the house style),
and its record alone is appended in a transaction of its own. Membership changes also yield the
service events AWS logs for them (AccountJoinedOrganization, AccountDepartedOrganization),
derived from the domain events of the same save and logged for the management account.

The audit log is its own append-only table beside the events (``audit_log`` in the SQLite
events file, ``<app>_audit_log`` on PostgreSQL): never replayed into aggregates or views, and
untouched by a view rebuild.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Sequence

from ledger.domain.organization import Organization

API_CALL, SERVICE_EVENT = "AwsApiCall", "AwsServiceEvent"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class ApiCall:
    """One audit record. ``recipient_account_id``: whose history it belongs to (the caller's, or
    the management account's for a membership event). ``resources``: [(type, name)].
    ``position``: its place in the audit log once read back (None before it is written)."""

    event_time: datetime
    event_name: str
    recipient_account_id: str
    account_id: str | None = None
    event_type: str = API_CALL
    access_key_id: str | None = None
    request_id: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    request_parameters: dict[str, Any] | None = None
    response_elements: dict[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    resources: tuple[tuple[str, str], ...] = ()
    details: dict[str, Any] | None = None
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    position: int | None = field(default=None, compare=False)

    @property
    def refused(self) -> bool:
        return self.error_code is not None


COLUMNS = ("event_id", "event_time_us", "event_name", "event_type", "recipient_account_id", "account_id",
           "access_key_id", "request_id", "source_ip", "user_agent", "request_parameters", "response_elements",
           "error_code", "error_message", "resource_type", "resource_name", "resources", "details")


def to_us(instant: datetime) -> int:
    """An instant as the table keeps it: microseconds since the epoch."""
    return (instant - _EPOCH) // _ONE_US


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
        resources=tuple(tuple(r) for r in _unjson(row["resources"]) or ()),  # type: ignore[misc]
        details=_unjson(row["details"]), event_id=row["event_id"], position=row["id"],
    )


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=_plain, separators=(",", ":"))


def _unjson(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)  # whatever a caller sent: the record keeps it readable


# -- service events, derived from the domain events of a save ---------------------------------------

def service_events(events: Iterable[Any], management_of: dict[str, str], request_id: str | None) -> list[ApiCall]:
    """AccountJoinedOrganization / AccountDepartedOrganization for the members that joined (by
    invitation) or departed (left, removed, or moved to another organization) in these events.
    ``management_of``: organization id -> its management account, whose log records them.
    Their fields are those botocore's Organizations model names (AcceptHandshake,
    RemoveAccountFromOrganization, LeaveOrganization): ``joinedMethod:INVITED`` and ``joinedTime``,
    ``departureMethod:LEFT|REMOVED`` and ``departureTime`` (a direct transfer departs LEFT)."""
    found = []
    for event in events:
        if isinstance(event, Organization.MemberJoined):
            name, details = "AccountJoinedOrganization", {
                "joinedMethod": "INVITED", "joinedTime": _plain(event.timestamp)}
        elif isinstance(event, Organization.MemberLeft):
            name, details = "AccountDepartedOrganization", {
                "departureMethod": "REMOVED" if event.removed else "LEFT", "departureTime": _plain(event.timestamp)}
        else:
            continue
        organization_id = event.originator_id
        found.append(ApiCall(
            event_time=event.timestamp, event_name=name, event_type=SERVICE_EVENT,
            recipient_account_id=management_of[organization_id], request_id=request_id,
            resources=(("AWS::Organizations::Account", event.account_id),
                       ("AWS::Organizations::Organization", organization_id)),
            details={"accountId": event.account_id, "organizationId": organization_id, **details},
        ))
    return found


# -- the table, on the event store's own recorder ----------------------------------------------------

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

    def _insert_events(self, cursor: Any, stored_events: Sequence[Any], **kwargs: Any) -> Any:
        result = super()._insert_events(cursor, stored_events, **kwargs)  # type: ignore[misc]
        calls = kwargs.get("audit") or ()
        if calls:
            self._insert_calls(cursor, calls)
        return result

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
