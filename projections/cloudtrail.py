"""CloudTrail's view of the audit log: its records, and the queries of event history.

``cloudtrail_record(call)`` is the JSON record CloudTrail writes of one ``ApiCall``
(``ledger/service_layer/audit.py``), field for field as the CloudTrail User Guide ("CloudTrail record contents",
eventVersion 1.11; "userIdentity element"; "AWS service events") and the Organizations User Guide's
log entries show them:

- ``userIdentity``: a caller is known by account and access key only, which is how CloudTrail shows
  the account's root user: ``{"type": "Root", "principalId": <account>, "arn":
  "arn:aws:iam::<account>:root", "accountId", "accessKeyId"}``. A service event is the service's:
  ``{"accountId": <recipient>, "invokedBy": "organizations.amazonaws.com"}``, with the service as
  ``sourceIPAddress`` and ``userAgent``, and its details in ``serviceEventDetails``.
- ``eventTime``: ISO 8601 UTC to the second (``2026-05-01T12:00:00Z``).
- ``sourceIPAddress``: the client's address; ``AWS Internal`` (CloudTrail's word for a call that
  came from inside the service) for an in-process client, which has no socket.
- ``requestParameters`` / ``responseElements``: what was sent and answered, with the keys in
  CloudTrail's lower camel case (``handshakeId``, ``handshake.requestedTimestamp``) and the
  timestamps of the answer as CloudTrail prints them (``Jan 18, 2017 9:41:16 PM``: the output shape
  of botocore's model says which members are timestamps); null when empty, and the answer null
  when refused, which instead carries ``errorCode`` (the AWS error shape) and ``errorMessage``.
- ``resources``: ``{"accountId", "type", "ARN"}`` for a handshake or organization whose ARN the
  call revealed to its caller, ``{"accountId", "type"}`` for an account.
- ``readOnly`` false (only commands are recorded), ``managementEvent`` true, ``eventCategory``
  ``Management``, ``awsRegion`` ``us-east-1`` (Organizations' one Region).

``lookup_event(call)`` is its LookupEvents ``Event`` (botocore's ``cloudtrail`` model): the record
itself as the ``CloudTrailEvent`` string, ``Username`` ``root`` for a call, the resources as
``{ResourceType, ResourceName}``, ``EventTime`` to the second.

``EventHistory`` queries the audit table (per account: its ``recipient_account_id`` index; by a
resource: the resources table's index; across accounts: its time index) newest first or oldest first, in pages keyed by (event time, position).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

from ledger.service_layer.audit import API_CALL, SERVICE_EVENT, ApiCall
from ledger.service_layer.requests import service_model
from ledger.domain.ids import organization_arn
from ledger.domain.instants import to_us

EVENT_VERSION = "1.11"
EVENT_SOURCE = "organizations.amazonaws.com"
REGION = "us-east-1"
IN_PROCESS = "AWS Internal"
ROOT_USERNAME = "root"
ACCOUNT = "AWS::Organizations::Account"
ORGANIZATION = "AWS::Organizations::Organization"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SECOND_US = 1_000_000


# -- records ----------------------------------------------------------------------------------------

def cloudtrail_record(call: ApiCall) -> dict[str, Any]:
    """The CloudTrail record of one call or service event (see the module's docstring)."""
    service_event = call.event_type == SERVICE_EVENT
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": ({"accountId": call.recipient_account_id, "invokedBy": EVENT_SOURCE} if service_event
                         else root_identity(call.account_id or call.recipient_account_id, call.access_key_id)),
        "eventTime": event_time(call.event_time),
        "eventSource": EVENT_SOURCE,
        "eventName": call.event_name,
        "awsRegion": REGION,
        "sourceIPAddress": EVENT_SOURCE if service_event else call.source_ip or IN_PROCESS,
    }
    user_agent = EVENT_SOURCE if service_event else call.user_agent
    if user_agent:
        record["userAgent"] = user_agent
    if call.refused:
        record["errorCode"], record["errorMessage"] = call.error_code, call.error_message
    operation = None if service_event else _operation(call.event_name)
    record["requestParameters"] = _elements(call.request_parameters, operation and operation.input_shape)
    record["responseElements"] = None if call.refused else _elements(call.response_elements,
                                                                     operation and operation.output_shape)
    if call.omitted:
        record["omitted"] = True  # past the bound a record keeps (ledger/service_layer/audit.py)
    if call.request_id:
        record["requestID"] = call.request_id
    record["eventID"] = call.event_id
    record["readOnly"] = False
    resources = record_resources(call)
    if resources:
        record["resources"] = resources
    record["eventType"] = call.event_type
    record["managementEvent"] = True
    record["recipientAccountId"] = call.recipient_account_id
    if service_event:
        record["serviceEventDetails"] = call.details or {}
    record["eventCategory"] = "Management"
    return record


def root_identity(account_id: str, access_key_id: str | None) -> dict[str, Any]:
    identity = {"type": "Root", "principalId": account_id, "arn": f"arn:aws:iam::{account_id}:root",
                "accountId": account_id}
    if access_key_id:
        identity["accessKeyId"] = access_key_id
    return identity


def event_time(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_resources(call: ApiCall) -> list[dict[str, str]]:
    """The record's ``resources``: an account by id; a handshake or organization by the ARN the call
    revealed (its answer, or for a membership event the management account's organization)."""
    found = []
    for kind, name in call.resources:
        if kind == ACCOUNT:
            found.append({"accountId": name, "type": kind})
            continue
        arn = _revealed_arn(call, kind, name)
        if arn:
            found.append({"accountId": arn.split(":")[4], "type": kind, "ARN": arn})
    return found


def _revealed_arn(call: ApiCall, kind: str, name: str) -> str | None:
    for shape in (call.response_elements or {}).values():
        if isinstance(shape, dict) and shape.get("Id") == name and isinstance(shape.get("Arn"), str):
            return str(shape["Arn"])
    if kind == ORGANIZATION and call.event_type == SERVICE_EVENT:
        return organization_arn(call.recipient_account_id, name)
    return None


def _operation(name: str) -> Any:
    model = service_model()
    return model.operation_model(name) if name in model.operation_names else None


def _elements(value: Any, shape: Any) -> Any:
    """Parameters or an answer as CloudTrail prints them; None when there is nothing."""
    return _camel(value, shape) if value else None


def _camel(value: Any, shape: Any) -> Any:
    """Keys in lower camel case, down the shape; a timestamp member as ``Jan 18, 2017 9:41:16 PM``.
    Iterative, so whatever a caller nested (a refused call's body) never exhausts the stack."""
    result: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, Any]] = [(value, shape, result, 0)]  # (value, shape, parent, key in parent)
    while stack:
        item, item_shape, parent, slot = stack.pop()
        kind = getattr(item_shape, "type_name", None)
        if isinstance(item, dict):
            members = item_shape.members if kind == "structure" else {}
            built: dict[Any, Any] = {}
            for key, child in item.items():
                name = (key[:1].lower() + key[1:]) if isinstance(key, str) else key
                built[name] = None
                stack.append((child, members.get(key), built, name))
            parent[slot] = built
        elif isinstance(item, list):
            items: list[Any] = [None] * len(item)
            member = item_shape.member if kind == "list" else None
            stack.extend((child, member, items, n) for n, child in enumerate(item))
            parent[slot] = items
        elif kind == "timestamp" and isinstance(item, str):
            parent[slot] = _printed_time(item)
        else:
            parent[slot] = item
    return result[0]


def _printed_time(text: str) -> str:
    """``2017-01-18T21:41:16Z`` as CloudTrail prints an answer's timestamp (locale-free)."""
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return text
    hour = instant.hour % 12 or 12
    return (f"{_MONTHS[instant.month - 1]} {instant.day}, {instant.year} {hour}:{instant:%M:%S} "
            f"{'AM' if instant.hour < 12 else 'PM'}")


def lookup_event(call: ApiCall) -> dict[str, Any]:
    """The LookupEvents ``Event`` of a call: its record in ``CloudTrailEvent``."""
    event: dict[str, Any] = {
        "EventId": call.event_id, "EventName": call.event_name, "ReadOnly": "false",
        "EventTime": call.event_time.replace(microsecond=0), "EventSource": EVENT_SOURCE,
        "Resources": [{"ResourceType": kind, "ResourceName": name} for kind, name in call.resources],
        "CloudTrailEvent": json.dumps(cloudtrail_record(call), separators=(",", ":")),
    }
    if call.access_key_id:
        event["AccessKeyId"] = call.access_key_id
    if call.event_type == API_CALL:
        event["Username"] = ROOT_USERNAME
    return event


# -- queries --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lookup:
    """Which events of an account: one lookup attribute (key, value) or None; ``start`` and ``end``
    to the second, both included, as CloudTrail's StartTime and EndTime; ``until``: the history as
    it stood at that instant (``/as-of/``), None for all of it."""

    account_id: str
    attribute: tuple[str, str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    until: datetime | None = None


class EventHistory:
    """Audit records, per account newest first (LookupEvents) or all oldest first (log files).
    ``recorder``: the application recorder with the audit table (``AuditLogRecorder``)."""

    def __init__(self, recorder: Any):
        self.recorder = recorder

    def lookup(self, lookup: Lookup, *, after: tuple[int, int] | None, limit: int) -> tuple[list[ApiCall], bool]:
        """One page, newest first, after the key (event time in µs, position) of the last one
        served; and whether there are more."""
        key, value = lookup.attribute or (None, None)
        by_resource = {"ResourceName": "resource_name", "ResourceType": "resource_type"}.get(key or "")
        time, position = ("r.event_time_us", "r.audit_id") if by_resource else ("event_time_us", "id")
        clauses: list[str] = [] if by_resource else ["recipient_account_id = ?"]
        params: list[Any] = [] if by_resource else [lookup.account_id]
        self._window(clauses, params, lookup.start, lookup.end, time)
        if lookup.until is not None:
            clauses.append(f"{time} <= ?")
            params.append(to_us(lookup.until))
        if key is not None and not by_resource:
            clause, values = self._attribute(key, value or "")
            clauses.append(clause)
            params += values
        if after is not None:
            clauses.append(f"({time} < ? OR ({time} = ? AND {position} < ?))")
            params += [after[0], after[0], after[1]]
        if by_resource:  # the resources table's index (ledger/storage/audit_table.py)
            calls = self.recorder.select_calls_by_resource(lookup.account_id, by_resource, value,
                                                           " AND ".join(clauses) or "1 = 1", params, limit=limit + 1)
        else:
            calls = self.recorder.select_calls(" AND ".join(clauses), params, order="event_time_us DESC, id DESC",
                                               limit=limit + 1)
        return calls[:limit], len(calls) > limit

    def calls(self, start: datetime | None = None, end: datetime | None = None, *,
              batch: int = 2000) -> Iterator[ApiCall]:
        """Every record from ``start`` to ``end`` (to the second, both included), oldest first."""
        clauses: list[str] = []
        params: list[Any] = []
        self._window(clauses, params, start, end)
        after: tuple[int, int] | None = None
        while True:
            keyset = ["(event_time_us > ? OR (event_time_us = ? AND id > ?))"] if after else []
            found = self.recorder.select_calls(" AND ".join(clauses + keyset) or "1 = 1",
                                               params + ([after[0], after[0], after[1]] if after else []),
                                               order="event_time_us, id", limit=batch)
            yield from found
            if len(found) < batch:
                return
            after = (to_us(found[-1].event_time), found[-1].position or 0)

    @staticmethod
    def _window(clauses: list[str], params: list[Any], start: datetime | None, end: datetime | None,
                time: str = "event_time_us") -> None:
        """Whole seconds, as records show them: an event at 12:00:00.5 is in a window ending 12:00:00."""
        if start is not None:
            clauses.append(f"{time} >= ?")
            params.append(to_us(start) // _SECOND_US * _SECOND_US)
        if end is not None:
            clauses.append(f"{time} < ?")
            params.append((to_us(end) // _SECOND_US + 1) * _SECOND_US)

    def _attribute(self, key: str, value: str) -> tuple[str, list[Any]]:
        """SQL for one LookupAttribute (keys and values as botocore's model and CloudTrail name them)."""
        columns = {"EventId": "event_id", "EventName": "event_name", "AccessKeyId": "access_key_id"}
        if key in columns:
            return f"{columns[key]} = ?", [value]
        if key == "Username":
            return ("event_type = ?", [API_CALL]) if value == ROOT_USERNAME else ("1 = 0", [])
        matches = (key == "EventSource" and value == EVENT_SOURCE) or (key == "ReadOnly" and value == "false")
        return ("1 = 1" if matches else "1 = 0"), []
