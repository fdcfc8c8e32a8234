"""demo --handshakes N: bulk beyond 1,000, an organization per 1,000 handshakes; bad N and a
location that is not the demo's own refused in one line (exit 2), nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

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


def _story_as_told(ledger: Any, organizations: list[dict[str, Any]]) -> dict[str, Any]:
    """What the API answers about each organization's members and each recipient's invitations;
    membership is checked against the write side's own Account aggregates (replayed from the log)."""
    told: dict[str, Any] = {}
    for organization in organizations:
        organization_id, management = organization["Id"], organization["ManagementAccountId"]
        boss = ledger.client(management)
        members = {a["Id"] for page in boss.get_paginator("list_accounts").paginate() for a in page["Accounts"]}
        recipients = {p["Id"] for page in boss.get_paginator("list_handshakes_for_organization").paginate()
                      for h in page["Handshakes"] for p in h["Parties"] if p["Type"] == "ACCOUNT"}
        joined = {r for r in recipients if ledger.app.repository.get(r).organization_id == organization_id}
        assert len(members) > 1 and members == joined | {management}, (organization_id, len(members))
        left = 0  # accepted an invitation once, no member now: LeaveOrganization
        for recipient in sorted(recipients):
            client = ledger.client(recipient)
            handshakes = [h for page in client.get_paginator("list_handshakes_for_account").paginate()
                          for h in page["Handshakes"]]
            open_ones = [h["Id"] for h in handshakes if h["State"] == "OPEN"]
            assert len(open_ones) <= 1, (recipient, open_ones)  # one organization invites each recipient
            if recipient in members:
                assert any(h["State"] == "ACCEPTED" for h in handshakes)
                assert client.describe_organization()["Organization"]["Id"] == organization_id
                assert not open_ones  # a member is not invited again
            else:
                left += any(h["State"] == "ACCEPTED" for h in handshakes)
                with pytest.raises(ClientError) as refused:
                    client.describe_organization()
                assert refused.value.response["Error"]["Code"] == "AWSOrganizationsNotInUseException"
            told[recipient] = (recipient in members, sorted((h["Id"], h["State"]) for h in handshakes))
        assert left, organization_id
        told[organization_id] = sorted(members)
    return told


def test_bulk_story_is_one_the_api_would_allow(data_location: str) -> None:
    """Accepted invitees are members (and leave again), nobody holds two open invitations from one
    organization, and the replay tells the same story."""
    seeded = cli("demo", "--data", data_location, "--handshakes", "3000", "--json").json()
    assert all(o["Members"] > 1 for o in seeded["Organizations"])
    with open_ledger(data_location) as ledger:
        told = _story_as_told(ledger, seeded["Organizations"])
        ledger.rebuild()
        assert _story_as_told(ledger, seeded["Organizations"]) == told


def test_serving_a_location_a_demo_is_seeding_is_refused_at_once(data_location: str) -> None:
    from ledger.storage.stores import Occupancy

    with Occupancy(data_location, alone=True):  # what the demo holds while it seeds
        result = cli("serve", "--data", data_location, "--port", "0", timeout=30)
    assert result.code == 2 and len(result.error_lines) == 1 and "seeding" in result.err, result.err
