"""Billing transfers on the command line (decisions 22, 28): ``show rt-…``, ``transfers``, ``diff`` and
``events`` over a story played under freezegun: MANAGEMENT pays for OUTSIDER's organization from
1 April to 30 April 2026, the transfer renamed by the payer and withdrawn by the paid-for side."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from ledger import open_ledger
from tests.cli.runner import cli
from tests.conftest import BOB, MANAGEMENT, OUTSIDER, new_location

APRIL = datetime(2026, 4, 1, tzinfo=timezone.utc)
END = datetime(2026, 4, 30, 23, 59, 59, 999000, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with new_location(tmp_path_factory.mktemp("transfers")) as location:
        with freeze_time("2026-03-01T09:00:00Z") as clock, open_ledger(location) as ledger:
            mgmt, outsider, bob = ledger.client(MANAGEMENT), ledger.client(OUTSIDER), ledger.client(BOB)
            for client in (mgmt, outsider, bob):
                client.create_organization(FeatureSet="ALL")
            handshake = mgmt.invite_organization_to_transfer_responsibility(
                Type="BILLING", Target={"Type": "ACCOUNT", "Id": OUTSIDER}, StartTimestamp=APRIL,
                SourceName="Outsider's bill")["Handshake"]
            rt = next(r["Value"] for r in handshake["Resources"] if r["Type"] == "RESPONSIBILITY_TRANSFER")
            clock.tick(3600)
            outsider.accept_handshake(HandshakeId=handshake["Id"])
            clock.tick(3600)
            mgmt.update_responsibility_transfer(Id=rt, Name="Paid by us")
            declined = mgmt.invite_organization_to_transfer_responsibility(
                Type="BILLING", Target={"Type": "ACCOUNT", "Id": BOB}, StartTimestamp=APRIL,
                SourceName="Bob's bill")["Handshake"]
            clock.tick(3600)
            bob.decline_handshake(HandshakeId=declined["Id"])
            clock.move_to("2026-03-10T12:00:00Z")
            outsider.terminate_responsibility_transfer(Id=rt, EndTimestamp=END)
            declined_rt = next(r["Value"] for r in declined["Resources"] if r["Type"] == "RESPONSIBILITY_TRANSFER")
        yield location, rt, declined_rt


def run(location: str, *args: str) -> Any:
    return cli(*args, "--data", location)


def test_show_gives_a_sides_describe_answer_and_the_history_with_its_derived_effect(story: Any) -> None:
    location, rt, _ = story
    shown = run(location, "show", rt, "--json").json()
    transfer = shown["ResponsibilityTransfer"]
    assert (transfer["Status"], transfer["Name"]) == ("WITHDRAWN", "Paid by us")  # the inviter's side by default
    assert "/billing/inbound/" in transfer["Arn"]
    assert [(e["What"], e["Derived"]) for e in shown["History"]] == [
        ("Invited", False), ("Accepted", False), ("Renamed", False), ("Withdrawn", False),
        ("EffectStarted", True), ("EffectEnded", True)]
    outbound = run(location, "show", rt, "--account", OUTSIDER, "--json").json()["ResponsibilityTransfer"]
    assert (outbound["Name"], "/billing/outbound/" in outbound["Arn"]) == ("Outsider's bill", True)
    then = run(location, "show", rt, "--as-of", "2026-03-01T09:30:00Z", "--json").json()
    assert then["ResponsibilityTransfer"]["Status"] == "REQUESTED"
    assert [e["What"] for e in then["History"]] == ["Invited"]
    table = run(location, "show", rt)
    assert table.code == 0 and "EffectStarted*" in table.out and "2026-04-01" in table.out
    assert "derived from the stored instants" in table.out


def test_show_refuses_a_transfer_that_does_not_exist_and_a_malformed_id(story: Any) -> None:
    location, _, _ = story
    missing = run(location, "show", "rt-doesnotexist1")
    assert missing.code == 1 and "no transfer rt-doesnotexist1" in missing.err
    malformed = run(location, "show", "rt-X")
    assert malformed.code == 2 and len(malformed.error_lines) == 1


@pytest.mark.parametrize("as_of, in_effect", [("2026-03-15", False), ("2026-04-15", True), ("2026-05-15", False)])
def test_transfers_tells_who_paid_for_whom_at_an_instant(story: Any, as_of: str, in_effect: bool) -> None:
    location, rt, declined = story
    listed = run(location, "transfers", "--as-of", as_of, "--json").json()["ResponsibilityTransfers"]
    shown_declined = {declined: False} if as_of < "2026-03-31" else {}  # gone 30 days after (decision 26)
    assert {t["Id"]: t["InEffect"] for t in listed} == {rt: in_effect, **shown_declined}
    (paid,) = [t for t in listed if t["Id"] == rt]
    assert (paid["Target"], paid["Source"]) == ({"ManagementAccountId": MANAGEMENT}, {"ManagementAccountId": OUTSIDER})


def test_transfers_as_an_account_lists_its_side(story: Any) -> None:
    location, rt, declined = story
    inbound = run(location, "transfers", "--account", MANAGEMENT, "--as-of", "2026-03-20", "--json").json()[
        "ResponsibilityTransfers"]
    assert [t["Id"] for t in inbound] == [declined, rt]  # newest first (decision 26)
    now = run(location, "transfers", "--account", MANAGEMENT, "--json").json()["ResponsibilityTransfers"]
    assert [t["Id"] for t in now] == [rt]  # the declined one, 30 days after (decision 26)
    outbound = run(location, "transfers", "--account", OUTSIDER, "--outbound").out
    assert rt in outbound and declined not in outbound and "1 transfer" in outbound
    assert run(location, "transfers", "--outbound").code == 2


def test_diff_reports_the_start_and_end_of_a_transfers_effect(story: Any) -> None:
    location, rt, _ = story
    started = run(location, "diff", "--from", "2026-03-15", "--to", "2026-04-15", "--json").json()["Changes"]
    (change,) = [c for c in started if c.get("ResponsibilityTransferId") == rt]
    assert change["InEffect"] == {"Before": False, "After": True}
    assert (change["EffectStarted"], change["EffectEnded"]) == ("2026-04-01T00:00:00+00:00", None)
    assert change["Before"] == change["After"]  # time alone: no event in between
    ended = run(location, "diff", "--from", "2026-04-15", "--to", "2026-05-15").out
    assert rt in ended and "ended 2026-04-30" in ended
    whole = run(location, "diff", "--from", "2026-02-01", "--to", "2026-06-01", "--json").json()["Changes"]
    (life,) = [c for c in whole if c.get("ResponsibilityTransferId") == rt]
    assert life["Before"] is None and life["After"]["Status"] == "WITHDRAWN"
    assert life["EffectStarted"] and life["EffectEnded"] and life["InEffect"] == {"Before": False, "After": False}
    quiet = run(location, "diff", "--from", "2026-06-01", "--to", "2026-06-15", "--json").json()["Changes"]
    assert not [c for c in quiet if "ResponsibilityTransferId" in c]


def test_the_change_feed_carries_transfer_events(story: Any) -> None:
    location, rt, _ = story
    import json

    records = [json.loads(line) for line in run(location, "events").out.splitlines()]
    mine = [(r["type"].split(".")[-1].split(":")[0], r["transfer_id"]) for r in records if r["aggregate_id"] == rt]
    assert mine == [("Invited", rt), ("Accepted", rt), ("Renamed", rt), ("Withdrawn", rt)]
