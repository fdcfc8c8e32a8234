"""The one dispatch: operation name → request model → application or read model → wire shape.

The in-process clients and the HTTP service both call ``dispatch``; neither adds rules.
Commands go to the application (``ledger.app``) and answer from what they changed; queries
go to the read model (``ledger.reads``) at the reader's moment: the live view now, or the view
as of an instant or position (``ledger.at``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from ledger.domain import errors
from ledger.service_layer.application import Caller
from ledger.service_layer.audit import ApiCall
from ledger.service_layer.requests import parse_request
from ledger.service_layer.shapes import describe_handshake, organization_shape, root_shape

if TYPE_CHECKING:
    from ledger.entrypoints.bootstrap import LedgerReader
    from projections.queries import Moment

Handler = Callable[["LedgerReader", Caller, Any, "Moment"], dict[str, Any]]


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


def dispatch(ledger: LedgerReader, caller: Caller, operation: str, params: dict[str, Any] | None) -> dict[str, Any]:
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
    named = isinstance(target, dict) and target.get("Type") == "ACCOUNT"  # an EMAIL target names no account
    account = params.get("AccountId") or (target.get("Id") if named else None)
    if isinstance(account, str):
        found.append(("AWS::Organizations::Account", account))
    return tuple(found)
