"""Events stored by an earlier version of the ledger still load: the stored topics are a contract.

``stored_events_v1.json`` holds every event of one story (each of the 34 event types at least
once; the transfer's ``Created`` is never recorded) exactly as the ledger stored them before its
events became declared classes (main at 5578dc8, whose events were still ``@event("Name",
topic=...)``), with the answers that ledger gave. The test writes those stored events into a fresh
store, reopens the ledger (its views catch up from them) and asks the same questions.
Regenerate only on purpose: ``python tests/integration/test_stored_events.py`` writes the fixture.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from eventsourcing.persistence import StoredEvent
from freezegun import freeze_time

from ledger import open_ledger

FIXTURE = Path(__file__).with_name("stored_events_v1.json")
MANAGEMENT, SECOND_MANAGEMENT = "100000000001", "100000000002"
ALICE, BOB, CAROL, DAN = "200000000001", "200000000002", "200000000003", "200000000004"
PAYER, SOURCE, OTHER = "300000000001", "300000000002", "300000000003"  # billing transfers between organizations
# Declared so that the base's creation event is not registered under this aggregate; never recorded.
NEVER_RECORDED = {"handshake-ledger:ResponsibilityTransfer.Created:v1"}
START = "2026-02-02T10:00:00Z"


def story(ledger: Any, clock: Any) -> list[str]:
    """A history that records every event type; returns the handshake ids."""
    ids: list[str] = []
    mgmt = ledger.client(MANAGEMENT)

    def invite(account: str) -> str:
        ids.append(mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": account})["Handshake"]["Id"])
        clock.tick(60)
        return ids[-1]

    ledger.register_account(ALICE, "alice@example.com", "Alice")  # Account.Created, EmailClaim.Created
    ledger.register_account(ALICE, "alice@example.org", "Alice A")  # Released, ProfileChanged
    ledger.register_account(BOB, "alice@example.com", "Bob")  # EmailClaim.Reclaimed
    mgmt.create_organization(FeatureSet="CONSOLIDATED_BILLING")
    ledger.client(ALICE).accept_handshake(HandshakeId=invite(ALICE))  # Accepted, MemberJoined, Joined
    ledger.client(BOB).decline_handshake(HandshakeId=invite(BOB))  # Declined, InvitationClosed
    mgmt.cancel_handshake(HandshakeId=invite(CAROL))  # Canceled
    ledger.client(DAN).accept_handshake(HandshakeId=invite(DAN))
    ids.append(mgmt.enable_all_features()["Handshake"]["Id"])  # AllFeaturesRequested
    mgmt.cancel_handshake(HandshakeId=ids[-1])  # AllFeaturesRequestEnded
    clock.tick(3600)
    parent = mgmt.enable_all_features()["Handshake"]["Id"]
    ids.append(parent)
    for child in ledger.client(ALICE).list_handshakes_for_account()["Handshakes"]:
        if child["Action"] == "APPROVE_ALL_FEATURES" and child["State"] == "OPEN":
            ids.append(child["Id"])
            ledger.client(ALICE).accept_handshake(HandshakeId=child["Id"])  # ChildAccepted
    ledger.client(DAN).leave_organization()  # ChildWithdrawn, MemberLeft, LeftOrganization
    clock.tick(3600)
    mgmt.accept_handshake(HandshakeId=parent)  # AllFeaturesEnabled
    root_id = mgmt.list_roots()["Roots"][0]["Id"]
    mgmt.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    mgmt.disable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    mgmt.enable_policy_type(RootId=root_id, PolicyType="TAG_POLICY")
    mgmt.enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    mgmt.enable_aws_service_access(ServicePrincipal="config.amazonaws.com")
    mgmt.disable_aws_service_access(ServicePrincipal="config.amazonaws.com")
    mgmt.remove_account_from_organization(AccountId=ALICE)
    ledger.client(SECOND_MANAGEMENT).create_organization(FeatureSet="ALL")
    ledger.client(SECOND_MANAGEMENT).delete_organization()  # Organization.Deleted
    transfers(ledger, clock, ids)
    clock.tick(86400)
    return ids


def transfers(ledger: Any, clock: Any, ids: list[str]) -> None:
    """Billing transfers: every ResponsibilityTransfer event, and Organization.TransferJoined."""
    payer = ledger.client(PAYER)
    for account in (PAYER, SOURCE, OTHER):
        ledger.client(account).create_organization(FeatureSet="ALL")

    def invite(account: str, name: str) -> str:
        now = datetime.now(timezone.utc)
        start = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=timezone.utc)
        handshake = payer.invite_organization_to_transfer_responsibility(  # Invited, TransferJoined
            Type="BILLING", Target={"Type": "ACCOUNT", "Id": account}, StartTimestamp=start,
            SourceName=name)["Handshake"]
        ids.append(handshake["Id"])
        clock.tick(60)
        return str(handshake["Id"])

    accepted = invite(SOURCE, "accepted")
    ledger.client(SOURCE).accept_handshake(HandshakeId=accepted)  # Accepted, TransferJoined
    rt = payer.list_inbound_responsibility_transfers(Type="BILLING")["ResponsibilityTransfers"][0]["Id"]
    payer.update_responsibility_transfer(Id=rt, Name="renamed")  # Renamed
    ledger.client(SOURCE).terminate_responsibility_transfer(Id=rt)  # Withdrawn
    ledger.client(OTHER).decline_handshake(HandshakeId=invite(OTHER, "declined"))  # Declined
    payer.cancel_handshake(HandshakeId=invite(OTHER, "canceled"))  # Canceled


def answers(ledger: Any, handshake_ids: list[str]) -> dict[str, Any]:
    """What a user can see of that history, as JSON text values."""
    mgmt = ledger.client(MANAGEMENT)
    seen: dict[str, Any] = {
        "organization": mgmt.describe_organization()["Organization"],
        "roots": mgmt.list_roots()["Roots"],
        "accounts": mgmt.list_accounts()["Accounts"],
        "services": mgmt.list_aws_service_access_for_organization()["EnabledServicePrincipals"],
        "handshakes": mgmt.list_handshakes_for_organization()["Handshakes"],
        "history": {h: ledger.history(h) for h in handshake_ids},
    }
    for account in (ALICE, BOB, CAROL, DAN):
        seen[account] = ledger.client(account).list_handshakes_for_account()["Handshakes"]
    for account in (PAYER, SOURCE, OTHER):
        client = ledger.client(account)
        seen[account] = {"handshakes": client.list_handshakes_for_account()["Handshakes"],
                         "inbound": client.list_inbound_responsibility_transfers(Type="BILLING"),
                         "outbound": client.list_outbound_responsibility_transfers(Type="BILLING")}
        for side in ("inbound", "outbound"):
            seen[account][side].pop("ResponseMetadata", None)
    return json.loads(json.dumps(seen, default=str, sort_keys=True))


def stored(ledger: Any) -> list[dict[str, Any]]:
    notifications = ledger.app.recorder.select_notifications(start=None, limit=10_000)
    return [{"originator_id": n.originator_id, "originator_version": n.originator_version,
             "topic": n.topic, "state": n.state.decode()} for n in notifications]


class TestEventsStoredBefore:
    def test_the_fixture_holds_every_event_type(self):
        from tests.unit.test_event_topics import EVENT_TOPICS

        written = {e["topic"] for e in json.loads(FIXTURE.read_text())["events"]}
        assert written == {t for events in EVENT_TOPICS.values() for t in events} - NEVER_RECORDED

    def test_a_ledger_written_before_reads_the_same(self, data_location):
        fixture = json.loads(FIXTURE.read_text())
        events = [StoredEvent(e["originator_id"], e["originator_version"], e["topic"], e["state"].encode())
                  for e in fixture["events"]]
        with freeze_time(fixture["now"]):
            with open_ledger(data_location) as ledger:
                ledger.app.recorder.insert_events(events)
            with open_ledger(data_location) as reopened:
                for aggregate_id in {e.originator_id for e in events}:
                    assert reopened.app.repository.get(aggregate_id).version == max(
                        e.originator_version for e in events if e.originator_id == aggregate_id)
                assert answers(reopened, fixture["handshake_ids"]) == fixture["answers"]
                mapper = reopened.app.mapper
                for event in events:  # read, then written again: the same topic and the same fields
                    again = mapper.to_stored_event(mapper.to_domain_event(event))
                    assert (again.topic, json.loads(again.state)) == (event.topic, json.loads(event.state))


def write_fixture() -> None:
    with freeze_time(START) as clock, open_ledger(":memory:") as ledger:
        ids = story(ledger, clock)
        fixture = {"now": ledger.now().isoformat(), "handshake_ids": ids,
                   "answers": answers(ledger, ids), "events": stored(ledger)}
    FIXTURE.write_text(json.dumps(fixture, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    write_fixture()
    sys.exit(0)
