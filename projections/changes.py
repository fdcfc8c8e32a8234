"""What changed between two moments: every handshake whose visible answer differs.

A handshake's DescribeHandshake answer changes in two ways: a new version (an event), or time
alone (its derived expiry, its retention's end). Both are found from the view's indexes: the
versions made between the two positions, and the versions current at both whose expiry or
retention end falls between the two instants, narrowed to the organization or the account asked
about inside those queries. The candidates (ids and request instants only) are then read in
chunks, once per moment, and answered from those rows; the answers stream out, newest request
first, so memory holds a chunk of answers however many changes the window holds.
"""

from __future__ import annotations

from typing import Any, Iterator

from ledger.domain.directory import default_email
from ledger.domain.errors import HandshakeNotFoundException
from projections.aws_reads import LedgerReads, handshake_answer
from projections.queries import WITH_DOCUMENT, Moment, email_changes
from projections.transfer_changes import transfer_changes
from projections.versions import valid_at

CHUNK = 500  # candidates read per query


def changes(reads: LedgerReads, before: Moment, after: Moment, *, organization_id: str | None = None,
            account_id: str | None = None) -> Iterator[dict[str, Any]]:
    """``{"HandshakeId", "Before", "After"}`` one by one, newest request first. Before/After: the
    Describe answer, or None where there was none (not yet, or no longer, visible). With
    ``account_id``, as that account's DescribeHandshake answered (its parties only); with
    ``organization_id``, only that organization's handshakes. Then the billing transfers' entries
    (``projections/transfer_changes.py``: ``{"ResponsibilityTransferId", ...}``)."""
    view = reads.queries.view
    narrow, narrow_params = _narrowed(organization_id, account_id)
    candidates = sorted(_candidates(view, before, after, narrow, narrow_params), reverse=True)
    for start in range(0, len(candidates), CHUNK):
        chunk = [handshake_id for _, handshake_id in candidates[start:start + CHUNK]]
        rows = [_rows(view, chunk, moment) for moment in (before, after)]
        for handshake_id in chunk:
            answers = tuple(_answer(reads, handshake_id, found.get(handshake_id), moment, account_id)
                            for found, moment in zip(rows, (before, after)))
            if answers[0] != answers[1]:
                yield {"HandshakeId": handshake_id, "Before": answers[0], "After": answers[1]}
    yield from transfer_changes(reads, before, after, organization_id=organization_id, account_id=account_id)


def _narrowed(organization_id: str | None, account_id: str | None) -> tuple[str, list[Any]]:
    """The SQL that keeps the handshakes of the organization, or those an account may be party to
    (sent by it, received by it, or an EMAIL invitation not yet answered: its address is judged later)."""
    clauses, params = [], []
    if organization_id:
        clauses.append("organization_id = ?")
        params.append(organization_id)
    if account_id:
        clauses.append("(recipient_account_id = ? OR sender_account_id = ? OR recipient_account_id IS NULL)")
        params += [account_id, account_id]
    return "".join(f" AND {clause}" for clause in clauses), params


def _candidates(view: Any, before: Moment, after: Moment, narrow: str, params: list[Any]) -> set[tuple[int, str]]:
    """(requested_us, id) of every handshake whose answer may differ between the two moments."""
    # The live moment (position None) reads every event the view has applied.
    low, high = sorted(view.position() if m.position is None else m.position for m in (before, after))
    found = {(row["requested_us"], row["id"]) for row in view.query(
        f"SELECT DISTINCT requested_us, id FROM {{p}}handshakes WHERE valid_from > ? AND valid_from <= ?{narrow}",
        [low, high, *params])}
    # Unanswered EMAIL invitations to an address whose owner the directory changed meanwhile (decision 19).
    changed = email_changes(view, low, high)
    keys = sorted({row["email_key"] for row in changed} | {row["was"] for row in changed if row["was"]}
                  | {default_email(row["account_id"]) for row in changed})
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        found |= {(row["requested_us"], row["id"]) for row in view.query(
            f"SELECT DISTINCT requested_us, id FROM {{p}}handshakes WHERE recipient_account_id IS NULL "
            f"AND target_email IN ({', '.join('?' * len(chunk))}){narrow}", [*chunk, *params])}
    # Current at both moments, and ending or leaving retention between their instants: time alone.
    first, first_params = valid_at(before.position)
    second, second_params = valid_at(after.position)
    since, until = sorted((before.instant_us, after.instant_us))
    for column in ("expires_us", "visible_until_us"):
        found |= {(row["requested_us"], row["id"]) for row in view.query(
            f"SELECT requested_us, id FROM {{p}}handshakes WHERE {column} > ? AND {column} <= ? "
            f"AND {first} AND {second}{narrow}", [since, until, *first_params, *second_params, *params])}
    return found


def _rows(view: Any, ids: list[str], moment: Moment) -> dict[str, Any]:
    """The versions of these handshakes current at the moment, with their documents: one query."""
    valid, params = valid_at(moment.position, "h.")
    rows = view.query(f"SELECT {WITH_DOCUMENT} WHERE h.id IN ({', '.join('?' * len(ids))}) AND {valid}",
                      [*ids, *params])
    return {row["id"]: row for row in rows}


def _answer(reads: LedgerReads, handshake_id: str, row: Any, moment: Moment, account_id: str | None) -> Any:
    if account_id is not None:
        if row is None:
            return None
        try:
            return reads.describe_handshake(account_id, handshake_id, moment)["Handshake"]
        except HandshakeNotFoundException:
            return None
    if row is None or row["visible_until_us"] <= moment.instant_us:
        return None
    return handshake_answer(row, moment)
