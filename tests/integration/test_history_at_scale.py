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
