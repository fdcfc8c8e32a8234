"""What the web UI asks of the view beyond the AWS reads: the ledger's handshakes filtered by
organization, action, state, recipient or email (newest first, keyset paging) and their counts
by state; the organizations with their member counts; a parent's children; the analytics' rows.

Every query reads the versioned tables at a ``Moment`` (the live view, or as of an instant or a
position: index lookups, no replay) and judges expiry and retention at the moment's instant as
the AWS reads do (decisions 13-14): a List shows what the API's Lists would. A ``Scope`` narrows
every query to what one account may see through the API: what ListHandshakesForAccount and, for a
management account, ListHandshakesForOrganization answer it (decision 16).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.domain.directory import email_key
from ledger.domain.handshake import EXPIRED, LIVE_STATES
from ledger.domain.instants import from_us
from projections.queries import LONGEST_VISIBLE_US, WITH_DOCUMENT, Moment, Page, ViewQueries
from projections.aws_reads import ViewDirectory
from projections.rollup_visible import STATES, visible_counts
from projections.versions import valid_at

# One pass, no sort: a sum per state as a reader sees it at the moment (``ledger.domain.handshake.state_at``
# in SQL). ``{now}`` is the moment's instant; the index on the requested time covers every column.
STATE_SUMS = ", ".join(
    [f"SUM(CASE WHEN state = '{s}' AND expires_us > {{now}} THEN 1 ELSE 0 END) AS {s}" for s in LIVE_STATES]
    + [f"SUM(CASE WHEN state = '{s}' THEN 1 ELSE 0 END) AS {s}" for s in ("ACCEPTED", "DECLINED", "CANCELED")]
    + [f"SUM(CASE WHEN state IN {LIVE_STATES} AND expires_us <= {{now}} THEN 1 ELSE 0 END) AS EXPIRED"]
)


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to; None is no filter. ``recipient``: an account id, matched as
    ListHandshakesForAccount matches it; ``email``: an EMAIL target, compared case-insensitively."""

    organization_id: str | None = None
    action: str | None = None
    state: str | None = None
    recipient: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Scope:
    """Whose view: the whole ledger (None), or what this account may see through the API."""

    account_id: str | None = None


Sql = tuple[str, list[Any]]


class LedgerBrowser:
    """The UI's queries over a ``ViewQueries``' view."""

    def __init__(self, queries: ViewQueries):
        self.queries = queries
        self.view = queries.view

    # -- handshakes -------------------------------------------------------------------------------

    def handshakes(self, moment: Moment, filters: Filters, scope: Scope, *, after: tuple[int, str] | None,
                   limit: int) -> Page:
        """Visible handshakes, newest first (the Lists' order, decision 17), after ``after``.

        A scope is a union of sources, each an indexed query (as ListHandshakesForAccount's by
        account and by email), merged here; one row more than asked tells if there is more."""
        where, params = self._visible(moment, filters)
        if after:
            where += " AND (h.requested_us < ? OR (h.requested_us = ? AND h.id < ?))"
            params += [after[0], after[0], after[1]]
        found: dict[str, Any] = {}
        for source, source_params in self._sources(moment, scope):
            text = (f"SELECT {WITH_DOCUMENT} WHERE {source} AND {where} "
                    "ORDER BY h.requested_us DESC, h.id DESC LIMIT ?")
            for row in self.view.query(text, [*source_params, *params, limit + 1]):
                found[row["id"]] = row
        rows = sorted(found.values(), key=lambda r: (r["requested_us"], r["id"]), reverse=True)
        return Page(rows[:limit], len(rows) > limit)

    def counts(self, moment: Moment, filters: Filters, scope: Scope) -> dict[str, int]:
        """How many visible handshakes are in each state (as read at the moment), and in all. The
        whole ledger's, or an action's, from the counters (``projections/rollup_visible.py``);
        narrower ones from the rows."""
        if scope.account_id is None and not (filters.organization_id or filters.recipient or filters.email):
            counts = visible_counts(self.view, moment, action=filters.action)
            if filters.state:
                counts = {state: n if state == filters.state else 0 for state, n in counts.items()}
            counts["TOTAL"] = sum(counts.values())
            return counts
        return self.counts_from_rows(moment, filters, scope)

    def counts_from_rows(self, moment: Moment, filters: Filters, scope: Scope) -> dict[str, int]:
        """``counts`` read from the visible handshake rows themselves (one pass over the scope's index)."""
        where, params = self._visible(moment, filters)
        union, union_params = self._union(moment, scope)
        sums = STATE_SUMS.format(now=int(moment.instant_us))
        row = self.view.query(f"SELECT {sums} FROM {{p}}handshakes WHERE {union} AND {where}",
                              [*union_params, *params])[0]
        counts = {state: int(row[state.lower()] or 0) for state in STATES}
        counts["TOTAL"] = sum(counts.values())
        return counts

    def children(self, parent_id: str, moment: Moment) -> list[Any]:
        """An ENABLE_ALL_FEATURES handshake's APPROVE_ALL_FEATURES children, as they stood."""
        valid, params = valid_at(moment.position)
        return self.view.query(f"SELECT {WITH_DOCUMENT} WHERE h.parent_id = ? AND {valid} ORDER BY h.id",
                               [parent_id, *params])

    def facts_where(self, moment: Moment, scope: Scope) -> Sql:
        """Which handshake versions ``facts`` reads, as a condition (for analytics computed in SQL)."""
        valid, params = valid_at(moment.position)
        if scope.account_id is None:
            return valid, params
        union, union_params = self._union(moment, scope)
        return f"{union} AND {valid}", [*union_params, *params]

    def facts(self, moment: Moment, scope: Scope) -> list[Any]:
        """Every handshake in the scope as it stood, whatever its retention (for the analytics)."""
        if scope.account_id is None:
            return self.queries.facts(moment)
        union, union_params = self._union(moment, scope)
        valid, params = valid_at(moment.position)
        return self.view.query(f"SELECT * FROM {{p}}handshakes WHERE {union} AND {valid}", [*union_params, *params])

    def _visible(self, moment: Moment, filters: Filters) -> Sql:
        """Current at the moment, not past retention (as the Lists judge it), and the filters."""
        valid, valid_params = valid_at(moment.position)
        now_us = moment.instant_us
        clauses = ["requested_us > ?", "visible_until_us > ?", valid]
        params: list[Any] = [now_us - LONGEST_VISIBLE_US, now_us, *valid_params]
        if moment.position is not None:  # nothing requested after the log's prefix: seek past it
            clauses.append("requested_us <= ?")
            params.append(self._recorded_by(moment.position))
        for column, value in (("organization_id", filters.organization_id), ("action", filters.action),
                              ("target_email", filters.email and email_key(filters.email))):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if filters.recipient:
            source, source_params = self._received_by(filters.recipient, moment)
            clauses.append(f"({source})")
            params += source_params
        if filters.state == EXPIRED:
            clauses.append("state IN ('REQUESTED', 'OPEN') AND expires_us <= ?")
            params.append(now_us)
        elif filters.state in LIVE_STATES:
            clauses.append("state = ? AND expires_us > ?")
            params += [filters.state, now_us]
        elif filters.state:
            clauses.append("state = ?")
            params.append(filters.state)
        return " AND ".join(clauses), params

    def _received_by(self, account_id: str, moment: Moment) -> Sql:
        """ListHandshakesForAccount's rule: addressed to the account, or an unanswered EMAIL
        invitation to its email as the directory stood then (decision 19)."""
        key = email_key(ViewDirectory(self.queries, moment).email_of(account_id))
        return "recipient_account_id = ? OR (recipient_account_id IS NULL AND target_email = ?)", [account_id, key]

    def _sources(self, moment: Moment, scope: Scope) -> list[Sql]:
        """The whole ledger, or the handshakes the scope's account receives and, if it manages an
        organization then, those of its organization."""
        if scope.account_id is None:
            return [("1 = 1", [])]
        key = email_key(ViewDirectory(self.queries, moment).email_of(scope.account_id))
        sources: list[Sql] = [("recipient_account_id = ?", [scope.account_id]),
                              ("recipient_account_id IS NULL AND target_email = ?", [key])]
        managed = self.managed_by(scope.account_id, moment)
        if managed:
            sources.append(("organization_id = ?", [managed]))
        return sources

    def _union(self, moment: Moment, scope: Scope) -> Sql:
        """The scope's sources as one condition (for queries that need no order)."""
        sources = self._sources(moment, scope)
        return "(" + " OR ".join(f"({source})" for source, _ in sources) + ")", [p for _, ps in sources for p in ps]

    # -- organizations ------------------------------------------------------------------------------

    def managed_by(self, account_id: str, moment: Moment) -> str | None:
        """The organization the account manages at the moment, if any."""
        account = self.queries.account(account_id, moment)
        organization = account and account["organization_id"] and \
            self.queries.organization(account["organization_id"], moment)
        return organization["organization_id"] if organization and \
            organization["management_account_id"] == account_id else None

    def organizations(self, moment: Moment, scope: Scope, *, after: str | None, limit: int) -> list[Any]:
        """Organizations by id after ``after`` with their member counts (one more than ``limit`` if
        there are); a scope sees its account's own organization only."""
        org_valid, org_params = valid_at(moment.position, "o.")
        member_valid, member_params = valid_at(moment.position, "a.")
        where, params = f"{org_valid} AND o.deleted = 0 AND o.organization_id > ?", [*org_params, after or ""]
        if scope.account_id is not None:
            account = self.queries.account(scope.account_id, moment)
            where += " AND o.organization_id = ?"
            params.append(account["organization_id"] if account else None)
        text = (f"SELECT o.*, (SELECT COUNT(*) FROM {{p}}accounts a WHERE a.organization_id = o.organization_id "
                f"AND {member_valid}) AS members FROM {{p}}organizations o WHERE {where} "
                "ORDER BY o.organization_id LIMIT ?")
        return self.view.query(text, [*member_params, *params, limit + 1])

    # -- the time index ---------------------------------------------------------------------------------

    def _recorded_by(self, position: int) -> int:
        """The latest timestamp (us) of the events up to ``position``: no row of the prefix is later."""
        rows = self.view.query("SELECT high_us FROM {p}event_times WHERE notification_id = ?", [position])
        return rows[0]["high_us"] if rows else 0

    def first_instant(self) -> datetime | None:
        """When the first event of the log was recorded (None: an empty log): the first position's
        instant, or an earlier one recorded out of order (below the running maximum: a partial index
        holds those), never a scan of every position."""
        rows = self.view.query(
            "SELECT MIN(first) AS first FROM (SELECT timestamp_us AS first FROM "
            "(SELECT timestamp_us FROM {p}event_times ORDER BY notification_id LIMIT 1) AS head "
            "UNION ALL SELECT MIN(timestamp_us) FROM {p}event_times WHERE timestamp_us < high_us) AS candidates")
        return from_us(rows[0]["first"]) if rows and rows[0]["first"] is not None else None
