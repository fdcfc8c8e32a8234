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

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Generic, Iterable, Protocol, Sequence, TypeVar, runtime_checkable

from ledger.domain import errors
from ledger.domain.organization import Organization

API_CALL, SERVICE_EVENT = "AwsApiCall", "AwsServiceEvent"


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
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    position: int | None = field(default=None, compare=False)

    @property
    def refused(self) -> bool:
        return self.error_code is not None


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
    invitation) or departed (left, removed, or moved to another organization) in these events.
    ``management_of``: organization id -> its management account, whose log records them.
    Their fields are those botocore's Organizations model names (AcceptHandshake,
    RemoveAccountFromOrganization, LeaveOrganization): ``joinedMethod:INVITED`` and ``joinedTime``,
    ``departureMethod:LEFT|REMOVED`` and ``departureTime`` (a direct transfer departs LEFT)."""
    found = []
    for event in events:
        if isinstance(event, Organization.MemberJoined):
            name, details = "AccountJoinedOrganization", {
                "joinedMethod": "INVITED", "joinedTime": audit_text(event.timestamp)}
        elif isinstance(event, Organization.MemberLeft):
            name, details = "AccountDepartedOrganization", {
                "departureMethod": "REMOVED" if event.removed else "LEFT", "departureTime": audit_text(event.timestamp)}
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


def api_call(operation: str, caller: Caller, params: dict[str, Any], now: datetime, *,
             answer: dict[str, Any] | None = None, error: errors.OrganizationsError | None = None) -> ApiCall:
    """The audit record of one command call: what was asked, by whom, and what came back."""
    return ApiCall(
        event_time=now, event_name=operation, recipient_account_id=caller.account_id, account_id=caller.account_id,
        access_key_id=caller.access_key_id, request_id=caller.request_id, source_ip=caller.source_ip,
        user_agent=caller.user_agent, request_parameters=params, response_elements=answer,
        error_code=error.code if error else None, error_message=error.message if error else None,
        resources=_resources(params, answer or {}),
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
        return api_call(self.operation, self.caller, self.params, self.now, error=error)


def _resources(params: dict[str, Any], answer: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """What a call was about, as CloudTrail names resources: the handshake, organization or account."""
    found: list[tuple[str, str]] = []
    handshake = params.get("HandshakeId") or (answer.get("Handshake") or {}).get("Id")
    if isinstance(handshake, str):
        found.append(("AWS::Organizations::Handshake", handshake))
    organization = (answer.get("Organization") or {}).get("Id")
    if organization:
        found.append(("AWS::Organizations::Organization", organization))
    target = params.get("Target")
    named = target if isinstance(target, dict) and target.get("Type") == "ACCOUNT" else {}  # not an EMAIL
    account = params.get("AccountId") or named.get("Id")
    if isinstance(account, str):
        found.append(("AWS::Organizations::Account", account))
    return tuple(found)
