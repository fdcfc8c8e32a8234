"""DescribeHandshake and the two List operations, answered from the handshake view.

The same code answers for the live ledger and for the ledger as of an instant: only the
view (live, or replayed up to the instant) and ``now`` differ.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ledger import errors
from ledger.shapes import handshake_shape
from projections.handshakes import HandshakeView, from_us, to_us
from projections.paging import TokenCodec

DEFAULT_PAGE = 20


def row_shape(row: Any, now: datetime) -> dict[str, Any]:
    shape = handshake_shape(
        id=row["id"], arn=row["arn"], parties=[], state=row["state"],
        requested_at=from_us(row["requested_us"]), expires_at=from_us(row["expires_us"]),
        action=row["action"], resources=[], now=now,
    )
    # Decoded afresh from the row, so nobody else holds them: the shape's defensive deep copy
    # (for an aggregate's own lists) would only double the cost of a List page.
    shape["Parties"], shape["Resources"] = json.loads(row["parties"]), json.loads(row["resources"])
    return shape


class HandshakeReads:
    def __init__(self, view: HandshakeView, tokens: TokenCodec):
        self.view = view
        self.tokens = tokens

    def describe(self, account_id: str, handshake_id: str, now: datetime) -> dict[str, Any]:
        row = self.view.get(handshake_id)
        if row is None or row["visible_until_us"] <= to_us(now) or not self._is_party(row, account_id):
            raise errors.HandshakeNotFoundException(f"We can't find a handshake with the HandshakeId {handshake_id}.")
        return {"Handshake": row_shape(row, now)}

    def _is_party(self, row: Any, account_id: str) -> bool:
        if account_id in (row["sender_account_id"], row["recipient_account_id"]):
            return True
        return bool(row["target_email"]) and row["recipient_account_id"] is None \
            and row["target_email"] == self.view.email_of(account_id)

    def list_for_account(self, account_id: str, request: Any, now: datetime) -> dict[str, Any]:
        return self._list("ListHandshakesForAccount", account_id, request, now,
                          lambda **kw: self.view.received_by(account_id, **kw))

    def list_for_organization(self, account_id: str, request: Any, now: datetime) -> dict[str, Any]:
        account = self.view.account(account_id)
        if account is None or account["organization_id"] is None:
            raise errors.AWSOrganizationsNotInUseException()
        if not account["is_management"]:
            raise errors.AccessDeniedException(
                "Only the management account can list the handshakes of the organization."
            )
        organization_id = account["organization_id"]
        return self._list("ListHandshakesForOrganization", account_id, request, now,
                          lambda **kw: self.view.of_organization(organization_id, **kw))

    def _list(self, operation: str, account_id: str, request: Any, now: datetime, fetch: Any) -> dict[str, Any]:
        action = request.Filter.ActionType if request.Filter else None
        parent_id = request.Filter.ParentHandshakeId if request.Filter else None
        scope = {"op": operation, "caller": account_id, "action": action, "parent": parent_id}
        after = tuple(self.tokens.read(request.NextToken, scope)) if request.NextToken else None
        page = fetch(now=now, action=action, parent_id=parent_id, after=after,
                     limit=request.MaxResults or DEFAULT_PAGE)
        answer: dict[str, Any] = {"Handshakes": [row_shape(row, now) for row in page.rows]}
        if page.has_more:
            last = page.rows[-1]
            answer["NextToken"] = self.tokens.issue(scope, [last["requested_us"], last["id"]])
        return answer
