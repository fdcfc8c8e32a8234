"""Property: whatever happened, every answer a caller got live is what the ledger as of that
instant answers now, in-process. The e2e tests check the same through the HTTP
``/as-of/`` prefix and the command line."""

from __future__ import annotations

from pathlib import Path

from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings

from ledger import open_ledger
from ledger.service_layer.application import Limits
from tests.conftest import new_location, store_kind
from tests.integration.answers import ask, play, stories

LIMITS = Limits(accounts_per_organization=5, invitations_per_day=6)


@settings(max_examples=12 if store_kind() == "sqlite" else 6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=stories)
def test_every_live_answer_is_the_answer_as_of_its_instant(tmp_path: Path, steps) -> None:
    with new_location(tmp_path) as location, freeze_time("2026-03-01T09:00:00Z") as clock, \
            open_ledger(location, limits=LIMITS) as ledger:
        recorded = play(ledger, clock, steps)
        for record in recorded:
            then = ledger.at(record.instant).client(record.caller)
            assert ask(then, record.operation, record.params) == record.answer, record
