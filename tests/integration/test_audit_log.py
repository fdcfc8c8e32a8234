"""The audit log: every command call, accepted or refused, beside the events (issue 12)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from freezegun import freeze_time

from ledger import open_ledger
from ledger.application import Limits
from tests.conftest import ALICE, BOB, MANAGEMENT, OUTSIDER


def calls(ledger: Any) -> list[Any]:
    return ledger.app.recorder.select_calls()


@pytest.fixture
def story(data_location: str):
    """Accepted and refused calls: an AccessDenied, a HandshakeAlreadyInState, a quota, invalid input."""
    with freeze_time("2026-05-01T12:00:00Z") as clock, \
            open_ledger(data_location, limits=Limits(accounts_per_organization=3)) as ledger:
        mgmt, alice = ledger.client(MANAGEMENT), ledger.client(ALICE)
        mgmt.create_organization()
        clock.tick(60)
        handshake_id = mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE})["Handshake"]["Id"]
        refused = []
        for attempt in (
            lambda: mgmt.accept_handshake(HandshakeId=handshake_id),  # the sender: AccessDenied
            lambda: alice.accept_handshake(HandshakeId=handshake_id),
            lambda: alice.accept_handshake(HandshakeId=handshake_id),  # again: HandshakeAlreadyInState
            lambda: mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": BOB}),
            lambda: mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": OUTSIDER}),  # quota
            lambda: mgmt.decline_handshake(HandshakeId="h-short"),  # invalid input
        ):
            clock.tick(60)
            try:
                attempt()
            except ClientError as error:
                refused.append(error.response["Error"]["Code"])
        yield ledger, handshake_id, refused


class TestEveryCall:
    def test_refused_calls_are_recorded_with_their_error(self, story):
        ledger, _, refused = story
        assert refused == ["AccessDeniedException", "HandshakeAlreadyInStateException",
                           "HandshakeConstraintViolationException", "InvalidInputException"]
        api_calls = [c for c in calls(ledger) if c.event_type == "AwsApiCall"]
        assert [(c.event_name, c.error_code) for c in api_calls] == [
            ("CreateOrganization", None), ("InviteAccountToOrganization", None),
            ("AcceptHandshake", "AccessDeniedException"), ("AcceptHandshake", None),
            ("AcceptHandshake", "HandshakeAlreadyInStateException"), ("InviteAccountToOrganization", None),
            ("InviteAccountToOrganization", "HandshakeConstraintViolationException"),
            ("DeclineHandshake", "InvalidInputException"),
        ]

    def test_a_record_names_who_from_where_and_what(self, story):
        ledger, handshake_id, _ = story
        accepted = next(c for c in calls(ledger) if c.event_name == "AcceptHandshake" and not c.refused)
        assert (accepted.account_id, accepted.access_key_id, accepted.recipient_account_id) == (ALICE, ALICE, ALICE)
        assert accepted.user_agent.startswith("Botocore/")
        assert accepted.request_parameters == {"HandshakeId": handshake_id}
        assert accepted.response_elements["Handshake"]["State"] == "ACCEPTED"
        assert accepted.resources == (("AWS::Organizations::Handshake", handshake_id),)
        history = ledger.history(handshake_id)
        assert (history[-1].what, history[-1].request_id) == ("Accepted", accepted.request_id)

    def test_a_membership_change_is_a_service_event_in_the_management_log(self, story):
        ledger, _, _ = story
        (joined,) = [c for c in calls(ledger) if c.event_type == "AwsServiceEvent"]
        assert (joined.event_name, joined.recipient_account_id) == ("AccountJoinedOrganization", MANAGEMENT)
        assert joined.details["accountId"] == ALICE and joined.details["joinedMethod"] == "INVITED"


class TestRefusedCallsChangeNothing:
    def test_no_event_and_no_view_row_for_a_refusal(self, data_location):
        with open_ledger(data_location) as ledger:
            mgmt = ledger.client(MANAGEMENT)
            mgmt.create_organization()
            handshake_id = mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE})["Handshake"]["Id"]
            head, view, audited = ledger.app.recorder.max_notification_id(), ledger.view.position(), len(calls(ledger))
            with pytest.raises(ClientError):
                ledger.client(BOB).accept_handshake(HandshakeId=handshake_id)
            assert (ledger.app.recorder.max_notification_id(), ledger.view.position()) == (head, view)
            assert len(calls(ledger)) == audited + 1

    def test_a_rebuild_leaves_the_audit_untouched(self, story):
        ledger, _, _ = story
        before = calls(ledger)
        ledger.rebuild()
        assert calls(ledger) == before
