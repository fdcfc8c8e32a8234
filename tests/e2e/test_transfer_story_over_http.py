"""The billing-transfer story of ``tests/integration/test_transfer_story.py`` (random invitations,
answers, terminations and renames over several months under freezegun), every Describe and List
answer recorded live, asked again through a real server's ``/as-of/<instant>`` with unchanged boto3."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings, strategies as st

from ledger import open_ledger
from tests.conftest import new_location
from tests.e2e.conftest import Server
from tests.integration.test_transfer_story import LIMITS, STEP, ask, play


def as_of(server: Server, instant: datetime) -> str:
    return f"{server.url}/as-of/{instant.isoformat().replace('+00:00', 'Z')}"


@settings(max_examples=2, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=8, max_size=20))
def test_every_answer_recorded_live_is_the_answer_through_as_of(tmp_path: Path, steps: Any) -> None:
    with new_location(tmp_path) as location:
        with freeze_time("2026-01-05T10:00:00Z") as clock, open_ledger(location, limits=LIMITS) as ledger:
            recorded = play(ledger, clock, steps)
        server = Server(location).start()
        try:
            clients: dict[tuple[str, str], Any] = {}
            for instant, account, operation, params, answer in recorded:
                key = (account, as_of(server, instant))
                client = clients.get(key) or clients.setdefault(key, server.client(account, endpoint=key[1]))
                assert ask(client, operation, params) == answer, (instant, account, operation, params)
        finally:
            assert server.stop() == 0
