"""Analytics over the handshake view's rows: outcomes, acceptance rate, time to decision,
invitations per day, per organization and action type. Expired handshakes are counted from
their expiry instants at ``now``, never from a timer; retention does not hide anything here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, Iterable

from ledger.domain.handshake import LIVE_STATES, ended_at, state_at
from ledger.domain.instants import from_us, to_us
from projections.view_tables import MICROS

OUTCOMES = ("ACCEPTED", "DECLINED", "CANCELED", "EXPIRED", "OPEN")


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (no interpolation): a value that really occurred."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(fraction * 100) * len(ordered) // 100))
    return ordered[rank - 1]


def analytics(rows: Iterable[Any], *, now: datetime, by: str = "organization") -> list[dict[str, Any]]:
    """One summary per (organization, action), or per action with ``by="action"``."""
    groups: dict[tuple[str, ...], list[Any]] = defaultdict(list)
    for row in rows:
        key = (row["action"],) if by == "action" else (row["organization_id"], row["action"])
        groups[key].append(row)
    return [_summary(key, group, now, by) for key, group in sorted(groups.items())]


def _summary(key: tuple[str, ...], rows: list[Any], now: datetime, by: str) -> dict[str, Any]:
    counts = dict.fromkeys(OUTCOMES, 0)
    decision_seconds: list[float] = []
    per_day: dict[str, int] = defaultdict(int)
    for row in rows:
        state = state_at(row["state"], from_us(row["expires_us"]), now)
        counts["OPEN" if state in LIVE_STATES else state] += 1
        if state in ("ACCEPTED", "DECLINED"):
            decision_seconds.append((row["closed_us"] - row["requested_us"]) / MICROS)
        per_day[from_us(row["requested_us"]).date().isoformat()] += 1
    ended = sum(counts[s] for s in ("ACCEPTED", "DECLINED", "CANCELED", "EXPIRED"))
    summary: dict[str, Any] = {} if by == "action" else {"OrganizationId": key[0]}
    summary.update({
        "Action": key[-1],
        "Total": len(rows),
        **{state.title(): n for state, n in counts.items()},
        "AcceptanceRate": round(counts["ACCEPTED"] / ended, 4) if ended else None,
        "DecisionSecondsP50": percentile(decision_seconds, 0.5),
        "DecisionSecondsP90": percentile(decision_seconds, 0.9),
        "RequestsPerDay": dict(sorted(per_day.items())),
    })
    return summary


def outcomes_per_day(rows: Iterable[Any], *, now: datetime) -> list[dict[str, Any]]:
    """Per UTC day up to ``now``: handshakes requested, and handshakes ended by outcome on the day
    they ended (answered or canceled at the event, EXPIRED at the expiry instant)."""
    ended = [outcome.title() for outcome in OUTCOMES if outcome != "OPEN"]
    days: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(("Requested", *ended), 0))
    now_us = to_us(now)
    for row in rows:
        if row["requested_us"] <= now_us:
            days[from_us(row["requested_us"]).date().isoformat()]["Requested"] += 1
        closed = from_us(row["closed_us"]) if row["closed_us"] is not None else None
        end = ended_at(row["state"], closed, from_us(row["expires_us"]), now)
        if end is not None and end <= now:
            days[end.date().isoformat()][state_at(row["state"], from_us(row["expires_us"]), now).title()] += 1
    return [{"Day": day, **counts} for day, counts in sorted(days.items())]


__all__ = ["analytics", "outcomes_per_day", "percentile", "to_us"]
