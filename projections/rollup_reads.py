"""Analytics answered from the rollup (``projections/rollup.py``): the counters of the whole days
before a boundary day, and an exact count over the view's rows from that day on.

At a moment (position P, instant T; the live view: every event, now) the boundary B is the start
of T's UTC day, or of an earlier day if an event after P bears an earlier instant (recorded out of
order, its timestamp below the running maximum ``event_times.high_us``; or a moment ahead of the
log, or held while it grew). So every event after P is at or after B: the
counters of the days before B hold exactly the events up to P there (requests, ends and decisions
by their day; handshakes and closes by the expiry day, a close coming before its expiry). The rest
is read from the rows current at P, each query an index range bounded by the days since B:
requests (``requested_us >= B``), ends (versions made after the last position recorded before B,
closed at or after B) and the expired (live, expiry in [B, T]). One statement reads both parts,
so the live answer is one snapshot of rows and counters.

Per organization, the histograms of time to decision count every day together: the decisions
recorded from B on (the current rows closed at or after B: today's when live, every one since B's
day as of an earlier instant) are taken out of them, and those up to P counted exactly instead. So
per organization as of a past instant the cost also follows the decisions made since that day.

The same answers as ``projections/analytics.analytics`` and ``outcomes_per_day`` (a full
recomputation), except p50/p90 of the time to decision: the days before B come from a log-spaced
histogram, so they are within ``projections.rollup.ERROR`` (2.47%) of the exact nearest rank
(0.5 ms for decisions under 1 ms). The cost follows the answer: the counters read are
(organizations x actions x days x kinds), or (actions x days x kinds) per action, plus one day's rows.
Per action (the whole ledger) B is the start of T's ten minutes instead, and the counters of B's
day before it are read by hour (``rollup_hours``) and by ten minutes (``rollup_slices``): the rows
read are at most ten minutes' worth, whatever the minute of the hour.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Sequence

from ledger.domain.handshake import ACCEPTED, CANCELED, DECLINED
from projections.queries import Moment
from projections.rollup import ALL, DAY_US, HOUR_US, SLICE_US, bucket_of, day_of, hour_of, seconds_of, slice_of
from projections.versions import valid_at

ENDINGS = (ACCEPTED, DECLINED, CANCELED)
EPOCH_DATE = date(1970, 1, 1)


@dataclass
class _Group:
    """The figures of one (organization, action) or one action."""

    requested: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # day -> requests
    requested_by_now: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # those by T
    ended: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))  # (day, outcome) by T
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    decisions: dict[float, int] = field(default_factory=lambda: defaultdict(int))  # seconds -> how many


def boundary_of(view: Any, moment: Moment, unit: int = DAY_US) -> tuple[int, int, int]:
    """B (µs, the start of a ``unit``: a day, ten minutes), the last position recorded before B,
    and the latest instant of the events up to P (nothing current at P was requested later; the
    live view: no bound)."""
    low, latest = moment.instant_us, 2 ** 62
    if moment.position is not None:
        recorded = view.query("SELECT high_us FROM {p}event_times WHERE notification_id = ?", [moment.position])
        latest = int(recorded[0]["high_us"]) if recorded else 0
        # the events after P: those recorded out of order, and the first of the others (any later
        # one in order is no earlier): a moment held while the log grows, or an instant ahead
        for text in ("SELECT MIN(timestamp_us) AS low FROM {p}event_times "
                     "WHERE notification_id > ? AND timestamp_us < high_us",
                     "SELECT timestamp_us AS low FROM {p}event_times WHERE notification_id > ? "
                     "ORDER BY notification_id LIMIT 1"):
            after = view.query(text, [moment.position])
            if after and after[0]["low"] is not None:
                low = min(low, int(after[0]["low"]))
    boundary = low // unit * unit
    rows = view.query("SELECT notification_id FROM {p}event_times WHERE high_us < ? "
                      "ORDER BY high_us DESC, notification_id DESC LIMIT 1", [boundary])
    return boundary, int(rows[0]["notification_id"]) if rows else 0, latest


def _read(view: Any, moment: Moment, *, by_action: bool, per_day: bool = True,
          organizations: Sequence[str] | None = None) -> dict[tuple[str, ...], _Group]:
    """The groups' figures at ``moment``: per action (organization ``*``'s counters, B the start of
    ten minutes), or per (organization, action) (B a day's start), of ``organizations`` only if given."""
    if organizations is not None and not organizations:
        return {}
    boundary, before, latest = boundary_of(view, moment, SLICE_US if by_action else DAY_US)
    now_us = moment.instant_us
    valid, valid_params = valid_at(moment.position)
    # the requests' range is read through their time's index: unary + keeps the planner off valid_from's
    by_request = valid.replace("valid_from", "+valid_from").replace("valid_to", "+valid_to")
    chosen, chosen_params = "", []  # the organizations asked for, in every part
    if organizations is not None:
        chosen, chosen_params = f" AND organization_id IN ({', '.join('?' * len(organizations))})", list(organizations)
    day = day_of(boundary)
    grouped_by = f"'{ALL}'" if by_action else "organization_id"  # what the counts are grouped by, with the action
    parts: list[tuple[str, list[Any]]] = []
    if by_action:  # the days before B's (histograms summed by the store), B's day's hours before B's
        # hour, then B's hour's ten minutes before B
        hour = hour_of(boundary)
        parts += [("SELECT 'b' AS src, organization_id, action, CASE WHEN substr(kind, 1, 1) = 'h' THEN 0 "
                   "ELSE day END AS day, kind, SUM(n) AS n, 0 AS at_us FROM {p}rollup "
                   "WHERE organization_id = ? AND day < ? GROUP BY 2, 3, 4, 5", [ALL, day]),
                  (f"SELECT 'b', '{ALL}', action, {day}, kind, SUM(n), 0 FROM {{p}}rollup_hours "
                   "WHERE hour >= ? AND hour < ? GROUP BY 3, 5", [day * 24, hour]),
                  (f"SELECT 'b', '{ALL}', action, {day}, kind, SUM(n), 0 FROM {{p}}rollup_slices "
                   "WHERE slice >= ? AND slice < ? GROUP BY 3, 5", [hour * HOUR_US // SLICE_US, slice_of(boundary)])]
    else:  # requests by day (if the answer holds them), every other counter summed by the store
        by_day = "kind = 'requested'" if per_day else "1 = 0"
        scope = f"organization_id <> ? AND day < ?{chosen}"
        parts += [("SELECT 'b' AS src, organization_id, action, day, kind, n, 0 AS at_us FROM {p}rollup "
                   f"WHERE {scope} AND {by_day}", [ALL, day, *chosen_params]),
                  ("SELECT 'b', organization_id, action, 0, kind, SUM(n), 0 FROM {p}rollup "
                   f"WHERE {scope} AND NOT ({by_day}) GROUP BY 2, 3, 5", [ALL, day, *chosen_params])]
    parts += [
        (f"SELECT 'q', {grouped_by}, action, requested_us / " + str(DAY_US) + ", "
         "CASE WHEN requested_us <= ? THEN 'requested' ELSE 'later' END, COUNT(*), 0 FROM {p}handshakes "
         f"WHERE requested_us >= ? AND requested_us <= ? AND {by_request}{chosen} GROUP BY 2, 3, 4, 5",
         [now_us, boundary, latest, *valid_params, *chosen_params]),
        ("SELECT 'e', organization_id, action, requested_us, state, closed_us - requested_us, closed_us "
         f"FROM {{p}}handshakes WHERE valid_from > ? AND {valid} AND state IN ('ACCEPTED', 'DECLINED', 'CANCELED') "
         f"AND closed_us >= ?{chosen}", [before, *valid_params, boundary, *chosen_params]),
        (f"SELECT 'x', {grouped_by}, action, expires_us / " + str(DAY_US) + ", 'expired', COUNT(*), 0 "
         f"FROM {{p}}handshakes WHERE expires_us >= ? AND expires_us <= ? AND {valid} "
         f"AND state IN ('REQUESTED', 'OPEN'){chosen} GROUP BY 2, 3, 4", [boundary, now_us, *valid_params, *chosen_params]),
    ]
    if not by_action:  # the organizations' histograms hold every day's decisions: take B's and later out
        parts.append(("SELECT 'c', organization_id, action, 0, state, closed_us - requested_us, closed_us "
                      "FROM {p}handshakes WHERE valid_from > ? AND valid_to IS NULL "
                      f"AND state IN ('ACCEPTED', 'DECLINED') AND closed_us >= ?{chosen}",
                      [before, boundary, *chosen_params]))
    statement = " UNION ALL ".join(text for text, _ in parts)
    params = [param for _, values in parts for param in values]
    groups: dict[tuple[str, ...], _Group] = defaultdict(_Group)
    for row in view.query(statement, params):
        key = (row["action"],) if by_action else (row["organization_id"], row["action"])
        group, kind, n, day = groups[key], str(row["kind"]), int(row["n"]), int(row["day"])
        source = row["src"]
        if source == "c":  # a decision from B on, in an organization's histogram: not counted there
            group.decisions[seconds_of(bucket_of(n))] -= 1
        elif source == "e":  # one closed handshake of the exact part: day holds requested_us
            closed_us = int(row["at_us"])
            group.outcomes[kind] += 1
            if closed_us <= now_us:
                group.ended[(day_of(closed_us), kind)] += 1
            if kind != CANCELED:
                group.decisions[n / 1_000_000] += 1
        elif kind in ("requested", "later"):
            group.requested[day] += n
            if kind == "requested":
                group.requested_by_now[day] += n
        elif kind in ENDINGS:
            group.outcomes[kind] += n
            group.ended[(day, kind)] += n
        elif kind in ("expiring", "expired"):
            group.outcomes["EXPIRED"] += n
            group.ended[(day, "EXPIRED")] += n
        elif kind == "closed_expiring":
            group.outcomes["EXPIRED"] -= n
            group.ended[(day, "EXPIRED")] -= n
        else:  # a histogram bucket
            group.decisions[seconds_of(kind)] += n
    return groups


def _nearest_rank(counts: dict[float, int], fraction: int) -> float | None:
    """Nearest-rank percentile (``fraction`` in %) of values given with their multiplicities."""
    total = sum(counts.values())
    if not total:
        return None
    rank, seen = max(1, -(-fraction * total // 100)), 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return None  # unreachable


def rollup_analytics(view: Any, moment: Moment, *, by: str = "organization", per_day: bool = True,
                     organizations: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """What ``projections.analytics.analytics`` answers over the whole ledger at ``moment``:
    one summary per (organization, action), or per action with ``by="action"``, sorted by key.
    ``per_day=False``: without ``RequestsPerDay`` (a day's counters fewer to read per group);
    ``organizations``: only theirs (by organization)."""
    groups = _read(view, moment, by_action=by == "action", per_day=per_day, organizations=organizations)
    return _summaries(groups, by_action=by == "action", per_day=per_day)


def rollup_overview(view: Any, moment: Moment) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``rollup_analytics(by="action")`` and ``rollup_outcomes_per_day`` from one read."""
    groups = _read(view, moment, by_action=True)
    return _summaries(groups, by_action=True, per_day=True), _per_day(groups)


def _summaries(groups: dict[tuple[str, ...], _Group], *, by_action: bool, per_day: bool) -> list[dict[str, Any]]:
    summaries = []
    for key, group in sorted(groups.items()):
        total = sum(group.requested.values())
        if not total:
            continue
        counts = {state: group.outcomes[state] for state in (*ENDINGS, "EXPIRED")}
        ended = sum(counts.values())
        summary: dict[str, Any] = {} if by_action else {"OrganizationId": key[0]}
        summary.update({
            "Action": key[-1], "Total": total, **{state.title(): n for state, n in counts.items()},
            "Open": total - ended,
            "AcceptanceRate": round(counts[ACCEPTED] / ended, 4) if ended else None,
            "DecisionSecondsP50": _nearest_rank(group.decisions, 50),
            "DecisionSecondsP90": _nearest_rank(group.decisions, 90),
        })
        if per_day:
            summary["RequestsPerDay"] = {_day(day): n for day, n in sorted(group.requested.items()) if n}
        summaries.append(summary)
    return summaries


def top_organizations(view: Any, moment: Moment, limit: int) -> tuple[list[str], int]:
    """The ``limit`` organizations that requested the most handshakes up to ``moment`` (ties by id),
    and how many organizations requested any. Live: ``rollup_totals``, a row per organization and
    action; as of a past moment: their days' ``requested`` counters before B and the rows since
    (every organization's counters: this cost follows the organizations and days)."""
    if moment.position is None:
        rows = view.query("SELECT organization_id, SUM(n) AS n FROM {p}rollup_totals GROUP BY organization_id")
    else:
        boundary, _, latest = boundary_of(view, moment)
        valid, valid_params = valid_at(moment.position)
        by_request = valid.replace("valid_from", "+valid_from").replace("valid_to", "+valid_to")
        rows = view.query(
            "SELECT organization_id, SUM(n) AS n FROM ("
            "SELECT organization_id, n FROM {p}rollup WHERE kind = 'requested' AND day >= 0 AND day < ? "
            "AND organization_id <> ? UNION ALL SELECT organization_id, 1 FROM {p}handshakes "
            f"WHERE requested_us >= ? AND requested_us <= ? AND {by_request}) AS counted GROUP BY organization_id",
            [day_of(boundary), ALL, boundary, latest, *valid_params])
    totals = {str(row["organization_id"]): int(row["n"]) for row in rows if int(row["n"])}
    return sorted(totals, key=lambda org: (-totals[org], org))[:limit], len(totals)


def rollup_outcomes_per_day(view: Any, moment: Moment) -> list[dict[str, Any]]:
    """What ``projections.analytics.outcomes_per_day`` answers over the whole ledger at ``moment``."""
    return _per_day(_read(view, moment, by_action=True))


def _per_day(groups: dict[tuple[str, ...], _Group]) -> list[dict[str, Any]]:
    outcomes = ("Accepted", "Declined", "Canceled", "Expired")
    days: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(("Requested", *outcomes), 0))
    for group in groups.values():
        for day, n in group.requested_by_now.items():
            days[day]["Requested"] += n
        for (day, outcome), n in group.ended.items():
            days[day][outcome.title()] += n
    return [{"Day": _day(day), **counts} for day, counts in sorted(days.items()) if any(counts.values())]


def _day(number: int) -> str:
    return (EPOCH_DATE + timedelta(days=number)).isoformat()
