"""The one dispatch: operation name → request model → application or read model → wire shape.

The in-process client and the HTTP service both call ``dispatch``; neither adds rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from ledger import errors
from ledger.application import Caller
from ledger.commands import parse_request
from ledger.shapes import account_shape, describe_handshake, organization_shape, root_shape, service_access_shape

if TYPE_CHECKING:
    from ledger.entrypoints.bootstrap import LedgerReader

Handler = Callable[["LedgerReader", Caller, Any, datetime], dict[str, Any]]


def _handshake(method: str) -> Handler:
    def handle(ledger: Any, caller: Caller, request: Any, now: datetime) -> dict[str, Any]:
        handshake = getattr(ledger.app, method)(caller, request.HandshakeId)
        return {"Handshake": describe_handshake(handshake, now)}
    return handle


def _invite(ledger: Any, caller: Caller, request: Any, now: datetime) -> dict[str, Any]:
    handshake = ledger.app.invite_account_to_organization(
        caller, request.Target.Type, request.Target.Id, notes=request.Notes,
        tags=[tag.model_dump() for tag in request.Tags or ()],
    )
    return {"Handshake": describe_handshake(handshake, now)}


def _enable_all_features(ledger: Any, caller: Caller, request: Any, now: datetime) -> dict[str, Any]:
    return {"Handshake": describe_handshake(ledger.app.enable_all_features(caller), now)}


def _create_organization(ledger: Any, caller: Caller, request: Any, now: datetime) -> dict[str, Any]:
    return {"Organization": organization_shape(ledger.app.create_organization(caller, request.FeatureSet or "ALL"))}


def _describe_organization(ledger: Any, caller: Caller, request: Any, now: datetime) -> dict[str, Any]:
    return {"Organization": organization_shape(ledger.app.describe_organization(caller))}


def _no_output(method: str, *fields: str) -> Handler:
    def handle(ledger: Any, caller: Caller, request: Any, now: datetime) -> dict[str, Any]:
        getattr(ledger.app, method)(caller, *(getattr(request, f) for f in fields))
        return {}
    return handle


def _page(ledger: Any, caller: Caller, request: Any, operation: str, result_key: str, keys: list[str],
          shape: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """One page of ``keys`` (sorted, unique) after the request's NextToken, each item shaped."""
    scope = {"op": operation, "caller": caller.account_id}
    if request.NextToken:
        after = ledger.tokens.read(request.NextToken, scope)[0]
        keys = [k for k in keys if k > after]
    size = request.MaxResults or 20
    answer: dict[str, Any] = {result_key: [shape(k) for k in keys[:size]]}
    if len(keys) > size:
        answer["NextToken"] = ledger.tokens.issue(scope, [keys[size - 1]])
    return answer


def _list_accounts(ledger: Any, caller: Caller, request: Any, now: datetime) -> dict[str, Any]:
    organization, account_ids = ledger.app.list_accounts(caller)
    return _page(ledger, caller, request, "ListAccounts", "Accounts", account_ids,
                 lambda account_id: account_shape(organization, account_id))


def _describe_account(ledger: Any, caller: Caller, request: Any, now: datetime) -> dict[str, Any]:
    organization = ledger.app.describe_account(caller, request.AccountId)
    return {"Account": account_shape(organization, request.AccountId)}


def _list_roots(ledger: Any, caller: Caller, request: Any, now: datetime) -> dict[str, Any]:
    organization = ledger.app.list_roots(caller)
    return _page(ledger, caller, request, "ListRoots", "Roots", [organization.root_id],
                 lambda _root_id: root_shape(organization))


def _list_service_access(ledger: Any, caller: Caller, request: Any, now: datetime) -> dict[str, Any]:
    organization = ledger.app.list_aws_service_access_for_organization(caller)
    return _page(ledger, caller, request, "ListAWSServiceAccessForOrganization", "EnabledServicePrincipals",
                 sorted(organization.service_access), lambda principal: service_access_shape(organization, principal))


def _policy_type(method: str) -> Handler:
    def handle(ledger: Any, caller: Caller, request: Any, now: datetime) -> dict[str, Any]:
        return {"Root": root_shape(getattr(ledger.app, method)(caller, request.RootId, request.PolicyType))}
    return handle


def _describe_handshake(ledger: Any, caller: Caller, request: Any, now: datetime) -> dict[str, Any]:
    return ledger.reads.describe(caller.account_id, request.HandshakeId, now)


def _list_for_account(ledger: Any, caller: Caller, request: Any, now: datetime) -> dict[str, Any]:
    return ledger.reads.list_for_account(caller.account_id, request, now)


def _list_for_organization(ledger: Any, caller: Caller, request: Any, now: datetime) -> dict[str, Any]:
    return ledger.reads.list_for_organization(caller.account_id, request, now)


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
    "DescribeHandshake": _describe_handshake,
    "ListHandshakesForAccount": _list_for_account,
    "ListHandshakesForOrganization": _list_for_organization,
    "DescribeOrganization": _describe_organization,
    "ListAccounts": _list_accounts,
    "DescribeAccount": _describe_account,
    "ListRoots": _list_roots,
    "ListAWSServiceAccessForOrganization": _list_service_access,
}
OPERATIONS = {**COMMANDS, **QUERIES}


def dispatch(ledger: LedgerReader, caller: Caller, operation: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Answer one AWS operation for ``caller``; raise an ``OrganizationsError`` otherwise."""
    handler = OPERATIONS.get(operation)
    if handler is None:
        raise errors.UnknownOperationException(f"Unknown operation {operation}.")
    request = parse_request(operation, params or {})
    if operation in COMMANDS:
        answer = ledger.command(handler, caller, request)
    else:
        answer = ledger.query(handler, caller, request)
    return answer
