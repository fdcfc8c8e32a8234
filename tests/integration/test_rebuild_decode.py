"""The rebuild's own decoding (``projections/bulk_load.py``) reads every stored event as
eventsourcing's mapper does: the same class and the same attributes, of the same types; and an
event that makes no rows gives exactly its instant."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings, strategies as st

from ledger import open_ledger
from ledger.domain.instants import to_us
from ledger.service_layer.application import Limits
from projections.bulk_load import decode, time_only
from tests.conftest import new_location
from tests.integration.answers import ACCOUNTS, MANAGERS, _run, step

LIMITS = Limits(accounts_per_organization=5, invitations_per_day=8)


def shape(event: Any) -> dict[str, tuple[type, Any]]:
    return {name: (type(value), value) for name, value in vars(event).items()}


@settings(max_examples=5, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=8, max_size=30))
def test_decode_reads_every_event_as_the_mapper_does(tmp_path: Path, steps: list[Any]) -> None:
    with new_location(tmp_path) as location, freeze_time("2026-03-01T09:00:00Z") as clock, \
            open_ledger(location, limits=LIMITS) as ledger:
        seen: list[str] = []
        prelude = [("create", 0, 0, 0, 1), ("create", 1, 0, 1, 1), ("register", 0, 0, 0, 1), ("register", 0, 1, 1, 1),
                   ("invite", 0, 2, 0, 1)]
        for move, m, a, pick, advance in prelude + steps:
            clock.tick(timedelta(seconds=advance))
            _run(ledger, move, MANAGERS[m], ACCOUNTS[a], pick, seen)
        app = ledger.app
        notifications = app.recorder.select_notifications(start=0, limit=10_000, inclusive_of_start=False)
        assert notifications
        instants_only = 0
        for notification in notifications:
            expected = app.mapper.to_domain_event(notification)
            decoded = decode(app.mapper, notification)
            assert type(decoded) is type(expected)
            assert shape(decoded) == shape(expected)
            instant = time_only(app.mapper, notification)
            if instant is not None:
                instants_only += 1
                assert instant == to_us(expected.timestamp)
        assert instants_only  # some events make no rows (an organization's InvitationSent)
