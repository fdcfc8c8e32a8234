"""The published API examples of billing transfer (AWS Organizations API Reference:
DescribeResponsibilityTransfer, TerminateResponsibilityTransfer, List{In,Out}boundResponsibilityTransfers,
InviteOrganizationToTransferResponsibility) reproduced in-process, the wire checked as it is sent:
epoch-second JSON numbers, not the docs' millisecond strings. And ``ledger.at(T)`` answers each
Describe and List as it stood (decisions 18, 22, 26)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest
from freezegun import freeze_time

from ledger import open_ledger
from tests.acceptance.transfer_world import transfer_id

SOURCE, TARGET = "222222222222", "333333333333"  # alice@example.com is paid for by juan@example.com


def wire(client: Any) -> list[dict[str, Any]]:
    """Every answer's body, as JSON sent over the wire."""
    bodies: list[dict[str, Any]] = []
    client.meta.events.register("after-call.organizations.*",
                                lambda http_response, **_: bodies.append(json.loads(http_response.content)))
    return bodies


@pytest.fixture
def story() -> Iterator[Any]:
    """The examples' transfer: invited 2025-11-18T23:08:20Z to start 2026-01-01, withdrawn in January
    to end 2026-01-31T23:59:59Z."""
    with freeze_time("2025-11-18T23:08:20Z") as clock, open_ledger(":memory:") as ledger:
        ledger.register_account(SOURCE, "alice@example.com")
        ledger.register_account(TARGET, "juan@example.com")
        source, target = ledger.client(SOURCE), ledger.client(TARGET)
        source_org = source.create_organization()["Organization"]["Id"]
        target_org = target.create_organization()["Organization"]["Id"]
        yield ledger, clock, source, target, source_org, target_org


def test_invite_example(story):
    ledger, clock, source, target, source_org, target_org = story
    sent = wire(target)
    target.invite_organization_to_transfer_responsibility(
        Notes="transfer notes", SourceName="transfer name", StartTimestamp=1767225600,
        Target={"Type": "EMAIL", "Id": "alice@example.com"}, Type="BILLING")
    handshake = sent[0]["Handshake"]
    assert handshake["ExpirationTimestamp"] == 1767139200  # start - 24 h, epoch seconds
    assert handshake["RequestedTimestamp"] == 1763507300
    assert handshake["State"] == "REQUESTED" and handshake["Action"] == "TRANSFER_RESPONSIBILITY"
    assert handshake["Parties"] == [{"Id": target_org, "Type": "ORGANIZATION"},
                                    {"Id": "alice@example.com", "Type": "EMAIL"}]
    assert handshake["Resources"][0]["Resources"] == [{"Type": "TRANSFER_START_TIMESTAMP", "Value": "1767225600"},
                                                      {"Type": "TRANSFER_TYPE", "Value": "BILLING"}]
    assert handshake["Resources"][2:] == [{"Type": "EMAIL", "Value": "alice@example.com"},
                                          {"Type": "NOTES", "Value": "transfer notes"}]


def test_describe_terminate_and_list_examples(story):
    ledger, clock, source, target, source_org, target_org = story
    handshake = target.invite_organization_to_transfer_responsibility(
        SourceName="sample transfer", StartTimestamp=1767225600, Target={"Type": "ACCOUNT", "Id": SOURCE},
        Type="BILLING")["Handshake"]
    rt = transfer_id(handshake)
    source.accept_handshake(HandshakeId=handshake["Id"])
    clock.move_to("2026-01-10T12:00:00Z")
    sent = wire(source)
    source.terminate_responsibility_transfer(EndTimestamp=1769903999, Id=rt)
    source.describe_responsibility_transfer(Id=rt)
    source.list_outbound_responsibility_transfers(Type="BILLING")
    outbound_arn = f"arn:aws:organizations::{SOURCE}:transfer/{source_org}/billing/outbound/{rt}"
    ids_only = {
        "Arn": outbound_arn, "EndTimestamp": 1769903999, "Id": rt, "Name": "sample transfer",
        "Source": {"ManagementAccountId": SOURCE}, "StartTimestamp": 1767225600, "Status": "WITHDRAWN",
        "Target": {"ManagementAccountId": TARGET}, "Type": "BILLING",
    }
    assert sent[0] == {"ResponsibilityTransfer": ids_only}
    assert sent[1] == {"ResponsibilityTransfer": {
        **ids_only, "Source": {"ManagementAccountEmail": "alice@example.com", "ManagementAccountId": SOURCE},
        "Target": {"ManagementAccountEmail": "juan@example.com", "ManagementAccountId": TARGET}}}
    assert sent[2] == {"ResponsibilityTransfers": [ids_only]}
    received = wire(target)
    target.list_inbound_responsibility_transfers(Type="BILLING")
    assert received[0] == {"ResponsibilityTransfers": [
        {**ids_only, "Arn": f"arn:aws:organizations::{TARGET}:transfer/{target_org}/billing/inbound/{rt}"}]}


def test_as_of_answers_as_they_stood(story):
    ledger, clock, source, target, source_org, target_org = story
    handshake = target.invite_organization_to_transfer_responsibility(
        SourceName="sample transfer", StartTimestamp=1767225600, Target={"Type": "EMAIL", "Id": "alice@example.com"},
        Type="BILLING")["Handshake"]
    rt = transfer_id(handshake)
    recorded: list[tuple[datetime, str, str, dict[str, Any], Any]] = []

    def record() -> None:
        now = datetime.now(timezone.utc)
        for account, client in ((SOURCE, source), (TARGET, target)):
            recorded.append((now, account, "DescribeResponsibilityTransfer", {"Id": rt},
                             client.describe_responsibility_transfer(Id=rt)))
        recorded.append((now, SOURCE, "ListOutboundResponsibilityTransfers", {"Type": "BILLING"},
                         source.list_outbound_responsibility_transfers(Type="BILLING")))
        recorded.append((now, TARGET, "ListInboundResponsibilityTransfers", {"Type": "BILLING"},
                         target.list_inbound_responsibility_transfers(Type="BILLING")))

    record()
    clock.tick(3600)
    source.accept_handshake(HandshakeId=handshake["Id"])
    record()
    clock.tick(3600)
    target.update_responsibility_transfer(Id=rt, Name="renamed")
    record()
    clock.move_to("2026-01-10T12:00:00Z")
    source.terminate_responsibility_transfer(Id=rt)
    record()
    clock.move_to("2026-03-01T00:00:00Z")
    for instant, account, operation, params, answer in recorded:
        answer = {k: v for k, v in answer.items() if k != "ResponsibilityMetadata"}
        answer.pop("ResponseMetadata", None)
        then = ledger.at(instant).client(account)
        method = {"DescribeResponsibilityTransfer": then.describe_responsibility_transfer,
                  "ListOutboundResponsibilityTransfers": then.list_outbound_responsibility_transfers,
                  "ListInboundResponsibilityTransfers": then.list_inbound_responsibility_transfers}[operation]
        again = method(**params)
        again.pop("ResponseMetadata", None)
        assert again == answer, (instant, account, operation)
