"""The analytics rollup: bucket counters kept by the view's catch-up, in the transaction that
writes the view's rows and its tracking position (so exactly once, and rebuilt by ``rebuild``).

One row per (organization, action, UTC day, kind) holds a count ``n``; organization ``*`` holds the
same counters for every organization together (what ``analytics --by action`` reads). Kinds:

- ``requested``: handshakes requested that day (the Created event's day);
- ``ACCEPTED``, ``DECLINED``, ``CANCELED``: handshakes that ended so that day (the closing event's day);
- ``expiring``: handshakes whose expiry instant falls that day (counted when requested), and
  ``closed_expiring``: those of them closed (counted when closed, bucketed by their expiry day). A
  close always precedes the expiry, so the handshakes EXPIRED at T are
  #{expiring, expiry <= T} - #{closed_expiring, expiry <= T};
- ``h<k>``: ACCEPTED or DECLINED decisions whose time to decision, in milliseconds, lies in
  [GROWTH**k, GROWTH**(k+1)); ``h-`` those under 1 ms. Organization ``*`` counts them by the
  decision's day; each organization counts them for all days together (day ``WHENEVER``): a
  thousand organizations' histograms by day would hold a row per decision or so, all days together
  they hold one per populated bucket (about a hundred per organization and action).

``rollup_slices`` holds them once more by ten minutes (``slice``: ten-minute spans since the epoch),
so that exact part is at most ten minutes of rows, whatever the minute of the hour asked about.

``rollup_hours`` holds organization ``*``'s counters again by UTC hour (``hour``: hours since the
epoch; histograms by the decision's hour), so the whole ledger's answer counts exactly only the rows
of the boundary's own hour, not of its day.

``rollup_totals`` holds each organization's handshakes requested per action, all days together:
the live ranking of organizations by handshakes reads one row per organization and action, not
every day's counters.

``rollup_visible`` holds how the number of *visible* handshakes in each state (what the Lists show,
the web UI's list page counts) moves, by UTC day (``unit`` 'd') and again by hour ('h'):
``projections/rollup_visible.py`` says what is counted where.

The counters are not versioned: every event after a moment's position is later than the moment's
day boundary (``projections/rollup_reads.py`` picks it so), so the whole days before it are
complete and final; the rest is counted exactly from the view's rows.

Time to decision from the histogram: a value is read as its bucket's geometric middle
GROWTH**(k+0.5) ms, so each is off by at most sqrt(GROWTH) - 1 = 2.47% relatively (0.5 ms under
1 ms), and so is every nearest-rank percentile of them (each order statistic moves no further than
the values do).
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from typing import Any

from ledger.domain.handshake import ACCEPTED, DECLINED, LIVE_STATES

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
SLICE_US = 600_000_000  # ten minutes: the finest counters, and the whole-ledger answers' boundary unit
ALL = "*"  # the organization of the counters summed over every organization
GROWTH = 1.05  # the histogram's bucket ratio
ERROR = math.sqrt(GROWTH) - 1  # the largest relative error of a time to decision (and of p50/p90)
SUB_MS = "h-"
WHENEVER = -1_000_000  # the day of an organization's histogram counters: all days together

CLUSTERED = ("rollup", "rollup_hours", "rollup_slices", "rollup_totals", "rollup_visible")  # SQLite keeps them WITHOUT ROWID: a group's counters lie together
ROLLUP_TABLE = """
CREATE TABLE IF NOT EXISTS {p}rollup (
    organization_id TEXT NOT NULL,
    action TEXT NOT NULL,
    day BIGINT NOT NULL,
    kind TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (organization_id, action, day, kind)
);
CREATE TABLE IF NOT EXISTS {p}rollup_hours (
    hour BIGINT NOT NULL,
    action TEXT NOT NULL,
    kind TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (hour, action, kind)
);
CREATE TABLE IF NOT EXISTS {p}rollup_slices (
    slice BIGINT NOT NULL,
    action TEXT NOT NULL,
    kind TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (slice, action, kind)
);
CREATE TABLE IF NOT EXISTS {p}rollup_totals (
    organization_id TEXT NOT NULL,
    action TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (organization_id, action)
);
CREATE TABLE IF NOT EXISTS {p}rollup_visible (
    unit TEXT NOT NULL,
    start BIGINT NOT NULL,
    action TEXT NOT NULL,
    state TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (unit, start, action, state)
);
"""
COUNTERS = (  # (RollupChanges' attribute, table, key columns): each counter table holds a count n per key
    ("counts", "rollup", ("organization_id", "action", "day", "kind")),
    ("hours", "rollup_hours", ("hour", "action", "kind")),
    ("slices", "rollup_slices", ("slice", "action", "kind")),
    ("totals", "rollup_totals", ("organization_id", "action")),
    ("visible", "rollup_visible", ("unit", "start", "action", "state")),
)


def _added(table: str, keys: tuple[str, ...], source: str) -> str:
    """INSERT of counts from ``source`` (a VALUES list or a SELECT), added to those already there."""
    return (f"INSERT INTO {{p}}{table} ({', '.join(keys)}, n) {source} ON CONFLICT ({', '.join(keys)}) "
            f"DO UPDATE SET n = {{p}}{table}.n + excluded.n")


Bucket = tuple[str, str, int, str]


def day_of(instant_us: int) -> int:
    """The UTC day (days since 1970-01-01) of an instant in microseconds."""
    return instant_us // DAY_US


def hour_of(instant_us: int) -> int:
    """The UTC hour (hours since 1970-01-01T00:00Z) of an instant in microseconds."""
    return instant_us // HOUR_US


def slice_of(instant_us: int) -> int:
    """The ten-minute span (since 1970-01-01T00:00Z) of an instant in microseconds."""
    return instant_us // SLICE_US


def bucket_of(decision_us: int) -> str:
    """The histogram kind of a time to decision (microseconds)."""
    milliseconds = decision_us / 1000
    if milliseconds < 1:
        return SUB_MS
    k = math.floor(math.log(milliseconds) / math.log(GROWTH))
    while GROWTH ** k > milliseconds:  # floating point at a bucket's edge
        k -= 1
    while GROWTH ** (k + 1) <= milliseconds:
        k += 1
    return f"h{k}"


@functools.lru_cache(maxsize=4096)
def seconds_of(kind: str) -> float:
    """The value (seconds) a histogram kind stands for: its bucket's geometric middle, to the ms."""
    if kind == SUB_MS:
        return 0.0005
    return round(GROWTH ** (int(kind[1:]) + 0.5)) / 1000


class RollupChanges:
    """The counter increments of a batch of events, written with the batch's rows."""

    def __init__(self) -> None:
        self.counts: Counter[Bucket] = Counter()
        self.hours: Counter[tuple[int, str, str]] = Counter()  # (hour, action, kind): organization ``*``'s
        self.slices: Counter[tuple[int, str, str]] = Counter()  # (ten minutes, action, kind): the same
        self.totals: Counter[tuple[str, str]] = Counter()  # (organization, action): handshakes requested
        self.visible: Counter[tuple[str, int, str, str]] = Counter()  # (unit, start, action, state): moves

    def _add(self, organization_id: str, action: str, instant_us: int, kind: str) -> None:
        day = day_of(instant_us)
        self.counts[(organization_id, action, day, kind)] += 1
        self.counts[(ALL, action, day, kind)] += 1
        self.hours[(hour_of(instant_us), action, kind)] += 1
        self.slices[(slice_of(instant_us), action, kind)] += 1

    def requested(self, row: dict[str, Any]) -> None:
        """A new handshake row (as inserted: perhaps already closed)."""
        self._add(row["organization_id"], row["action"], row["requested_us"], "requested")
        self.totals[(row["organization_id"], row["action"])] += 1
        self._add(row["organization_id"], row["action"], row["expires_us"], "expiring")
        if row["state"] not in LIVE_STATES:
            self.closed(row, row["state"], row["closed_us"])

    def closed(self, row: dict[str, Any], state: str, closed_us: int) -> None:
        """The handshake ``row`` (its version before) ended as ``state`` at ``closed_us``."""
        organization_id, action = row["organization_id"], row["action"]
        self._add(organization_id, action, closed_us, state)
        self._add(organization_id, action, row["expires_us"], "closed_expiring")
        if state in (ACCEPTED, DECLINED):
            kind = bucket_of(closed_us - row["requested_us"])
            self.counts[(organization_id, action, WHENEVER, kind)] += 1
            self.counts[(ALL, action, day_of(closed_us), kind)] += 1
            self.hours[(hour_of(closed_us), action, kind)] += 1
            self.slices[(slice_of(closed_us), action, kind)] += 1

    def tagged(self) -> Counter[tuple[str, Any]]:
        """Every increment keyed by (its counter's name, its key): what a replay sums across batches."""
        tagged: Counter[tuple[str, Any]] = Counter()
        for name in ("counts", "hours", "slices", "totals", "visible"):
            for key, n in getattr(self, name).items():
                tagged[(name, key)] += n
        return tagged

    @classmethod
    def of_tagged(cls, tagged: Counter[tuple[str, Any]]) -> RollupChanges:
        """The increments ``tagged`` gave, as changes to write."""
        changes = cls()
        for (name, key), n in tagged.items():
            getattr(changes, name)[key] += n
        return changes

    def write(self, cursor: Any, sql: Any, *, bulk: bool = False) -> None:
        """Add the increments to the counter tables. ``bulk`` (a replay's sums, written rarely):
        on PostgreSQL one COPY per table into a temporary table, added from there in one statement
        (an ``executemany`` is a round trip per row there)."""
        for name, table, keys in COUNTERS:
            # every key counted is written, 0 included: visible moves can cancel out, and a counter
            # at 0 stays a row, so a replay (summing first) leaves the rows catch-up leaves
            rows = [(*key, n) for key, n in sorted(getattr(self, name).items())]
            if not rows:
                continue
            if bulk and hasattr(cursor, "copy"):
                columns = ", ".join((*keys, "n"))
                cursor.execute(sql(f"CREATE TEMPORARY TABLE bulk_{table} (LIKE {{p}}{table})"))
                with cursor.copy(f"COPY bulk_{table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute(sql(_added(table, keys, f"SELECT {columns} FROM bulk_{table}")))
                cursor.execute(f"DROP TABLE bulk_{table}")
            else:
                cursor.executemany(sql(_added(table, keys, f"VALUES ({', '.join('?' * (len(keys) + 1))})")), rows)


def backfill(cursor: Any, sql: Any, *, wanted: tuple[str, ...] = ("counts", "hours", "slices", "totals")) -> None:
    """Count the current handshake rows into the counters a view made before them lacks:
    ``wanted`` names them as ``RollupChanges`` does (``counts``: the rollup's; ``hours``,
    ``slices``, ``totals``: ``rollup_hours``', ``rollup_slices``', ``rollup_totals``')."""
    changes = RollupChanges()
    cursor.execute(sql("SELECT organization_id, action, state, requested_us, expires_us, closed_us "
                       "FROM {p}handshakes WHERE valid_to IS NULL"))
    columns = ("organization_id", "action", "state", "requested_us", "expires_us", "closed_us")
    for values in cursor.fetchall():
        row = dict(zip(columns, values.values() if isinstance(values, dict) else values))
        changes.requested(row)
    for name in ("counts", "hours", "slices", "totals", "visible"):
        if name not in wanted:
            getattr(changes, name).clear()
    changes.write(cursor, sql)
