"""The list page's counts by state come from counters (``projections/rollup_visible.py``), and equal
the visible rows counted one by one: over random stories that cross expiry, retention, openings
of EnableAllFeatures handshakes and organizations' deletions (decision 30), live, as of random
instants and the edges of hours and ten minutes, as of positions, per action; after a rebuild and in a view made
before the counters existed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings, strategies as st

from ledger import open_ledger
from ledger.service_layer.application import Limits
from projections.browse import Filters, LedgerBrowser, Scope
from projections.rollup_visible import visible_counts
from tests.conftest import new_location, store_kind
from tests.integration.answers import ACCOUNTS, MANAGERS, _run, step

LIMITS = Limits(accounts_per_organization=5, invitations_per_day=8)
HOUR = timedelta(hours=1)
approval = st.tuples(st.just("approve"), st.integers(0, 1), st.integers(0, len(ACCOUNTS) - 1), st.integers(0, 9),
                     st.sampled_from((1, 3_600, 86_400)))


def _approve(ledger: Any, account: str) -> None:
    """The member approves the first APPROVE_ALL_FEATURES handshake it has open (the last one opens its parent)."""
    client = ledger.client(account)
    for handshake in client.list_handshakes_for_account()["Handshakes"]:
        if handshake["Action"] == "APPROVE_ALL_FEATURES" and handshake["State"] == "OPEN":
            try:
                client.accept_handshake(HandshakeId=handshake["Id"])
            except ClientError:
                pass
            return


def _counts(ledger: Any, moment: Any) -> list[tuple[Any, ...]]:
    """(action, counters' counts, rows' counts) for the whole ledger and each action."""
    browser = LedgerBrowser(ledger.queries)
    found = []
    for action in (None, "INVITE", "ENABLE_ALL_FEATURES", "APPROVE_ALL_FEATURES"):
        rows = browser.counts_from_rows(moment, Filters(action=action), Scope())
        rows.pop("TOTAL")
        found.append((action, visible_counts(ledger.view, moment, action=action), rows))
    return found


@settings(max_examples=10 if store_kind() == "sqlite" else 4, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(st.one_of(step, approval), min_size=6, max_size=30), per_step=st.booleans(),
       offsets=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=5))
def test_the_counters_count_the_visible_rows(tmp_path: Path, steps: list[Any], per_step: bool,
                                            offsets: list[float]) -> None:
    with new_location(tmp_path) as location:
        instants, ended, expected = _played(location, steps, per_step, offsets)
        with freeze_time(ended), open_ledger(location, limits=LIMITS) as ledger:  # gains the counters when opened
            readers = [ledger, *(ledger.at(t) for t in instants)]
            assert [_counts(ledger, reader.moment()) for reader in readers] == expected[:len(readers)]


def _played(location: str, steps: list[Any], per_step: bool, offsets: list[float]) -> tuple[Any, ...]:
    """Play the story; check the counts at every moment, then after a rebuild; leave a view
    without the counters. Gives the instants, the end, and the counts (live first)."""
    with freeze_time("2026-03-01T09:30:00Z") as clock, open_ledger(location, limits=LIMITS) as ledger:
        seen: list[str] = []
        began = datetime.now(timezone.utc)
        prelude = [("create", 0, 0, 0, 1), ("create", 1, 0, 1, 1), ("register", 0, 0, 0, 1), ("register", 0, 1, 1, 1),
                   ("invite", 0, 0, 0, 1)]
        for move, m, a, pick, advance in prelude + steps:
            clock.tick(timedelta(seconds=advance))
            if move == "approve":
                _approve(ledger, ACCOUNTS[a])
            else:
                _run(ledger, move, MANAGERS[m], ACCOUNTS[a], pick, seen)
            if per_step:
                ledger.catch_up()  # a batch per command, as a live ledger applies them
        clock.tick(timedelta(minutes=7))
        ledger.catch_up()
        ended = datetime.now(timezone.utc)
        instants = [began + (ended - began) * f for f in offsets]
        instants += [t.replace(minute=minute, second=0, microsecond=0) + d for t in instants
                     for minute in (0, t.minute // 10 * 10) for d in (timedelta(0), -timedelta(microseconds=1), HOUR)]
        head = ledger.view.position()
        instants = [t for t in instants if t <= ended]
        readers = [ledger, *(ledger.at(t) for t in instants),
                   *(ledger.at(position=p) for p in {1, head // 3, head // 2, head})]
        expected = [_counts(ledger, reader.moment()) for reader in readers]
        for found in expected:
            for action, counted, rows in found:
                assert counted == rows, (action, counted, rows)
        ledger.rebuild()
        assert [_counts(ledger, reader.moment()) for reader in readers] == expected
        with ledger.view._transaction() as cursor:  # a view made before the counters were kept
            cursor.execute(ledger.view._sql("DROP TABLE {p}rollup_visible"))
        return instants, ended, expected
