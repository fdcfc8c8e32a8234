"""The audit log: every command call, accepted or refused, appended to a log of its own.

An ``ApiCall`` is what CloudTrail records of a call: when, which operation, who (account and
access key), from where (source address, user agent), what was asked (request parameters) and
what came back (response elements, or the error code and message). An accepted call's record is
written in the same transaction as its domain events (``save(..., audit=[...])``), so the two
never disagree; a refused call changes no aggregate and no view (habit 1 of the house style),
and its record alone is appended in a transaction of its own. Membership changes also yield the
service events AWS logs for them (AccountJoinedOrganization, AccountDepartedOrganization),
derived from the domain events of the same save and logged for the management account; creating
and deleting an organization are the management account's own joining and departure
(``docs/decisions.md`` decision 29).

The audit log is its own append-only table beside the events (``audit_log`` in the SQLite
events file, ``<app>_audit_log`` on PostgreSQL): never replayed into aggregates or views, and
untouched by a view rebuild.
"""

from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Generic, Iterable, Iterator, Protocol, Sequence, TypeVar, runtime_checkable

from ledger.domain import errors
from ledger.domain.organization import Organization
from ledger.domain.transfer import ResponsibilityTransfer
from ledger.service_layer.requests import service_model

API_CALL, SERVICE_EVENT = "AwsApiCall", "AwsServiceEvent"
HANDSHAKE, ORGANIZATION, ACCOUNT = ("AWS::Organizations::Handshake", "AWS::Organizations::Organization",
                                    "AWS::Organizations::Account")
# What a record keeps of what was sent and answered (``bounded``): CloudTrail truncates a field
# whose contents exceed its maximum size (100 KB for requestParameters and responseElements) and
# marks the record ``"omitted": true``. The ledger keeps each of the two whole when its JSON (as
# stored: ASCII, escapes included) is at most MAX_ELEMENTS_BYTES bytes and nests at most MAX_ELEMENTS_DEPTH levels (an
# Organizations request nests 4 at most), and otherwise none of it (null), with ``omitted``.
MAX_ELEMENTS_BYTES = 100 * 1024
MAX_ELEMENTS_DEPTH = 32


@dataclass(frozen=True)
class Caller:
    """Who sends a request: the account (from SigV4 or the client), the request's id, and what the
    audit records of it (the access key, the client's address and user agent)."""

    account_id: str
    request_id: str | None = None
    access_key_id: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None


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
    omitted: bool = False  # request parameters or response elements past the bound, not kept
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    position: int | None = field(default=None, compare=False)

    @property
    def refused(self) -> bool:
        return self.error_code is not None


def depth(value: Any) -> int:
    """How deep ``value`` nests (a scalar 0, ``{}`` 1, ``{"a": []}`` 2), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


def bounded(value: dict[str, Any] | None) -> tuple[dict[str, Any] | None, bool]:
    """``(value, False)`` when a record may keep it whole, ``(None, True)`` when it is past the bound
    (MAX_ELEMENTS_DEPTH levels, or MAX_ELEMENTS_BYTES of JSON): what CloudTrail calls omitted."""
    if value is None:
        return None, False
    if depth(value) > MAX_ELEMENTS_DEPTH:
        return None, True
    size = len(json.dumps(value, default=audit_text, separators=(",", ":")))  # ASCII, as the audit table stores it
    return (None, True) if size > MAX_ELEMENTS_BYTES else (value, False)


T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class CallAudit(Protocol[T_contra]):
    """The audit record of a command call, made inside the command's unit of work: from what the
    command returned (accepted) or the AWS error that refused it."""

    def accepted(self, result: T_contra) -> ApiCall: ...

    def refused(self, error: errors.OrganizationsError) -> ApiCall: ...


@runtime_checkable
class AuditLog(Protocol):
    """Where audit records are kept: the store's audit table (``ledger.storage.audit_table``)."""

    def append_calls(self, calls: Sequence[ApiCall]) -> None:
        """Records alone, in a transaction of their own (a refused call's)."""

    def select_calls(self, where: str = "TRUE", params: Sequence[Any] = (), *, order: str = "id",
                     limit: int | None = None) -> list[ApiCall]:
        """Records matching ``where`` (SQL over the audit table's columns, ``?`` for parameters)."""
        ...


def audit_text(value: Any) -> Any:
    """A value as an audit record keeps it in JSON: instants as CloudTrail writes them, anything else as text."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)  # whatever a caller sent: the record keeps it readable


# -- service events, derived from the domain events of a save ---------------------------------------

def service_events(events: Iterable[Any], management_of: dict[str, str], request_id: str | None) -> list[ApiCall]:
    """AccountJoinedOrganization / AccountDepartedOrganization for the members that joined (by
    invitation) or departed (left, removed, or moved to another organization) in these events,
    and for the management account when its organization is created (joinedMethod INVITED, as
    the model documents it) or deleted (departureMethod LEFT): decision 29.
    ``management_of``: organization id -> its management account, whose log records them.
    Their fields are those botocore's Organizations model names (AcceptHandshake,
    RemoveAccountFromOrganization, LeaveOrganization): ``joinedMethod:INVITED`` and ``joinedTime``,
    ``departureMethod:LEFT|REMOVED`` and ``departureTime`` (a direct transfer departs LEFT)."""
    found = []
    for event in events:
        if isinstance(event, (ResponsibilityTransfer.Accepted, ResponsibilityTransfer.Withdrawn)):
            found += transfer_service_events(event, request_id)
            continue
        organization_id = event.originator_id
        if isinstance(event, (Organization.MemberJoined, Organization.Created)):
            name, details = "AccountJoinedOrganization", {
                "joinedMethod": "INVITED", "joinedTime": audit_text(event.timestamp)}
        elif isinstance(event, (Organization.MemberLeft, Organization.Deleted)):
            name, details = "AccountDepartedOrganization", {
                "departureMethod": "REMOVED" if getattr(event, "removed", False) else "LEFT",
                "departureTime": audit_text(event.timestamp)}
        else:
            continue
        account_id = event.account_id if hasattr(event, "account_id") else management_of[organization_id]
        found.append(ApiCall(
            event_time=event.timestamp, event_name=name, event_type=SERVICE_EVENT,
            recipient_account_id=management_of[organization_id], request_id=request_id,
            resources=(("AWS::Organizations::Account", account_id),
                       ("AWS::Organizations::Organization", organization_id)),
            details={"accountId": account_id, "organizationId": organization_id, **details},
        ))
    return found


def transfer_service_events(event: Any, request_id: str | None) -> list[ApiCall]:
    """ResponsibilityTransferAccepted / ResponsibilityTransferTerminated (``docs/decisions.md``
    decision 28), one record in the history of every management account the event names (both
    sides and the inviter's payers up a chain). AWS publishes no example of them: their
    ``serviceEventDetails`` are the ledger's own, ``{"responsibilityTransfer": {"id", "type",
    "status", "source": {"managementAccountId"}, "target": {"managementAccountId"}, "startTimestamp",
    "endTimestamp"?, "handshakeId"?}}``, instants as CloudTrail writes them."""
    accepted = isinstance(event, ResponsibilityTransfer.Accepted)
    summary = event.transfer
    transfer: dict[str, Any] = {
        "id": event.originator_id, "type": summary["type"], "status": "ACCEPTED" if accepted else "WITHDRAWN",
        "source": {"managementAccountId": summary["source_account_id"]},
        "target": {"managementAccountId": summary["inviter_account_id"]},
        "startTimestamp": audit_text(summary["start_at"]),
    }
    if accepted:
        transfer["handshakeId"] = summary["handshake_id"]
    else:
        transfer["endTimestamp"] = audit_text(event.end_at)
    name = "ResponsibilityTransferAccepted" if accepted else "ResponsibilityTransferTerminated"
    return [ApiCall(
        event_time=event.timestamp, event_name=name, event_type=SERVICE_EVENT, recipient_account_id=account_id,
        request_id=request_id, resources=(("AWS::Organizations::ResponsibilityTransfer", event.originator_id),),
        details={"responsibilityTransfer": transfer},
    ) for account_id in dict.fromkeys(event.notified)]


# -- what a call is about ---------------------------------------------------------------------------

_revealed: ContextVar[list[tuple[str, str]] | None] = ContextVar("revealed", default=None)


@contextmanager
def revealing() -> Iterator[list[tuple[str, str]]]:
    """Collect, while a command is judged, the resources it established its caller may see
    (``reveal``): all that the record of a refusal names."""
    found: list[tuple[str, str]] = []
    token = _revealed.set(found)
    try:
        yield found
    finally:
        _revealed.reset(token)


def reveal(kind: str, name: str) -> None:
    """The command being judged addresses ``name`` and has found that its caller may see it."""
    found = _revealed.get()
    if found is not None and (kind, name) not in found:
        found.append((kind, name))


def revealed_so_far() -> list[tuple[str, str]]:
    """What the command being judged has revealed so far (``reveal``): empty outside ``revealing``."""
    return list(_revealed.get() or ())


def api_call(operation: str, caller: Caller, params: dict[str, Any] | None, now: datetime, *,
             answer: dict[str, Any] | None = None, error: errors.OrganizationsError | None = None,
             revealed: Iterable[tuple[str, str]] = ()) -> ApiCall:
    """The audit record of one command call: what was asked, by whom, and what came back, each
    kept whole up to the bound (``bounded``).

    Its resources: for an accepted call, what the answer names and the members of the request
    that the operation takes (an AccountId, an ACCOUNT target); for a refused one only what the
    command had established its caller may see (``revealed``) before refusing: a refused call is
    the caller's history, and names nobody else's handshake by whatever id it sent."""
    kept_params, params_omitted = bounded(params)
    kept_answer, answer_omitted = bounded(answer)
    return ApiCall(
        event_time=now, event_name=operation, recipient_account_id=caller.account_id, account_id=caller.account_id,
        access_key_id=caller.access_key_id, request_id=caller.request_id, source_ip=caller.source_ip,
        user_agent=caller.user_agent, request_parameters=kept_params, response_elements=kept_answer,
        error_code=error.code if error else None, error_message=error.message if error else None,
        resources=tuple(revealed) if error is not None else _resources(operation, params or {}, answer or {}),
        omitted=params_omitted or answer_omitted,
    )


class AuditedCall(Generic[T]):
    """One AWS call run as a command (``CallAudit``): ``answer`` shapes what the command returned
    into the wire answer inside its unit of work, so the caller and the record get the same one
    (``answer_given``, once accepted)."""

    def __init__(self, operation: str, caller: Caller, params: dict[str, Any], now: datetime,
                 answer: Callable[[T], dict[str, Any]]) -> None:
        self.operation, self.caller, self.params, self.now = operation, caller, params, now
        self._shape = answer
        self.answer_given: dict[str, Any] = {}

    def accepted(self, result: T) -> ApiCall:
        self.answer_given = self._shape(result)
        return api_call(self.operation, self.caller, self.params, self.now, answer=self.answer_given)

    def refused(self, error: errors.OrganizationsError) -> ApiCall:
        return api_call(self.operation, self.caller, self.params, self.now, error=error, revealed=revealed_so_far())


def _resources(operation: str, params: dict[str, Any], answer: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """What an accepted call was about, as CloudTrail names resources: the handshake or
    organization of its answer, the account the operation's own members name."""
    found: list[tuple[str, str]] = []
    handshake = answer.get("Handshake")
    if isinstance(handshake, dict) and isinstance(handshake.get("Id"), str):
        found.append((HANDSHAKE, handshake["Id"]))
    organization = answer.get("Organization")
    if isinstance(organization, dict) and isinstance(organization.get("Id"), str):
        found.append((ORGANIZATION, organization["Id"]))
    members = _input_members(operation)
    transfer = (answer.get("ResponsibilityTransfer") or {}).get("Id") or (params.get("Id") if "Id" in members else None)
    if isinstance(transfer, str) and transfer.startswith("rt-"):
        found.append(("AWS::Organizations::ResponsibilityTransfer", transfer))
    target = params.get("Target") if "Target" in members else None
    named = isinstance(target, dict) and target.get("Type") == "ACCOUNT"  # an EMAIL target names no account
    account = params.get("AccountId") if "AccountId" in members else target.get("Id") if named else None  # type: ignore[union-attr]
    if isinstance(account, str):
        found.append((ACCOUNT, account))
    return tuple(found)


def _input_members(operation: str) -> frozenset[str]:
    """The members botocore's model gives the operation's input."""
    model = service_model()
    if operation not in model.operation_names:
        return frozenset()
    shape = model.operation_model(operation).input_shape
    return frozenset(shape.members) if shape is not None else frozenset()
