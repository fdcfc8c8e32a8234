"""How many handshakes are visible in each state at a moment, from counters: the web UI's list
page counts (``projections/browse.py``) without reading every visible handshake.

What is counted. At instant t a handshake version counts once, in one state, while it is visible
(``visible_until_us > t``: retention, decisions 13-14, or its organization's deletion, decision 30):
a closed one in its state; a live one (REQUESTED or OPEN) in its state before its expiry and as
EXPIRED from it. As a function of t that is a step function: +1 in its state from the start,
then steps at the expiry and at the end of visibility (``steps``). When an event makes a new
version of a handshake, the counters take the new version's steps less the old one's.

Where a step is counted. A step at instant x made by the event at position q is bucketed at
max(x, high_us(q)) (a start: at high_us(q)), by UTC day, by hour and by ten minutes (``unit`` 'd',
'h', 's' of ``rollup_visible``). ``high_us`` only grows along the log, so for a boundary B (the start
of ten minutes) and the last position pB recorded before B (``high_us < B``), the counters before B
(the days before B's, its day's hours before B's hour, its hour's ten minutes before B) hold exactly the steps
before B of the events up to pB: their sum is the number in each state at B - 1 µs of the
versions current at pB. The count at the moment (position P, instant T) adds, for the handshakes
that may differ between the two (a version made after pB, or an expiry or end of visibility in
[B, T]), what the version current at P counts at T less what the version current at pB counted
at B - 1 µs: at most ten minutes' handshakes, read through the indexes.

B is chosen as for the analytics (``projections.rollup_reads.boundary_of``): every event after P is
at or after it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ledger.domain.handshake import EXPIRED, LIVE_STATES
from projections.queries import Moment
from projections.rollup import DAY_US, HOUR_US, SLICE_US, RollupChanges
from projections.rollup_reads import boundary_of
from projections.versions import valid_at

STATES = ("REQUESTED", "OPEN", "ACCEPTED", "DECLINED", "CANCELED", EXPIRED)  # as a reader sees them
Step = tuple[int | None, str, int]  # (instant in µs, None: from the start; state; +1 or -1)


def steps(row: dict[str, Any]) -> list[Step]:
    """The steps of a handshake version's count: +1 in its state from the start, its moves at its
    expiry (live ones) and at its end of visibility."""
    state, expires, until = row["state"], row["expires_us"], row["visible_until_us"]
    if state in LIVE_STATES and expires < until:
        return [(None, state, 1), (expires, state, -1), (expires, EXPIRED, 1), (until, EXPIRED, -1)]
    return [(None, state, 1), (until, state, -1)]


class VisibleMoves:
    """The steps a batch's new handshake versions add and take away, until their positions'
    ``high_us`` is known (``bucket``)."""

    def __init__(self) -> None:
        self.pending: list[tuple[int, str, int | None, str, int]] = []  # (position, action, instant, state, n)

    def changed(self, position: int, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        """The event at ``position`` replaced the version ``before`` (None: made the first) by ``after``."""
        action, add = after["action"], self.pending.append
        for instant, state, n in steps(after):
            add((position, action, instant, state, n))
        if before is not None:
            for instant, state, n in steps(before):
                add((position, action, instant, state, -n))

    def bucket(self, highs: dict[int, int], rollup: RollupChanges) -> None:
        """Add the pending steps to ``rollup``'s counters (by ten minutes, and by hour and day from them);
        ``highs``: position -> its ``high_us``."""
        slices: dict[tuple[int, str, str], int] = {}
        for position, action, instant, state, n in self.pending:
            high = highs[position]
            key = ((high if instant is None or instant < high else instant) // SLICE_US, action, state)
            slices[key] = slices.get(key, 0) + n
        for (ten, action, state), n in slices.items():  # 0 too: a counter touched is a row (RollupChanges.write)
            rollup.visible[("s", ten, action, state)] += n
            rollup.visible[("h", ten * SLICE_US // HOUR_US, action, state)] += n
            rollup.visible[("d", ten * SLICE_US // DAY_US, action, state)] += n
        self.pending.clear()


def backfill_visible(cursor: Any, sql: Any, *, page: int = 50_000) -> None:
    """Count every handshake version of a view made before ``rollup_visible`` into it (in pages of
    ``page`` versions, in key order)."""
    rollup, before, after = RollupChanges(), None, ("", -1)
    columns = ("id", "valid_from", "action", "state", "expires_us", "visible_until_us", "high_us")
    while True:
        cursor.execute(sql("SELECT h.id, h.valid_from, h.action, h.state, h.expires_us, h.visible_until_us, "
                           "t.high_us FROM {p}handshakes h JOIN {p}event_times t ON t.notification_id = h.valid_from "
                           "WHERE (h.id, h.valid_from) > (?, ?) ORDER BY h.id, h.valid_from LIMIT ?"), [*after, page])
        found = cursor.fetchall()
        for values in found:
            row = dict(zip(columns, values.values() if isinstance(values, dict) else values))
            moves = VisibleMoves()
            moves.changed(0, before if before and before["id"] == row["id"] else None, row)
            moves.bucket({0: int(row["high_us"])}, rollup)
            before, after = row, (row["id"], row["valid_from"])
        if len(found) < page:
            break
    rollup.write(cursor, sql)


def visible_counts(view: Any, moment: Moment, *, action: str | None = None) -> dict[str, int]:
    """How many handshakes (of ``action``, if given) are visible in each state at ``moment``, as the
    Lists judge them there (``STATES``, each present): the counters before B and ten minutes'
    handshakes, summed by the store in one statement (one snapshot of counters and rows)."""
    start, before, _ = boundary_of(view, moment, SLICE_US)
    chosen, chosen_params = ("AND action = ? ", [action]) if action else ("", [])
    counters = (f"SELECT state, NULL AS was, SUM(n) AS n FROM {{p}}rollup_visible WHERE unit = 'd' AND start < ? {chosen}"
                f"GROUP BY state UNION ALL SELECT state, NULL, SUM(n) FROM {{p}}rollup_visible WHERE unit = 'h' "
                f"AND start >= ? AND start < ? {chosen}GROUP BY state UNION ALL SELECT state, NULL, SUM(n) "
                f"FROM {{p}}rollup_visible WHERE unit = 's' AND start >= ? AND start < ? {chosen}GROUP BY state",
                [start // DAY_US, *chosen_params, start // DAY_US * 24, start // HOUR_US, *chosen_params,
                 start // HOUR_US * HOUR_US // SLICE_US, start // SLICE_US, *chosen_params])
    differing = _differing(moment, start, before, chosen, chosen_params)
    counts: Counter[str] = Counter(dict.fromkeys(STATES, 0))
    for row in view.query(f"{counters[0]} UNION ALL {differing[0]}", [*counters[1], *differing[1]]):
        if row["state"] is not None:
            counts[str(row["state"])] += int(row["n"])
        if row["was"] is not None:
            counts[str(row["was"])] -= int(row["n"])
    return {state: counts[state] for state in STATES}


def _state_sql(instant_us: int) -> str:
    """The state a handshake version counts in at the instant, in SQL (NULL: not visible then)."""
    return (f"CASE WHEN visible_until_us <= {int(instant_us)} THEN NULL WHEN state IN {LIVE_STATES} "
            f"AND expires_us <= {int(instant_us)} THEN '{EXPIRED}' ELSE state END")


def _differing(moment: Moment, start: int, before: int, chosen: str, chosen_params: list[Any]) -> tuple[str, list[Any]]:
    """The handshakes whose count may differ between B - 1 µs (as at pB) and the moment (a version
    made after pB; an expiry or an end of visibility in [B, T]): what the version current at P
    counts at T (``state``) and what the version current at pB counted at B - 1 µs (``was``),
    grouped by the two."""
    now, position = moment.instant_us, moment.position
    valid, valid_params = valid_at(position)
    made = "valid_from > ?" + (" AND valid_from <= ?" if position is not None else "")
    made_params = [before] + ([position] if position is not None else [])
    then, then_params = valid_at(before)

    def unindexed(condition: str) -> str:  # the candidates' ids are the way in: keep the planner off valid_from
        return condition.replace("valid_from", "+valid_from").replace("valid_to", "+valid_to")

    candidates = (f"SELECT id FROM {{p}}handshakes WHERE {made} "
                  f"UNION SELECT id FROM {{p}}handshakes WHERE expires_us >= ? AND expires_us <= ? AND {valid} "
                  f"UNION SELECT id FROM {{p}}handshakes WHERE visible_until_us >= ? AND visible_until_us <= ? "
                  f"AND {valid}")
    candidate_params = [*made_params, start, now, *valid_params, start, now, *valid_params]
    text = (f"SELECT CASE WHEN {unindexed(valid)} THEN {_state_sql(now)} END AS state, "
            f"CASE WHEN {unindexed(then)} THEN {_state_sql(start - 1)} END AS was, COUNT(*) AS n "
            f"FROM {{p}}handshakes WHERE id IN ({candidates}) AND (({unindexed(valid)}) OR ({unindexed(then)})) "
            f"{chosen}GROUP BY 1, 2")
    return text, [*valid_params, *then_params, *candidate_params, *valid_params, *then_params, *chosen_params]
