"""The bulk rebuild (current versions held in memory, each version written once, indexes built
after the load) writes exactly the rows that catch-up writes event by event: every table of the
view, row for row, over random stories, on the store under test."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings, strategies as st

from ledger import open_ledger
from ledger.service_layer.application import Limits
from projections.view_tables import TABLE_NAMES
from tests.conftest import new_location, store_kind
from tests.integration.answers import ACCOUNTS, MANAGERS, _run, step

LIMITS = Limits(accounts_per_organization=5, invitations_per_day=8)
KEYS = {"handshake_documents": "id", "accounts": "account_id, valid_from", "organizations": "organization_id, valid_from",
        "event_times": "notification_id", "email_moves": "notification_id", "rollup": "organization_id, action, day, kind",
        "rollup_hours": "hour, action, kind", "rollup_totals": "organization_id, action",
        "rollup_visible": "unit, start, action, state", "rollup_slices": "slice, action, kind"}


def every_row(ledger: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table, in key order."""
    return {table: [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in ledger.view.query(
        f"SELECT * FROM {{p}}{table} ORDER BY {KEYS.get(table, 'id, valid_from')}")] for table in TABLE_NAMES}


def every_index(ledger: Any) -> list[str]:
    """The names of the view's indexes (the rebuild must leave the same ones, under the live names)."""
    if store_kind() == "sqlite":
        rows = ledger.view.query("SELECT name FROM sqlite_master WHERE type = 'index' AND substr(name, 1, 7) != 'sqlite_' "
                                 "AND substr(tbl_name, 1, 3) = 'hv_' ORDER BY name")
    else:
        rows = ledger.view.query("SELECT indexname AS name FROM pg_indexes WHERE substr(tablename, 1, 3) = 'hv_' ORDER BY 1")
    return [row["name"] if isinstance(row, dict) else row[0] for row in rows]


@settings(max_examples=8 if store_kind() == "sqlite" else 3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=8, max_size=30), batch=st.integers(1, 12), hold=st.integers(0, 6))
def test_rebuilt_rows_equal_the_caught_up_rows(tmp_path: Path, steps: list[Any], batch: int, hold: int) -> None:
    with new_location(tmp_path) as location, freeze_time("2026-03-01T09:00:00Z") as clock, \
            open_ledger(location, limits=LIMITS) as ledger:
        seen: list[str] = []
        prelude = [("create", 0, 0, 0, 1), ("create", 1, 0, 1, 1), ("register", 0, 0, 0, 1), ("register", 0, 1, 1, 1)]
        for move, m, a, pick, advance in prelude + steps:
            clock.tick(timedelta(seconds=advance))
            _run(ledger, move, MANAGERS[m], ACCOUNTS[a], pick, seen)
            ledger.catch_up()  # incremental: a batch per command, as a live ledger applies them
        caught_up, indexes = every_row(ledger), every_index(ledger)
        assert caught_up["event_times"]
        # small batches and few rows held: versions cross batches, rows are written early and loaded again
        ledger.view.rebuild(ledger.app, batch=batch, hold=hold)
        assert every_row(ledger) == caught_up
        assert every_index(ledger) == indexes
        ledger.rebuild()  # the defaults: the whole story in one batch, every row held
        assert every_row(ledger) == caught_up
        assert every_index(ledger) == indexes
