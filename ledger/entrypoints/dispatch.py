"""The one dispatch: operation name → request model → application or read model → wire shape.

The in-process clients and the HTTP service both call ``dispatch``; neither adds rules.
Commands go to the application (``ledger.app``) and answer from what they changed; queries
go to the read model (``ledger.reads``) at the reader's moment: the live view now, or the view
as of an instant or position (``ledger.at``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Protocol

from ledger.domain import errors
from ledger.domain.handshake import Handshake
from ledger.domain.organization import Organization
from ledger.domain.transfer import ResponsibilityTransfer
from ledger.service_layer.application import HandshakeLedger
from ledger.service_layer.audit import AuditedCall, Caller
from ledger.service_layer.requests import parse_request
from ledger.service_layer.shapes import describe_handshake, describe_organization, describe_root
from ledger.service_layer.transfer_shapes import transfer_shape

if TYPE_CHECKING:
    from projections.queries import Moment


Answer = Callable[[HandshakeLedger, Caller, Any, datetime], dict[str, Any]]  # (app, caller, result, instant)


@dataclass(frozen=True)
class Command:
    """An operation that changes the ledger. ``run(app, caller, request, audit)`` calls the
    application's command method, passing the call's audit along (one entry into running a
    command: ``HandshakeLedger.execute``); ``answer(app, caller, result, instant)`` shapes what
    it returned into the wire answer for its caller (inside the command's unit of work)."""

    run: Callable[[HandshakeLedger, Caller, Any, AuditedCall[Any]], Any]
    answer: Answer


class Answering(Protocol):
    """What dispatch needs of a ledger (``facade.Ledger``, ``facade.LedgerAt``): a way to run a
    command (validated, audited, committed) and a query (at the reader's moment, calling the
    operation's handler back with itself: query handlers use its read model, ``ledger.reads``)."""

    def command(self, command: Command, caller: Caller, operation: str, params: dict[str, Any]) -> dict[str, Any]: ...

    def query(self, handler: Handler, caller: Caller, request: Any) -> dict[str, Any]: ...


Handler = Callable[[Any, Caller, Any, "Moment"], dict[str, Any]]


# -- commands: the application, answered from the aggregates they changed ----------------------

def _handshake(app: HandshakeLedger, caller: Caller, handshake: Handshake, instant: datetime) -> dict[str, Any]:
    return {"Handshake": describe_handshake(handshake, instant)}


def _organization(app: HandshakeLedger, caller: Caller, organization: Organization,
                  instant: datetime) -> dict[str, Any]:
    return {"Organization": describe_organization(organization, app.email_of(organization.management_account_id))}


def _transfer(with_emails: bool) -> Answer:
    """Terminate/Update: the caller's side of the transfer they changed (decision 25)."""
    def answer(app: HandshakeLedger, caller: Caller, transfer: ResponsibilityTransfer,
               instant: datetime) -> dict[str, Any]:
        organization = app.organization_of(caller.account_id)
        return {"ResponsibilityTransfer": transfer_shape(
            transfer.as_row(), caller=caller.account_id, caller_organization=organization.id if organization else None,
            now=instant, email_of=app.email_of, with_emails=with_emails)}
    return answer


def _root(app: HandshakeLedger, caller: Caller, organization: Organization, instant: datetime) -> dict[str, Any]:
    return {"Root": describe_root(organization)}


def _nothing(app: HandshakeLedger, caller: Caller, result: Any, instant: datetime) -> dict[str, Any]:
    return {}


COMMANDS: dict[str, Command] = {
    "InviteAccountToOrganization": Command(lambda app, caller, r, audit: app.invite_account_to_organization(
        caller, r.Target.Type, r.Target.Id, notes=r.Notes, tags=[tag.model_dump() for tag in r.Tags or ()],
        audit=audit), _handshake),
    "AcceptHandshake": Command(lambda app, caller, r, audit: app.accept_handshake(
        caller, r.HandshakeId, audit=audit), _handshake),
    "DeclineHandshake": Command(lambda app, caller, r, audit: app.decline_handshake(
        caller, r.HandshakeId, audit=audit), _handshake),
    "CancelHandshake": Command(lambda app, caller, r, audit: app.cancel_handshake(
        caller, r.HandshakeId, audit=audit), _handshake),
    "EnableAllFeatures": Command(lambda app, caller, r, audit: app.enable_all_features(caller, audit=audit),
                                 _handshake),
    "InviteOrganizationToTransferResponsibility": Command(
        lambda app, caller, r, audit: app.invite_organization_to_transfer_responsibility(
            caller, r.Type, r.Target.Type, r.Target.Id, r.StartTimestamp, r.SourceName, notes=r.Notes,
            tags=[tag.model_dump() for tag in r.Tags or ()], audit=audit), _handshake),
    "TerminateResponsibilityTransfer": Command(lambda app, caller, r, audit: app.terminate_responsibility_transfer(
        caller, r.Id, r.EndTimestamp, audit=audit), _transfer(with_emails=False)),
    "UpdateResponsibilityTransfer": Command(lambda app, caller, r, audit: app.update_responsibility_transfer(
        caller, r.Id, r.Name, audit=audit), _transfer(with_emails=True)),
    "CreateOrganization": Command(lambda app, caller, r, audit: app.create_organization(
        caller, r.FeatureSet or "ALL", audit=audit), _organization),
    "DeleteOrganization": Command(lambda app, caller, r, audit: app.delete_organization(caller, audit=audit),
                                  _nothing),
    "LeaveOrganization": Command(lambda app, caller, r, audit: app.leave_organization(caller, audit=audit),
                                 _nothing),
    "RemoveAccountFromOrganization": Command(lambda app, caller, r, audit: app.remove_account_from_organization(
        caller, r.AccountId, audit=audit), _nothing),
    "EnablePolicyType": Command(lambda app, caller, r, audit: app.enable_policy_type(
        caller, r.RootId, r.PolicyType, audit=audit), _root),
    "DisablePolicyType": Command(lambda app, caller, r, audit: app.disable_policy_type(
        caller, r.RootId, r.PolicyType, audit=audit), _root),
    "EnableAWSServiceAccess": Command(lambda app, caller, r, audit: app.enable_aws_service_access(
        caller, r.ServicePrincipal, audit=audit), _nothing),
    "DisableAWSServiceAccess": Command(lambda app, caller, r, audit: app.disable_aws_service_access(
        caller, r.ServicePrincipal, audit=audit), _nothing),
}


# -- queries: the read model at the reader's moment ---------------------------------------------

def _read(method: str, *fields: str) -> Handler:
    def handle(ledger: Any, caller: Caller, request: Any, moment: Moment) -> dict[str, Any]:
        return getattr(ledger.reads, method)(caller.account_id, *(getattr(request, f) for f in fields), moment)
    return handle


def _list(method: str) -> Handler:
    def handle(ledger: Any, caller: Caller, request: Any, moment: Moment) -> dict[str, Any]:
        return getattr(ledger.reads, method)(caller.account_id, request, moment)
    return handle


QUERIES: dict[str, Handler] = {
    "DescribeHandshake": _read("describe_handshake", "HandshakeId"),
    "ListHandshakesForAccount": _list("list_for_account"),
    "ListHandshakesForOrganization": _list("list_for_organization"),
    "DescribeOrganization": _read("describe_organization"),
    "ListAccounts": _list("list_accounts"),
    "DescribeAccount": _read("describe_account", "AccountId"),
    "ListRoots": _list("list_roots"),
    "ListAWSServiceAccessForOrganization": _list("list_aws_service_access_for_organization"),
    "DescribeResponsibilityTransfer": _read("describe_responsibility_transfer", "Id"),
    "ListInboundResponsibilityTransfers": _list("list_inbound_responsibility_transfers"),
    "ListOutboundResponsibilityTransfers": _list("list_outbound_responsibility_transfers"),
}
OPERATIONS: tuple[str, ...] = (*COMMANDS, *QUERIES)  # every operation name, commands first


def dispatch(ledger: Answering, caller: Caller, operation: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Answer one AWS operation for ``caller``; raise an ``OrganizationsError`` otherwise.

    A command is validated inside ``ledger.command`` so that a refused one, invalid input
    included, is audited like any other call.
    """
    command = COMMANDS.get(operation)
    if command is not None:
        return ledger.command(command, caller, operation, params or {})
    handler = QUERIES.get(operation)
    if handler is None:
        raise errors.UnknownOperationException(f"Unknown operation {operation}.")
    return ledger.query(handler, caller, parse_request(operation, params or {}))
