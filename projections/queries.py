"""The view's queries, live or as of a position: one SQL each, all through the versioned tables.

A ``Moment`` says which versions a query reads (``position``: the log up to it; None: the
live view, every event applied) and when their expiry and retention are judged (``instant``).
The live ledger is simply the moment (None, now); time travel is any other moment, answered
from the same indexes (no replay).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ledger.domain.directory import default_email
from ledger.domain.handshake import ALL_FEATURES_LIFETIME, RETENTION
from ledger.domain.instants import from_us, to_us
from projections.versions import valid_at

# A handshake visible at T was requested after T - (90 days + 30 days): a range the List
# indexes can seek instead of walking every older version of the caller.
LONGEST_VISIBLE_US = (ALL_FEATURES_LIFETIME + RETENTION) // timedelta(microseconds=1)


# A handshake version with what never changes of it (ARN, Parties, Resources as requested).
WITH_DOCUMENT = "h.*, d.arn, d.parties, d.resources FROM {p}handshakes h JOIN {p}handshake_documents d ON d.id = h.id"


@dataclass(frozen=True)
class Moment:
    """Which versions a read sees (``position``; None: the live view) and the instant it reads at.
    ``label``: how it was asked for when that depends on when it was asked (``now``, ``-3d``): a
    NextToken then carries the moment of its first page, so the pages read one moment."""

    position: int | None
    instant: datetime
    label: str | None = None

    @property
    def instant_us(self) -> int:
        return to_us(self.instant)


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    has_more: bool


class ViewQueries:
    """Rows of the view as they stood at a moment. ``view``: a ``HandshakeView``."""

    def __init__(self, view: Any):
        self.view = view

    # -- handshakes --------------------------------------------------------------------------

    def handshake(self, handshake_id: str, moment: Moment) -> Any | None:
        valid, params = valid_at(moment.position, "h.")
        rows = self.view.query(f"SELECT {WITH_DOCUMENT} WHERE h.id = ? AND {valid}", [handshake_id, *params])
        return rows[0] if rows else None

    def received_by(self, account_id: str, email_key: str, moment: Moment, *, action: str | None,
                    parent_id: str | None, after: tuple[int, str] | None, limit: int) -> Page:
        """Handshakes addressed to the account: by id, or unanswered EMAIL invitations to its email."""
        rows = self._page("h.recipient_account_id = ?", [account_id], moment, action, parent_id, after, limit)
        by_email = self._page("h.target_email = ? AND h.recipient_account_id IS NULL", [email_key],
                              moment, action, parent_id, after, limit)
        merged = sorted(rows + by_email, key=lambda r: (r["requested_us"], r["id"]), reverse=True)
        return Page(merged[:limit], len(merged) > limit)

    def of_organization(self, organization_id: str, moment: Moment, *, action: str | None, parent_id: str | None,
                        after: tuple[int, str] | None, limit: int) -> Page:
        rows = self._page("h.organization_id = ?", [organization_id], moment, action, parent_id, after, limit)
        return Page(rows[:limit], len(rows) > limit)

    def _page(self, where: str, params: list[Any], moment: Moment, action: str | None, parent_id: str | None,
              after: tuple[int, str] | None, limit: int) -> list[Any]:
        """Newest first, keyset after ``after``; one row more than asked tells if there is more."""
        valid, valid_params = valid_at(moment.position, "h.")
        now_us = moment.instant_us
        clauses = [where, "h.requested_us > ?", "h.visible_until_us > ?", valid]
        values = [*params, now_us - LONGEST_VISIBLE_US, now_us, *valid_params]
        if action:
            clauses.append("h.action = ?")
            values.append(action)
        if parent_id:
            clauses.append("h.parent_id = ?")
            values.append(parent_id)
        if after:
            clauses.append("(h.requested_us < ? OR (h.requested_us = ? AND h.id < ?))")
            values += [after[0], after[0], after[1]]
        text = (f"SELECT {WITH_DOCUMENT} WHERE " + " AND ".join(clauses)
                + " ORDER BY h.requested_us DESC, h.id DESC LIMIT ?")
        return self.view.query(text, [*values, limit + 1])

    def facts(self, moment: Moment) -> list[Any]:
        """Every handshake as it stood, whatever its retention: the analytics read them all."""
        valid, params = valid_at(moment.position)
        return self.view.query(f"SELECT * FROM {{p}}handshakes WHERE {valid}", params)

    # -- the account directory and organizations --------------------------------------------------

    def account(self, account_id: str, moment: Moment) -> Any | None:
        """email, name and membership of an account the ledger had seen by then."""
        valid, params = valid_at(moment.position)
        rows = self.view.query(f"SELECT * FROM {{p}}accounts WHERE account_id = ? AND {valid}", [account_id, *params])
        return rows[0] if rows else None

    def claimed_by(self, email_key: str, moment: Moment) -> str | None:
        """The account whose email (by then) has this key."""
        valid, params = valid_at(moment.position)
        rows = self.view.query(f"SELECT account_id FROM {{p}}accounts WHERE email_key = ? AND {valid}",
                               [email_key, *params])
        return rows[0]["account_id"] if rows else None

    def organization(self, organization_id: str, moment: Moment) -> Any | None:
        valid, params = valid_at(moment.position)
        rows = self.view.query(f"SELECT * FROM {{p}}organizations WHERE organization_id = ? AND {valid}",
                               [organization_id, *params])
        return rows[0] if rows else None

    def members(self, organization_id: str, moment: Moment, *, after: str | None, limit: int) -> list[Any]:
        """Accounts of the organization by id, after ``after``; one more than ``limit`` if there are."""
        valid, params = valid_at(moment.position)
        text = f"SELECT * FROM {{p}}accounts WHERE organization_id = ? AND account_id > ? AND {valid} " \
               "ORDER BY account_id LIMIT ?"
        return self.view.query(text, [organization_id, after or "", *params, limit + 1])

    # -- the time index ------------------------------------------------------------------------------

    def position_at(self, instant: datetime) -> int:
        """The end of the longest prefix of the log recorded at or before ``instant`` (0: none)."""
        rows = self.view.query("SELECT notification_id FROM {p}event_times WHERE high_us <= ? "
                               "ORDER BY high_us DESC, notification_id DESC LIMIT 1", [to_us(instant)])
        return rows[0]["notification_id"] if rows else 0

    def instant_of(self, position: int) -> datetime | None:
        """When the event at ``position`` was recorded (None: no such position in the view)."""
        rows = self.view.query("SELECT timestamp_us FROM {p}event_times WHERE notification_id = ?", [position])
        return from_us(rows[0]["timestamp_us"]) if rows else None


def email_changes(view: Any, low: int, high: int) -> list[Any]:
    """The account versions made between two log positions that changed an email (or made an
    account): ``account_id``, ``email_key`` and ``was`` (the email before, None for a new account).
    Only these move an address to another owner (decision 19); an account joining or leaving an
    organization makes a version too, and is left out."""
    return list(view.query("SELECT account_id, email_key, was FROM {p}email_moves "
                           "WHERE notification_id > ? AND notification_id <= ?", [low, high]))


EMAIL_MOVES = (  # the email moves of a view made before they were kept, from its account versions
    "INSERT INTO {p}email_moves (notification_id, account_id, email_key, was) "
    "SELECT a.valid_from, a.account_id, a.email_key, p.email_key FROM {p}accounts a LEFT JOIN {p}accounts p "
    "ON p.account_id = a.account_id AND p.valid_to = a.valid_from "
    "WHERE p.account_id IS NULL OR p.email_key <> a.email_key")
