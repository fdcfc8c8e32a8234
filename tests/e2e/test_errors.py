"""AWS errors as boto3 callers meet them: ClientError with Error.Code, Message and Reason."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ALICE, BOB, OUTSIDER
from tests.e2e.conftest import Server, error_of

UNKNOWN_HANDSHAKE = "h-0123456789abcdef"


def invite(management: Any, account_id: str) -> str:
    answer = management.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": account_id})
    return str(answer["Handshake"]["Id"])


@pytest.fixture
def outsider(server: Server) -> Iterator[Any]:
    """OUTSIDER manages an organization of its own for the length of a test."""
    client = server.client(OUTSIDER)
    client.create_organization(FeatureSet="ALL")
    yield client
    client.delete_organization()


class TestHandshakeErrors:
    def test_unknown_handshake_is_not_found(self, organization: Any, management: Any) -> None:
        with pytest.raises(ClientError) as caught:
            management.describe_handshake(HandshakeId=UNKNOWN_HANDSHAKE)
        code, message, reason = error_of(caught)
        assert (code, reason) == ("HandshakeNotFoundException", None)
        assert UNKNOWN_HANDSHAKE in message

    def test_a_stranger_is_told_not_found(self, organization: Any, management: Any, bob: Any) -> None:
        handshake_id = invite(management, ALICE)
        with pytest.raises(ClientError) as caught:
            bob.describe_handshake(HandshakeId=handshake_id)
        assert error_of(caught)[0] == "HandshakeNotFoundException"

    def test_declining_twice_is_already_in_state(self, organization: Any, management: Any, alice: Any) -> None:
        handshake_id = invite(management, ALICE)
        alice.decline_handshake(HandshakeId=handshake_id)
        with pytest.raises(ClientError) as caught:
            alice.decline_handshake(HandshakeId=handshake_id)
        assert error_of(caught)[0] == "HandshakeAlreadyInStateException"

    def test_accepting_a_declined_one_is_an_invalid_transition(
        self, organization: Any, management: Any, alice: Any,
    ) -> None:
        handshake_id = invite(management, ALICE)
        alice.decline_handshake(HandshakeId=handshake_id)
        with pytest.raises(ClientError) as caught:
            alice.accept_handshake(HandshakeId=handshake_id)
        assert error_of(caught)[0] == "InvalidHandshakeTransitionException"

    def test_the_recipient_cannot_cancel(self, organization: Any, management: Any, alice: Any) -> None:
        handshake_id = invite(management, ALICE)
        with pytest.raises(ClientError) as caught:
            alice.cancel_handshake(HandshakeId=handshake_id)
        assert error_of(caught)[0] == "AccessDeniedException"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    def test_a_second_open_invitation_is_a_duplicate(self, organization: Any, management: Any) -> None:
        invite(management, ALICE)
        with pytest.raises(ClientError) as caught:
            invite(management, ALICE)
        assert error_of(caught)[0] == "DuplicateHandshakeException"

    def test_management_account_of_another_organization_cannot_move(self, organization: Any, management: Any,
                                                                    outsider: Any) -> None:
        handshake_id = invite(management, OUTSIDER)
        with pytest.raises(ClientError) as caught:
            outsider.accept_handshake(HandshakeId=handshake_id)
        code, _, reason = error_of(caught)
        assert (code, reason) == ("MasterCannotLeaveOrganizationException", None)


class TestInputErrors:
    def test_malformed_handshake_id(self, alice: Any) -> None:
        with pytest.raises(ClientError) as caught:
            alice.describe_handshake(HandshakeId="not-a-handshake")
        code, message, reason = error_of(caught)
        assert (code, reason) == ("InvalidInputException", "INVALID_PATTERN")
        assert "HandshakeId" in message

    def test_max_results_above_20(self, alice: Any) -> None:
        with pytest.raises(ClientError) as caught:
            alice.list_handshakes_for_account(MaxResults=21)
        assert error_of(caught)[::2] == ("InvalidInputException", "MAX_VALUE_EXCEEDED")

    def test_filter_with_both_fields(self, alice: Any) -> None:
        with pytest.raises(ClientError) as caught:
            alice.list_handshakes_for_account(Filter={"ActionType": "INVITE", "ParentHandshakeId": UNKNOWN_HANDSHAKE})
        assert error_of(caught)[::2] == ("InvalidInputException", "MAX_LIMIT_EXCEEDED_FILTER")

    def test_forged_next_token(self, alice: Any) -> None:
        with pytest.raises(ClientError) as caught:
            alice.list_handshakes_for_account(NextToken="forged.token")
        assert error_of(caught)[::2] == ("InvalidInputException", "INVALID_NEXT_TOKEN")

    def test_next_token_of_another_operation(self, organization: Any, management: Any) -> None:
        invite(management, ALICE)
        invite(management, BOB)
        token = management.list_handshakes_for_organization(MaxResults=1)["NextToken"]
        with pytest.raises(ClientError) as caught:
            management.list_handshakes_for_account(NextToken=token)
        assert error_of(caught)[::2] == ("InvalidInputException", "INVALID_NEXT_TOKEN")


class TestOrganizationErrors:
    def test_no_organization(self, bob: Any) -> None:
        with pytest.raises(ClientError) as caught:
            bob.list_handshakes_for_organization()
        assert error_of(caught)[0] == "AWSOrganizationsNotInUseException"

    def test_a_member_cannot_list_the_organization(self, organization: Any, management: Any, alice: Any) -> None:
        alice.accept_handshake(HandshakeId=invite(management, ALICE))
        with pytest.raises(ClientError) as caught:
            alice.list_handshakes_for_organization()
        assert error_of(caught)[0] == "AccessDeniedException"
