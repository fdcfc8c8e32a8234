"""What changed between two moments: every handshake whose visible answer differs (issue 15).

A handshake's DescribeHandshake answer changes in two ways: a new version (an event), or time
alone (its derived expiry, its retention's end). Both are found from the view's indexes: the
versions made between the two positions, and the versions current at both whose expiry or
retention end falls between the two instants. Each candidate is then answered at both
moments and kept if the answers differ.
"""

from __future__ import annotations

from typing import Any

from ledger.domain.errors import HandshakeNotFoundException
from projections.queries import Moment
from projections.aws_reads import LedgerReads, handshake_answer


def changes(reads: LedgerReads, before: Moment, after: Moment, *, organization_id: str | None = None,
            account_id: str | None = None) -> list[dict[str, Any]]:
    """``[{"HandshakeId", "Before", "After"}]``, newest request first. Before/After: the Describe
    answer, or None where there was none (not yet, or no longer, visible). With ``account_id``,
    as that account's DescribeHandshake answered (its parties only); with ``organization_id``,
    only that organization's handshakes."""
    queries = reads.queries
    low, high = sorted((before.position or 0, after.position or 0))
    candidates = set(queries.changed_handshakes(low, high)) | set(queries.crossing_time(before, after))
    found = []
    for handshake_id in candidates:
        rows = queries.handshake(handshake_id, before), queries.handshake(handshake_id, after)
        row = rows[1] or rows[0]
        if row is None:  # never visible at either moment
            continue
        if organization_id and row["organization_id"] != organization_id:
            continue
        answers = tuple(_answer(reads, handshake_id, r, m, account_id) for r, m in zip(rows, (before, after)))
        if answers[0] != answers[1]:
            found.append((row["requested_us"], handshake_id, answers))
    found.sort(reverse=True)
    return [{"HandshakeId": handshake_id, "Before": was, "After": now} for _, handshake_id, (was, now) in found]


def _answer(reads: LedgerReads, handshake_id: str, row: Any, moment: Moment, account_id: str | None) -> Any:
    if account_id is not None:
        try:
            return reads.describe_handshake(account_id, handshake_id, moment)["Handshake"]
        except HandshakeNotFoundException:
            return None
    if row is None or row["visible_until_us"] <= moment.instant_us:
        return None
    return handshake_answer(row, moment)
