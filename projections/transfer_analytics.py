"""Analytics of billing transfers (``docs/decisions.md`` decisions 20-28): how many transfers stand in
each status, how many are in effect, and how long invitees take to answer (exact nearest-rank p50
and p90), live or as of a moment.

Status is read at the moment's instant (an unanswered invitation past its expiry is EXPIRED,
decision 22); "in effect" likewise. As with the handshakes' analytics, retention hides nothing here:
a transfer declined long ago still counts. Time to answer runs from the invitation to the invitee's
ACCEPTED or DECLINED (a cancellation is the inviter's, not an answer; an expiry is no answer). A
WITHDRAWN transfer was accepted first: its acceptance counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from ledger.domain.instants import from_us
from ledger.domain.transfer import in_effect_at, status_at
from projections.analytics import percentile

STATUSES = ("REQUESTED", "ACCEPTED", "DECLINED", "CANCELED", "EXPIRED", "WITHDRAWN")
MICROS = 1_000_000


def transfer_analytics(rows: Iterable[Any], *, now: datetime) -> dict[str, Any]:
    """``{"Total", "ByStatus": {status: count}, "InEffect", "Answered", "AnswerSecondsP50",
    "AnswerSecondsP90"}`` over the ``transfers`` view rows current at a moment whose instant is ``now``
    (seconds; None when nothing was answered)."""
    by_status = dict.fromkeys(STATUSES, 0)
    in_effect = 0
    answer_seconds: list[float] = []
    total = 0
    for row in rows:
        total += 1
        stored = row["status"]
        by_status[status_at(stored, from_us(row["expires_us"]), now)] += 1
        end = from_us(row["end_us"]) if row["end_us"] is not None else None
        in_effect += in_effect_at(stored, from_us(row["start_us"]), end, now)
        if stored in ("ACCEPTED", "DECLINED", "WITHDRAWN") and row["closed_us"] is not None:
            answer_seconds.append((row["closed_us"] - row["requested_us"]) / MICROS)
    return {
        "Total": total, "ByStatus": by_status, "InEffect": in_effect, "Answered": len(answer_seconds),
        "AnswerSecondsP50": percentile(answer_seconds, 0.5), "AnswerSecondsP90": percentile(answer_seconds, 0.9),
    }
