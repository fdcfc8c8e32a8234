"""The AWS read operations, answered from the view at a moment (live, or as of then).

DescribeHandshake, ListHandshakesForAccount/ForOrganization, DescribeOrganization,
ListAccounts and DescribeAccount: the same code answers the live ledger (moment = the live
view, now) and the ledger as of any instant or position, with the account directory as it
stood then (decision 19) and expiry and retention judged at the moment's instant (13-14).
NextTokens are bound to the caller, the operation, the filter and the moment (decision 17).
"""

from __future__ import annotations

from typing import Any

import orjson

from ledger.domain import errors
from ledger.domain.directory import default_email, default_name, email_key, resolve_owner
from ledger.domain.ids import account_arn
from ledger.domain.organization import check_all_features
from ledger.service_layer.shapes import handshake_shape, organization_shape, root_shape
from ledger.domain.instants import from_us
from projections.paging import TokenCodec
from projections.queries import Moment, ViewQueries
from projections.transfer_reads import TransferQueries, TransferReads

DEFAULT_PAGE = 20


class ViewDirectory:
    """The account directory (``ledger.domain.directory``) as the view saw it at a moment."""

    def __init__(self, queries: ViewQueries, moment: Moment):
        self.queries, self.moment = queries, moment

    def email_of(self, account_id: str) -> str:
        account = self.queries.account(account_id, self.moment)
        return account["email"] if account else default_email(account_id)

    def name_of(self, account_id: str) -> str:
        account = self.queries.account(account_id, self.moment)
        return account["name"] if account else default_name(account_id)

    def owner_of(self, email: str) -> str | None:
        return resolve_owner(email, claimed_by=lambda key: self.queries.claimed_by(key, self.moment),
                             email_of=self.email_of)


def handshake_answer(row: Any, moment: Moment) -> dict[str, Any]:
    # Parties and Resources decoded afresh from the row (orjson: a List page decodes 40 of them).
    shape = handshake_shape(
        id=row["id"], arn=row["arn"], parties=orjson.loads(row["parties"]), state=row["state"],
        requested_at=from_us(row["requested_us"]), expires_at=from_us(row["expires_us"]),
        action=row["action"], resources=orjson.loads(row["resources"]), now=moment.instant,
    )
    if row["state"] == "ACCEPTED" and row["target_email"] is not None:  # the AcceptHandshake example (decision 19)
        shape["Resources"].append({"Type": "ACCOUNT", "Value": row["recipient_account_id"]})
    return shape


class LedgerReads(TransferReads):
    def __init__(self, queries: ViewQueries, tokens: TokenCodec):
        self.queries = queries
        self.transfer_queries = TransferQueries(queries.view)
        self.tokens = tokens

    def directory(self, moment: Moment) -> ViewDirectory:
        return ViewDirectory(self.queries, moment)

    def _pin(self, moment: Moment) -> list[int] | None:
        return pin(moment)

    # -- handshakes ------------------------------------------------------------------------------

    def describe_handshake(self, account_id: str, handshake_id: str, moment: Moment) -> dict[str, Any]:
        row = self.queries.handshake(handshake_id, moment)
        if row is None or row["visible_until_us"] <= moment.instant_us or not self._is_party(row, account_id, moment):
            raise errors.HandshakeNotFoundException(f"We can't find a handshake with the HandshakeId {handshake_id}.")
        return {"Handshake": handshake_answer(row, moment)}

    def _is_party(self, row: Any, account_id: str, moment: Moment) -> bool:
        if account_id in (row["sender_account_id"], row["recipient_account_id"]):
            return True
        return row["recipient_account_id"] is None and row["target_email"] is not None \
            and ViewDirectory(self.queries, moment).owner_of(row["target_email"]) == account_id

    def list_for_account(self, account_id: str, request: Any, moment: Moment) -> dict[str, Any]:
        key = email_key(ViewDirectory(self.queries, moment).email_of(account_id))
        return self._list("ListHandshakesForAccount", account_id, request, moment,
                          lambda **kw: self.queries.received_by(account_id, key, moment, **kw))

    def list_for_organization(self, account_id: str, request: Any, moment: Moment) -> dict[str, Any]:
        organization = self._managed(account_id, moment, "list the handshakes of the organization")
        return self._list("ListHandshakesForOrganization", account_id, request, moment,
                          lambda **kw: self.queries.of_organization(organization["organization_id"], moment, **kw))

    def _list(self, operation: str, account_id: str, request: Any, moment: Moment, fetch: Any) -> dict[str, Any]:
        action = request.Filter.ActionType if request.Filter else None
        parent_id = request.Filter.ParentHandshakeId if request.Filter else None
        scope = self._scope(operation, account_id, moment, action=action, parent=parent_id)
        after = tuple(self.tokens.read(request.NextToken, scope)) if request.NextToken else None
        page = fetch(action=action, parent_id=parent_id, after=after, limit=request.MaxResults or DEFAULT_PAGE)
        answer: dict[str, Any] = {"Handshakes": [handshake_answer(row, moment) for row in page.rows]}
        if page.has_more:
            last = page.rows[-1]
            answer["NextToken"] = self.tokens.issue(scope, [last["requested_us"], last["id"]], pin(moment))
        return answer

    # -- organizations and accounts -------------------------------------------------------------

    def describe_organization(self, account_id: str, moment: Moment) -> dict[str, Any]:
        organization = self._organization_of(account_id, moment)
        mgmt = organization["management_account_id"]
        return {"Organization": organization_shape(
            organization_id=organization["organization_id"], feature_set=organization["feature_set"],
            management_account_id=mgmt, management_email=ViewDirectory(self.queries, moment).email_of(mgmt))}

    def list_accounts(self, account_id: str, request: Any, moment: Moment) -> dict[str, Any]:
        organization = self._managed(account_id, moment, "list the accounts of the organization")
        scope = self._scope("ListAccounts", account_id, moment)
        after = self.tokens.read(request.NextToken, scope)[0] if request.NextToken else None
        size = request.MaxResults or DEFAULT_PAGE
        rows = self.queries.members(organization["organization_id"], moment, after=after, limit=size)
        answer: dict[str, Any] = {"Accounts": [self._account(organization, row) for row in rows[:size]]}
        if len(rows) > size:
            answer["NextToken"] = self.tokens.issue(scope, [rows[size - 1]["account_id"]], pin(moment))
        return answer

    def describe_account(self, account_id: str, member_id: str, moment: Moment) -> dict[str, Any]:
        organization = self._managed(account_id, moment, "describe the accounts of the organization")
        member = self.queries.account(member_id, moment)
        if member is None or member["organization_id"] != organization["organization_id"]:
            raise errors.AccountNotFoundException(
                f"Account {member_id} is not a member of {organization['organization_id']}."
            )
        return {"Account": self._account(organization, member)}

    def list_roots(self, account_id: str, request: Any, moment: Moment) -> dict[str, Any]:
        """The one root; its PolicyTypes are the types enabled in it, ENABLED at once (AWS enables
        in the background and may show PENDING_ENABLE first)."""
        organization = self._managed(account_id, moment, "list the roots of the organization")
        root = root_shape(organization_id=organization["organization_id"],
                          management_account_id=organization["management_account_id"],
                          root_id=organization["root_id"], policy_types=orjson.loads(organization["policy_types"]))
        return self._keyed_page("ListRoots", "Roots", account_id, request, moment, {root["Id"]: root})

    def list_aws_service_access_for_organization(self, account_id: str, request: Any,
                                                 moment: Moment) -> dict[str, Any]:
        organization = self._managed(account_id, moment, "list the services with trusted access")
        check_all_features(organization["feature_set"])
        enabled = {principal: {"ServicePrincipal": principal, "DateEnabled": from_us(us)}
                   for principal, us in orjson.loads(organization["service_access"]).items()}
        return self._keyed_page("ListAWSServiceAccessForOrganization", "EnabledServicePrincipals", account_id,
                                request, moment, enabled)

    def _keyed_page(self, operation: str, result_key: str, account_id: str, request: Any, moment: Moment,
                    items: dict[str, Any]) -> dict[str, Any]:
        """One page of ``items`` in key order, after the request's NextToken."""
        scope = self._scope(operation, account_id, moment)
        keys = sorted(items)
        if request.NextToken:
            after = self.tokens.read(request.NextToken, scope)[0]
            keys = [key for key in keys if key > after]
        size = request.MaxResults or DEFAULT_PAGE
        answer: dict[str, Any] = {result_key: [items[key] for key in keys[:size]]}
        if len(keys) > size:
            answer["NextToken"] = self.tokens.issue(scope, [keys[size - 1]], pin(moment))
        return answer

    def _account(self, organization: Any, row: Any) -> dict[str, Any]:
        """An ``Account`` answer. ``Paths``: where the account sits, ``o-…/r-…/<account id>/`` (the
        model's ``Path`` pattern; no OUs, so under the root). ``JoinedMethod``: INVITED for every
        account, the management account too, as AWS answers it (decision 29): CREATED is for
        accounts made by CreateAccount, which the ledger doesn't have."""
        mgmt, organization_id = organization["management_account_id"], organization["organization_id"]
        return {
            "Id": row["account_id"],
            "Arn": account_arn(mgmt, organization_id, row["account_id"]),
            "Email": row["email"],
            "Name": row["name"],
            "Status": "ACTIVE",
            "State": "ACTIVE",
            "Paths": [f"{organization_id}/{organization['root_id']}/{row['account_id']}/"],
            "JoinedMethod": "INVITED",
            "JoinedTimestamp": from_us(row["joined_us"]),
        }

    def _organization_of(self, account_id: str, moment: Moment) -> Any:
        account = self.queries.account(account_id, moment)
        organization = account and account["organization_id"] and \
            self.queries.organization(account["organization_id"], moment)
        if not organization:
            raise errors.AWSOrganizationsNotInUseException()
        return organization

    def _managed(self, account_id: str, moment: Moment, what: str) -> Any:
        organization = self._organization_of(account_id, moment)
        if organization["management_account_id"] != account_id:
            raise errors.AccessDeniedException(f"Only the management account can {what}.")
        return organization

    @staticmethod
    def _scope(operation: str, account_id: str, moment: Moment, **filters: Any) -> dict[str, Any]:
        """What a NextToken is bound to: the live view, or the moment it was issued for."""
        return {"op": operation, "caller": account_id, "at": token_moment(moment), **filters}


def token_moment(moment: Moment) -> Any:
    """The moment as a NextToken is bound to it: None (the live view), the words it was asked for
    with when they depend on when (the token then pins the first page's moment: ``pin``), or
    (position, instant)."""
    if moment.position is None:
        return None
    return moment.label or [moment.position, moment.instant_us]


def pin(moment: Moment) -> list[int] | None:
    """What a NextToken pins of a moment asked for in words that depend on when (``now``, ``-3d``)."""
    return [moment.position or 0, moment.instant_us] if moment.label else None
