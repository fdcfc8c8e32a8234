"""Analytics over the handshake view's rows: outcomes, acceptance rate, time to decision,
invitations per day, per organization and action type. Expired handshakes are counted from
their expiry instants at ``now``, never from a timer; retention does not hide anything here.

``analytics_of``/``outcomes_per_day_of`` answer in SQL (GROUP BY over the versions current at the
moment, the derived expiry a CASE on ``expires_us``; exact nearest-rank percentiles by a window
function): no handshake row reaches Python, only one row per group, day or percentile.
``analytics``/``outcomes_per_day`` compute the same from rows in Python: the reference the tests
compare with (a full recomputation).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
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


# -- the same in SQL -------------------------------------------------------------------------------

DAY_US = 86_400 * MICROS
LIVE = "state IN ('REQUESTED', 'OPEN')"
DECIDED = "state IN ('ACCEPTED', 'DECLINED')"
Where = tuple[str, list[Any]]  # which handshake versions: a condition and its parameters


def analytics_of(view: Any, where: Where, *, now: datetime, by: str = "organization") -> list[dict[str, Any]]:
    """What ``analytics`` answers, computed by the store over the versions ``where`` selects
    (``valid_at(position)``, perhaps narrowed). ``view``: anything with ``query(sql, params)``."""
    condition, params = where
    keys = ["action"] if by == "action" else ["organization_id", "action"]
    group = ", ".join(keys)
    now_us = to_us(now)
    counts = view.query(
        f"SELECT {group}, COUNT(*) AS total, "
        "SUM(CASE WHEN state = 'ACCEPTED' THEN 1 ELSE 0 END) AS accepted, "
        "SUM(CASE WHEN state = 'DECLINED' THEN 1 ELSE 0 END) AS declined, "
        "SUM(CASE WHEN state = 'CANCELED' THEN 1 ELSE 0 END) AS canceled, "
        f"SUM(CASE WHEN {LIVE} AND expires_us <= ? THEN 1 ELSE 0 END) AS expired, "
        f"SUM(CASE WHEN {LIVE} AND expires_us > ? THEN 1 ELSE 0 END) AS open "
        f"FROM {{p}}handshakes WHERE {condition} GROUP BY {group}", [now_us, now_us, *params])
    days = view.query(f"SELECT {group}, requested_us / {DAY_US} AS day, COUNT(*) AS n FROM {{p}}handshakes "
                      f"WHERE {condition} GROUP BY {group}, requested_us / {DAY_US}", params)
    ranked = view.query(
        f"SELECT {group}, r, n, d FROM (SELECT {group}, closed_us - requested_us AS d, "
        f"ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY closed_us - requested_us) AS r, "
        f"COUNT(*) OVER (PARTITION BY {group}) AS n FROM {{p}}handshakes WHERE {condition} AND {DECIDED}) ranked "
        "WHERE r = (50 * n + 99) / 100 OR r = (90 * n + 99) / 100", params)
    per_day: dict[tuple[str, ...], dict[str, int]] = defaultdict(dict)
    for row in days:
        day = (EPOCH_DATE + timedelta(days=int(row["day"]))).isoformat()
        per_day[tuple(row[k] for k in keys)][day] = int(row["n"])
    quantiles: dict[tuple[str, ...], dict[int, float]] = defaultdict(dict)
    for row in ranked:
        key, n, r = tuple(row[k] for k in keys), int(row["n"]), int(row["r"])
        for fraction in (50, 90):
            if r == (fraction * n + 99) // 100:
                quantiles[key][fraction] = int(row["d"]) / MICROS
    summaries = []
    for row in sorted(counts, key=lambda r: tuple(r[k] for k in keys)):
        key = tuple(row[k] for k in keys)
        outcome = {state.title(): int(row[state.lower()]) for state in OUTCOMES}
        ended = sum(outcome[s] for s in ("Accepted", "Declined", "Canceled", "Expired"))
        summary: dict[str, Any] = {} if by == "action" else {"OrganizationId": key[0]}
        summary.update({
            "Action": key[-1], "Total": int(row["total"]), **outcome,
            "AcceptanceRate": round(outcome["Accepted"] / ended, 4) if ended else None,
            "DecisionSecondsP50": quantiles[key].get(50), "DecisionSecondsP90": quantiles[key].get(90),
            "RequestsPerDay": dict(sorted(per_day[key].items())),
        })
        summaries.append(summary)
    return summaries


def outcomes_per_day_of(view: Any, where: Where, *, now: datetime) -> list[dict[str, Any]]:
    """What ``outcomes_per_day`` answers, computed by the store."""
    condition, params = where
    now_us = to_us(now)
    days: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(("Requested", *ENDED), 0))
    for row in view.query(f"SELECT requested_us / {DAY_US} AS day, COUNT(*) AS n FROM {{p}}handshakes "
                          f"WHERE {condition} AND requested_us <= ? GROUP BY requested_us / {DAY_US}",
                          [*params, now_us]):
        days[_day(row["day"])]["Requested"] += int(row["n"])
    ending = f"CASE WHEN {LIVE} THEN expires_us ELSE closed_us END"
    outcome = f"CASE WHEN {LIVE} THEN 'EXPIRED' ELSE state END"
    for row in view.query(f"SELECT {ending} / {DAY_US} AS day, {outcome} AS outcome, COUNT(*) AS n "
                          f"FROM {{p}}handshakes WHERE {condition} AND {ending} <= ? "
                          f"GROUP BY {ending} / {DAY_US}, {outcome}", [*params, now_us]):
        days[_day(row["day"])][str(row["outcome"]).title()] += int(row["n"])
    return [{"Day": day, **counts} for day, counts in sorted(days.items())]


EPOCH_DATE = date(1970, 1, 1)
ENDED = tuple(outcome.title() for outcome in OUTCOMES if outcome != "OPEN")


def _day(number: Any) -> str:
    return (EPOCH_DATE + timedelta(days=int(number))).isoformat()


__all__ = ["analytics", "analytics_of", "outcomes_per_day", "outcomes_per_day_of", "percentile", "to_us"]
