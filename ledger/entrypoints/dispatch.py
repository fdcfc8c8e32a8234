"""The one dispatch: operation name → request model → application or read model → wire shape.

The in-process clients and the HTTP service both call ``dispatch``; neither adds rules.
Commands go to the application (``ledger.app``) and answer from what they changed; queries
go to the read model (``ledger.reads``) at the reader's moment: the live view now, or the view
as of an instant or position (``ledger.at``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol

from ledger.domain import errors
from ledger.service_layer.audit import Caller
from ledger.service_layer.requests import parse_request
from ledger.service_layer.shapes import describe_handshake, organization_shape, root_shape

if TYPE_CHECKING:
    from projections.queries import Moment


class Answering(Protocol):
    """What dispatch needs of a ledger (``facade.Ledger``, ``facade.LedgerAt``): a way to run a
    command (validated, audited, committed) and a query (at the reader's moment). Each calls the
    operation's handler back with itself: command handlers use its application (``ledger.app``),
    query handlers its read model (``ledger.reads``)."""

    def command(self, handler: Handler, caller: Caller, operation: str, params: dict[str, Any]) -> dict[str, Any]: ...

    def query(self, handler: Handler, caller: Caller, request: Any) -> dict[str, Any]: ...


Handler = Callable[[Any, Caller, Any, "Moment"], dict[str, Any]]


# -- commands: the application, answered from the aggregates they changed ----------------------

def _handshake(method: str) -> Handler:
    def handle(ledger: Any, caller: Caller, request: Any, moment: Moment) -> dict[str, Any]:
        handshake = getattr(ledger.app, method)(caller, request.HandshakeId)
        return {"Handshake": describe_handshake(handshake, moment.instant)}
    return handle


def _invite(ledger: Any, caller: Caller, request: Any, moment: Moment) -> dict[str, Any]:
    handshake = ledger.app.invite_account_to_organization(
        caller, request.Target.Type, request.Target.Id, notes=request.Notes,
        tags=[tag.model_dump() for tag in request.Tags or ()],
    )
    return {"Handshake": describe_handshake(handshake, moment.instant)}


def _enable_all_features(ledger: Any, caller: Caller, request: Any, moment: Moment) -> dict[str, Any]:
    return {"Handshake": describe_handshake(ledger.app.enable_all_features(caller), moment.instant)}


def _create_organization(ledger: Any, caller: Caller, request: Any, moment: Moment) -> dict[str, Any]:
    organization = ledger.app.create_organization(caller, request.FeatureSet or "ALL")
    return {"Organization": organization_shape(organization, ledger.app.email_of(organization.management_account_id))}


def _policy_type(method: str) -> Handler:
    def handle(ledger: Any, caller: Caller, request: Any, moment: Moment) -> dict[str, Any]:
        return {"Root": root_shape(getattr(ledger.app, method)(caller, request.RootId, request.PolicyType))}
    return handle


def _no_output(method: str, *fields: str) -> Handler:
    def handle(ledger: Any, caller: Caller, request: Any, moment: Moment) -> dict[str, Any]:
        getattr(ledger.app, method)(caller, *(getattr(request, f) for f in fields))
        return {}
    return handle


# -- queries: the read model at the reader's moment ---------------------------------------------

def _read(method: str, *fields: str) -> Handler:
    def handle(ledger: Any, caller: Caller, request: Any, moment: Moment) -> dict[str, Any]:
        return getattr(ledger.reads, method)(caller.account_id, *(getattr(request, f) for f in fields), moment)
    return handle


def _list(method: str) -> Handler:
    def handle(ledger: Any, caller: Caller, request: Any, moment: Moment) -> dict[str, Any]:
        return getattr(ledger.reads, method)(caller.account_id, request, moment)
    return handle


COMMANDS: dict[str, Handler] = {
    "InviteAccountToOrganization": _invite,
    "AcceptHandshake": _handshake("accept_handshake"),
    "DeclineHandshake": _handshake("decline_handshake"),
    "CancelHandshake": _handshake("cancel_handshake"),
    "EnableAllFeatures": _enable_all_features,
    "CreateOrganization": _create_organization,
    "DeleteOrganization": _no_output("delete_organization"),
    "LeaveOrganization": _no_output("leave_organization"),
    "RemoveAccountFromOrganization": _no_output("remove_account_from_organization", "AccountId"),
    "EnablePolicyType": _policy_type("enable_policy_type"),
    "DisablePolicyType": _policy_type("disable_policy_type"),
    "EnableAWSServiceAccess": _no_output("enable_aws_service_access", "ServicePrincipal"),
    "DisableAWSServiceAccess": _no_output("disable_aws_service_access", "ServicePrincipal"),
}
QUERIES: dict[str, Handler] = {
    "DescribeHandshake": _read("describe_handshake", "HandshakeId"),
    "ListHandshakesForAccount": _list("list_for_account"),
    "ListHandshakesForOrganization": _list("list_for_organization"),
    "DescribeOrganization": _read("describe_organization"),
    "ListAccounts": _list("list_accounts"),
    "DescribeAccount": _read("describe_account", "AccountId"),
    "ListRoots": _list("list_roots"),
    "ListAWSServiceAccessForOrganization": _list("list_aws_service_access_for_organization"),
}
OPERATIONS = {**COMMANDS, **QUERIES}


def dispatch(ledger: Answering, caller: Caller, operation: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Answer one AWS operation for ``caller``; raise an ``OrganizationsError`` otherwise.

    A command is validated inside ``ledger.command`` so that a refused one, invalid input
    included, is audited like any other call (issue 12).
    """
    handler = OPERATIONS.get(operation)
    if handler is None:
        raise errors.UnknownOperationException(f"Unknown operation {operation}.")
    if operation in COMMANDS:
        return ledger.command(handler, caller, operation, params or {})
    return ledger.query(handler, caller, parse_request(operation, params or {}))
