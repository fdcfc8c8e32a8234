"""demo --handshakes N: bulk beyond 1,000, an organization per 1,000 handshakes; bad N and a
location that is not the demo's own refused in one line (exit 2), nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.entrypoints.bootstrap import open_ledger
from tests.cli.runner import cli


def _events(data: str) -> int:
    with open_ledger(data) as ledger:
        return ledger.app.recorder.max_notification_id() or 0


def test_bulk_demo_scales_organizations_with_n_and_replays(data_location: str) -> None:
    seeded = cli("demo", "--data", data_location, "--handshakes", "3000", "--json").json()
    assert seeded["Handshakes"] == 3000 and seeded["OrganizationCount"] == 3
    per_organization = cli("analytics", "--json", "--data", data_location).json()["Analytics"]
    assert [row["Total"] for row in per_organization] == [1000, 1000, 1000]
    totals = {k: sum(row[k] for row in per_organization) for k in ("Accepted", "Declined", "Canceled", "Expired", "Open")}
    assert all(totals.values()), totals  # every ending is in the story
    assert cli("rebuild", "--data", data_location).code == 0  # the replay accepts every event
    assert cli("analytics", "--json", "--data", data_location).json()["Analytics"] == per_organization
    opened = cli("show", seeded["Try"]["invitation accepted"], "--json", "--data", data_location).json()
    assert opened["Handshake"]["State"] == "ACCEPTED"


@pytest.mark.parametrize("n", ["0", "-5", "1000000000000", "abc", "2.5", ""])
def test_bad_n_is_one_line_exit_2_nothing_written(tmp_path: Path, n: str) -> None:
    data = tmp_path / "never"
    result = cli("demo", "--data", str(data), f"--handshakes={n}")
    assert result.code == 2 and len(result.error_lines) == 1, result.err
    assert "--handshakes" in result.err and not data.exists()


def test_a_location_holding_events_is_refused(data_location: str) -> None:
    assert cli("demo", "--data", data_location, "--handshakes", "40").code == 0
    before = _events(data_location)
    for n in ("40", "2000"):
        result = cli("demo", "--data", data_location, "--handshakes", n)
        assert result.code == 2 and len(result.error_lines) == 1 and "already holds" in result.err
    assert _events(data_location) == before


def test_a_location_a_server_is_serving_is_refused(data_location: str) -> None:
    with open_ledger(data_location) as served:
        served.follow(interval=0.2)  # what `serve` does with the location it serves
        for n in ("40", "2000"):
            result = cli("demo", "--data", data_location, "--handshakes", n)
            assert result.code == 2 and len(result.error_lines) == 1 and "in use" in result.err, result.err
        assert (served.app.recorder.max_notification_id() or 0) == 0
    assert cli("demo", "--data", data_location, "--handshakes", "40").code == 0  # free once the server is gone
