"""Analytics and what changed, answered from the indexes, equal a full recomputation over random
stories (the hand-played demo and the bulk one), live and as of random instants; and ``changes``
reads only the versions it reports on."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from ledger.entrypoints.bootstrap import open_ledger
from ledger.entrypoints.bulk_demo import SPAN, seed_bulk
from ledger.entrypoints.demo import StepClock, demo_start, seed
from ledger.domain.clock import system_clock
from projections.analytics import analytics, analytics_of, outcomes_per_day, outcomes_per_day_of
from projections.aws_reads import handshake_answer
from projections.changes import changes
from projections.rollup import ERROR
from projections.rollup_reads import rollup_analytics, rollup_outcomes_per_day, rollup_overview, top_organizations
from projections.versions import valid_at
from tests.conftest import new_location

STORIES = st.fixed_dictionaries({
    "played": st.booleans(), "seed": st.integers(0, 10_000), "handshakes": st.integers(5, 60),
    "instants": st.lists(st.floats(0.0, 1.2), min_size=2, max_size=4),
})


def _seeded(location: str, story: dict[str, Any]) -> Any:
    end = demo_start(system_clock.now()) + SPAN
    if story["played"]:
        clock = StepClock(end - SPAN)
        ledger = open_ledger(location, clock=clock)
        seed(ledger, clock, handshakes=story["handshakes"], seed=story["seed"], location=location)
        clock.move_to(system_clock.now())
    else:
        ledger = open_ledger(location)
        seed_bulk(ledger.app, handshakes=story["handshakes"] * 10, seed=story["seed"], end=end, location=location)
        ledger.catch_up()
    return ledger, end - SPAN


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(story=STORIES)
def test_analytics_equal_a_full_recomputation(tmp_path: Path, story: dict[str, Any]) -> None:
    with new_location(tmp_path) as location:
        ledger, start = _seeded(location, story)
        with ledger:
            readers = [ledger] + [ledger.at(start + SPAN * 1.1 * f) for f in story["instants"]]
            for reader in readers:
                moment = reader.moment()
                rows = ledger.queries.facts(moment)
                where = valid_at(moment.position)
                for by in ("organization", "action"):
                    expected = analytics(rows, now=moment.instant, by=by)
                    _within_bound(reader.analytics(by=by), expected)
                    _within_bound(rollup_analytics(ledger.view, moment, by=by), expected)
                    _within_bound(rollup_analytics(ledger.view, moment, by=by, per_day=False),
                                  [{k: v for k, v in r.items() if k != "RequestsPerDay"} for r in expected])
                    assert analytics_of(ledger.view, where, now=moment.instant, by=by) == expected
                assert outcomes_per_day_of(ledger.view, where, now=moment.instant) == \
                    outcomes_per_day(rows, now=moment.instant)
                assert rollup_outcomes_per_day(ledger.view, moment) == outcomes_per_day(rows, now=moment.instant)
                by_action, per_day = rollup_overview(ledger.view, moment)
                _within_bound(by_action, analytics(rows, now=moment.instant, by="action"))
                assert per_day == outcomes_per_day(rows, now=moment.instant)
                _check_top_organizations(ledger.view, moment, analytics(rows, now=moment.instant))
            moments = [reader.moment() for reader in readers]
            for before, after in zip(moments, moments[1:]):
                everything = _recomputed(ledger, before, after)
                assert handshakes_of(changes(ledger.reads, before, after)) == everything
                organization = (everything[0]["After"] or everything[0]["Before"])["Parties"][0]["Id"] \
                    if everything else "o-0000000000"
                assert handshakes_of(changes(ledger.reads, before, after, organization_id=organization)) == \
                    [c for c in everything if (c["After"] or c["Before"])["Parties"][0]["Id"] == organization]


def _check_top_organizations(view: Any, moment: Any, expected: list[dict[str, Any]]) -> None:
    """The ranking by handshakes (ties by id) and the chosen organizations' figures, as recomputed."""
    totals: dict[str, int] = {}
    for row in expected:
        totals[row["OrganizationId"]] = totals.get(row["OrganizationId"], 0) + row["Total"]
    ranked = sorted(totals, key=lambda org: (-totals[org], org))
    assert top_organizations(view, moment, 3) == (ranked[:3], len(ranked))
    chosen = ranked[1:3]
    _within_bound(rollup_analytics(view, moment, per_day=False, organizations=chosen),
                  [{k: v for k, v in r.items() if k != "RequestsPerDay"} for r in expected
                   if r["OrganizationId"] in chosen])


def _within_bound(found: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Equal, but for p50/p90 of the time to decision: within the rollup histogram's stated bound."""
    percentiles = ("DecisionSecondsP50", "DecisionSecondsP90")
    assert [{k: v for k, v in r.items() if k not in percentiles} for r in found] == \
        [{k: v for k, v in r.items() if k not in percentiles} for r in expected]
    for mine, exact in zip(found, expected):
        for column in percentiles:
            if exact[column] is None:
                assert mine[column] is None
            else:
                assert abs(mine[column] - exact[column]) <= ERROR * exact[column] + 0.0005 + 1e-9, \
                    (column, mine, exact)


def test_rebuild_counts_the_rollup_as_the_catch_up_did(tmp_path: Path) -> None:
    """The counters kept batch by batch equal those a rebuild replays, and those counted from the
    rows of a view made before the rollup existed."""
    from projections.rollup import backfill

    with new_location(tmp_path) as location:
        end = demo_start(system_clock.now()) + SPAN
        with open_ledger(location) as ledger:
            seed_bulk(ledger.app, handshakes=1_500, seed=5, end=end, location=location)
            ledger.catch_up()
            caught_up = _counters(ledger)
            assert caught_up[0] and any(row[3].startswith("h") for row in caught_up[0])
            assert caught_up[1] and caught_up[2]
            ledger.rebuild()
            assert _counters(ledger) == caught_up
            with ledger.view._transaction() as cursor:
                cursor.execute(ledger.view._sql("DELETE FROM {p}rollup"))
                cursor.execute(ledger.view._sql("DELETE FROM {p}rollup_hours"))
                cursor.execute(ledger.view._sql("DELETE FROM {p}rollup_totals"))
                cursor.execute(ledger.view._sql("DELETE FROM {p}rollup_slices"))
                backfill(cursor, ledger.view._sql)
            assert _counters(ledger) == caught_up
            with ledger.view._transaction() as cursor:  # a view made before the hours and totals were kept
                cursor.execute(ledger.view._sql("DROP TABLE {p}rollup_hours"))
                cursor.execute(ledger.view._sql("DROP TABLE {p}rollup_totals"))
                cursor.execute(ledger.view._sql("DROP TABLE {p}rollup_slices"))
                cursor.execute(ledger.view._sql("DROP TABLE {p}email_moves"))
        with open_ledger(location) as ledger:
            assert _counters(ledger) == caught_up


def _counters(ledger: Any) -> tuple[list[tuple[Any, ...]], ...]:
    """Every rollup counter, every hour counter and total, and every email move, in key order."""
    return tuple([tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in ledger.view.query(listing)]
                 for listing in ("SELECT organization_id, action, day, kind, n FROM {p}rollup ORDER BY 1, 2, 3, 4",
                                 "SELECT hour, action, kind, n FROM {p}rollup_hours ORDER BY 1, 2, 3",
                                 "SELECT organization_id, action, n FROM {p}rollup_totals ORDER BY 1, 2",
                                 "SELECT slice, action, kind, n FROM {p}rollup_slices ORDER BY 1, 2, 3",
                                 "SELECT * FROM {p}email_moves ORDER BY 1"))


def handshakes_of(found: Any) -> list[dict[str, Any]]:
    """The handshake changes of a diff (the played story's billing transfers follow them; their
    changes are recomputed in the transfer tests)."""
    return [change for change in found if "HandshakeId" in change]


def _recomputed(ledger: Any, before: Any, after: Any) -> list[dict[str, Any]]:
    """Every handshake answered at both moments (no index narrowing), those that differ, newest first."""
    found = []
    for row in ledger.view.query("SELECT DISTINCT id, requested_us FROM {p}handshakes"):
        answers = []
        for moment in (before, after):
            version = ledger.queries.handshake(row["id"], moment)
            visible = version is not None and version["visible_until_us"] > moment.instant_us
            answers.append(handshake_answer(version, moment) if visible else None)
        if answers[0] != answers[1]:
            found.append((row["requested_us"], row["id"], answers))
    found.sort(reverse=True)
    return [{"HandshakeId": i, "Before": a[0], "After": a[1]} for _, i, a in found]


class CountingView:
    """The view, counting the rows its queries hand back (the seam ``changes`` reads through)."""

    def __init__(self, view: Any):
        self.view, self.rows = view, 0

    def position(self) -> int:
        return int(self.view.position())

    def query(self, text: str, params: Any = ()) -> list[Any]:
        rows = self.view.query(text, params)
        self.rows += len(rows)
        return list(rows)


def test_changes_of_one_organization_read_only_its_window(tmp_path: Path) -> None:
    """Two days of one organization's 300 handshakes: its other versions are never read, and
    the answers equal those of the whole ledger's diff narrowed afterwards."""
    from projections.changes import changes
    from projections.queries import ViewQueries
    from projections.aws_reads import LedgerReads

    with new_location(tmp_path) as location:
        end = demo_start(system_clock.now()) + SPAN
        with open_ledger(location) as ledger:
            seed_bulk(ledger.app, handshakes=3_000, seed=3, end=end, location=location)  # three organizations
            ledger.catch_up()
            organization = ledger.queries.facts(ledger.moment())[0]["organization_id"]
            versions = ledger.view.query("SELECT COUNT(*) AS n FROM {p}handshakes WHERE organization_id = ?",
                                         [organization])[0]["n"]
            before, after = ledger.at(end - timedelta(days=3)).moment(), ledger.at(end - timedelta(days=1)).moment()
            counting = CountingView(ledger.view)
            reads = LedgerReads(ViewQueries(counting), ledger.reads.tokens)
            found = list(changes(reads, before, after, organization_id=organization))
            whole = [c for c in ledger.changes(end - timedelta(days=3), end - timedelta(days=1))
                     if (c["After"] or c["Before"])["Parties"][0]["Id"] == organization]
            assert found == whole and found
            assert counting.rows <= 4 * len(found) + 50 and counting.rows < versions / 2, (counting.rows, versions)


def test_a_moment_ahead_of_the_log_counts_no_event_recorded_after_it(tmp_path: Path) -> None:
    """As of an instant ahead, read before more events arrive: those events (earlier than that
    instant's day, later than its position) are in the counters but not in the answer."""
    from ledger.entrypoints.demo import StepClock

    with new_location(tmp_path) as location:
        start = demo_start(system_clock.now())
        clock = StepClock(start)
        with open_ledger(location, clock=clock) as ledger:
            seed(ledger, clock, handshakes=12, seed=7, location=location)
            held = ledger.at(clock.now() + timedelta(days=3))
            moment = held.moment()
            expected = analytics(ledger.queries.facts(moment), now=moment.instant, by="action")
            management = ledger.view.query("SELECT management_account_id FROM {p}organizations "
                                           "WHERE valid_to IS NULL AND deleted = 0")[0]["management_account_id"]
            for account in ("999999999991", "999999999992"):  # more, before that instant
                ledger.client(management).invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": account})
            assert any(row["requested_us"] < moment.instant_us and row["valid_from"] > (moment.position or 0)
                       for row in ledger.view.query("SELECT * FROM {p}handshakes"))
            _within_bound(held.analytics(by="action"), expected)
