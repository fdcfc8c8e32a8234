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
                    assert reader.analytics(by=by) == analytics(rows, now=moment.instant, by=by)
                    assert analytics_of(ledger.view, where, now=moment.instant, by=by) == \
                        analytics(rows, now=moment.instant, by=by)
                assert outcomes_per_day_of(ledger.view, where, now=moment.instant) == \
                    outcomes_per_day(rows, now=moment.instant)
            moments = [reader.moment() for reader in readers]
            for before, after in zip(moments, moments[1:]):
                everything = _recomputed(ledger, before, after)
                assert handshakes_of(changes(ledger.reads, before, after)) == everything
                organization = (everything[0]["After"] or everything[0]["Before"])["Parties"][0]["Id"] \
                    if everything else "o-0000000000"
                assert handshakes_of(changes(ledger.reads, before, after, organization_id=organization)) == \
                    [c for c in everything if (c["After"] or c["Before"])["Parties"][0]["Id"] == organization]


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
