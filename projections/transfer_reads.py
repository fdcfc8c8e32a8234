"""DescribeResponsibilityTransfer, ListInboundResponsibilityTransfers and
ListOutboundResponsibilityTransfers, answered from the view at a moment (live, or as of then).

``TransferQueries``: the SQL over the versioned ``transfers`` table; ``TransferReads``: the
answers, mixed into ``LedgerReads`` (its caller checks, its account directory at the moment, its
NextTokens, decision 17). Status, retention and the account an unanswered EMAIL invitation goes
to are judged at the moment's instant, with the directory as it stood then (decisions 19, 22, 26).
"""

from __future__ import annotations

from typing import Any

from ledger.domain import errors
from ledger.domain.directory import email_key
from ledger.domain.instants import from_us
from ledger.service_layer.transfer_shapes import transfer_shape
from projections.queries import Moment, Page
from projections.versions import valid_at

DEFAULT_PAGE = 20


class TransferQueries:
    """Rows of the ``transfers`` table as they stood at a moment. ``view``: a ``HandshakeView``."""

    def __init__(self, view: Any):
        self.view = view

    def transfer(self, transfer_id: str, moment: Moment) -> Any | None:
        valid, params = valid_at(moment.position)
        rows = self.view.query(f"SELECT * FROM {{p}}transfers WHERE id = ? AND {valid}", [transfer_id, *params])
        return rows[0] if rows else None

    def inbound(self, organization_id: str, moment: Moment, *, after: tuple[int, str] | None, limit: int,
                transfer_id: str | None = None) -> Page:
        where, params = "inviter_organization_id = ?", [organization_id]
        if transfer_id is not None:
            where, params = where + " AND id = ?", [*params, transfer_id]
        rows = self._page(where, params, moment, after, limit)
        return Page(rows[:limit], len(rows) > limit)

    def outbound(self, account_id: str, key: str, moment: Moment, *, after: tuple[int, str] | None,
                 limit: int) -> Page:
        """Transfers whose Source is the account, and unanswered EMAIL invitations to its address."""
        rows = self._page("source_account_id = ?", [account_id], moment, after, limit)
        rows += self._page("source_account_id IS NULL AND target_email = ?", [key], moment, after, limit)
        merged = sorted(rows, key=lambda r: (r["requested_us"], r["id"]), reverse=True)
        return Page(merged[:limit], len(merged) > limit)

    def _page(self, where: str, params: list[Any], moment: Moment, after: tuple[int, str] | None,
              limit: int) -> list[Any]:
        """Newest first, keyset after ``after``; one row more than asked tells if there is more."""
        valid, valid_params = valid_at(moment.position)
        clauses, values = [where, "visible_until_us > ?", valid], [*params, moment.instant_us, *valid_params]
        if after:
            clauses.append("(requested_us < ? OR (requested_us = ? AND id < ?))")
            values += [after[0], after[0], after[1]]
        text = "SELECT * FROM {p}transfers WHERE " + " AND ".join(clauses) + \
            " ORDER BY requested_us DESC, id DESC LIMIT ?"
        return self.view.query(text, [*values, limit + 1])

    def facts(self, moment: Moment) -> list[Any]:
        """Every transfer as it stood, whatever its retention (analytics, the web UI)."""
        valid, params = valid_at(moment.position)
        return self.view.query(f"SELECT * FROM {{p}}transfers WHERE {valid}", params)


def row_fields(row: Any) -> dict[str, Any]:
    """A view row as the fields of ``ResponsibilityTransfer.as_row`` (instants as datetimes)."""
    fields = dict(row)
    for column in ("expires", "start", "end"):
        us = fields.pop(f"{column}_us")
        fields[f"{column}_at"] = from_us(us) if us is not None else None
    return fields


class TransferReads:
    """The transfer answers of ``LedgerReads`` (which provides what is declared here)."""

    queries: Any
    transfer_queries: TransferQueries
    tokens: Any

    def directory(self, moment: Moment) -> Any:
        raise NotImplementedError

    def _managed(self, account_id: str, moment: Moment, what: str) -> Any:
        raise NotImplementedError

    def _scope(self, operation: str, account_id: str, moment: Moment, **filters: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _pin(self, moment: Moment) -> Any:
        raise NotImplementedError

    def describe_responsibility_transfer(self, account_id: str, transfer_id: str, moment: Moment) -> dict[str, Any]:
        organization = self._managed(account_id, moment, "describe a transfer")
        row = self.transfer_queries.transfer(transfer_id, moment)
        if row is None or row["visible_until_us"] <= moment.instant_us or not self._is_side(row, account_id, moment):
            raise errors.ResponsibilityTransferNotFoundException(f"We can't find a transfer with the Id {transfer_id}.")
        return {"ResponsibilityTransfer": self._answer(row, account_id, organization, moment, with_emails=True)}

    def _is_side(self, row: Any, account_id: str, moment: Moment) -> bool:
        if account_id in (row["inviter_account_id"], row["source_account_id"]):
            return True
        return row["source_account_id"] is None and row["target_email"] is not None \
            and self.directory(moment).owner_of(row["target_email"]) == account_id

    def _answer(self, row: Any, account_id: str, organization: Any, moment: Moment, *,
                with_emails: bool) -> dict[str, Any]:
        return transfer_shape(row_fields(row), caller=account_id, caller_organization=organization["organization_id"],
                              now=moment.instant, email_of=self.directory(moment).email_of, with_emails=with_emails)

    def list_inbound_responsibility_transfers(self, account_id: str, request: Any, moment: Moment) -> dict[str, Any]:
        organization = self._managed(account_id, moment, "list inbound transfers")
        answer = self._transfer_page("ListInboundResponsibilityTransfers", account_id, organization, request, moment,
                                     lambda **kw: self.transfer_queries.inbound(
                                         organization["organization_id"], moment, transfer_id=request.Id, **kw),
                                     transfer_id=request.Id)
        if request.Id is not None and not answer["ResponsibilityTransfers"] and not request.NextToken:
            raise errors.ResponsibilityTransferNotFoundException(f"We can't find a transfer with the Id {request.Id}.")
        return answer

    def list_outbound_responsibility_transfers(self, account_id: str, request: Any, moment: Moment) -> dict[str, Any]:
        organization = self._managed(account_id, moment, "list outbound transfers")
        key = email_key(self.directory(moment).email_of(account_id))
        return self._transfer_page("ListOutboundResponsibilityTransfers", account_id, organization, request, moment,
                                   lambda **kw: self.transfer_queries.outbound(account_id, key, moment, **kw))

    def _transfer_page(self, operation: str, account_id: str, organization: Any, request: Any, moment: Moment,
                       fetch: Any, **filters: Any) -> dict[str, Any]:
        scope = self._scope(operation, account_id, moment, type=request.Type, **filters)
        after = tuple(self.tokens.read(request.NextToken, scope)) if request.NextToken else None
        page = fetch(after=after, limit=request.MaxResults or DEFAULT_PAGE)
        answer: dict[str, Any] = {"ResponsibilityTransfers": [
            self._answer(row, account_id, organization, moment, with_emails=False) for row in page.rows]}
        if page.has_more:
            last = page.rows[-1]
            answer["NextToken"] = self.tokens.issue(scope, [last["requested_us"], last["id"]], self._pin(moment))
        return answer
