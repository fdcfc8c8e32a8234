"""The handshake flows through boto3 against the real server."""

from __future__ import annotations

import threading
from typing import Any

from tests.conftest import ALICE, BOB, MANAGEMENT
from tests.e2e.conftest import Server, dissolve


def invite(management: Any, account_id: str) -> dict[str, Any]:
    answer = management.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": account_id})
    return dict(answer["Handshake"])


def received(client: Any, **params: Any) -> dict[str, dict[str, Any]]:
    return {h["Id"]: h for h in client.list_handshakes_for_account(**params)["Handshakes"]}


def join(management: Any, member: Any, account_id: str) -> None:
    member.accept_handshake(HandshakeId=invite(management, account_id)["Id"])


class TestInvitation:
    def test_invitee_sees_and_declines_it(self, organization: Any, management: Any, alice: Any) -> None:
        handshake = invite(management, ALICE)
        assert received(alice)[handshake["Id"]]["State"] == "OPEN"
        assert alice.decline_handshake(HandshakeId=handshake["Id"])["Handshake"]["State"] == "DECLINED"
        assert management.describe_handshake(HandshakeId=handshake["Id"])["Handshake"]["State"] == "DECLINED"

    def test_carries_the_management_account_from_the_accounts_file(self, organization: Any, management: Any) -> None:
        resources = invite(management, ALICE)["Resources"][0]["Resources"]
        assert {r["Type"]: r["Value"] for r in resources} == {
            "MASTER_NAME": "Management", "MASTER_EMAIL": "mgmt@example.com",
            "ORGANIZATION_FEATURE_SET": "CONSOLIDATED_BILLING",
        }

    def test_invitee_accepts_and_joins_by_invitation(self, organization: Any, management: Any, alice: Any) -> None:
        handshake = invite(management, ALICE)
        assert alice.accept_handshake(HandshakeId=handshake["Id"])["Handshake"]["State"] == "ACCEPTED"
        accounts = {a["Id"]: a for a in management.list_accounts()["Accounts"]}
        assert accounts[ALICE]["JoinedMethod"] == "INVITED"
        assert (accounts[ALICE]["Name"], accounts[ALICE]["Email"]) == ("Alice", "alice@example.com")
        assert accounts[MANAGEMENT]["JoinedMethod"] == "INVITED"  # decision 29

    def test_management_cancels_it(self, organization: Any, management: Any, alice: Any) -> None:
        handshake = invite(management, ALICE)
        assert management.cancel_handshake(HandshakeId=handshake["Id"])["Handshake"]["State"] == "CANCELED"
        assert received(alice)[handshake["Id"]]["State"] == "CANCELED"
        listed = management.list_handshakes_for_organization()["Handshakes"]
        assert [h["State"] for h in listed if h["Id"] == handshake["Id"]] == ["CANCELED"]

    def test_by_email_reaches_the_registered_account(self, organization: Any, management: Any, alice: Any) -> None:
        handshake = management.invite_account_to_organization(
            Target={"Type": "EMAIL", "Id": "alice@example.com"})["Handshake"]
        assert handshake["Id"] in received(alice)
        alice.accept_handshake(HandshakeId=handshake["Id"])
        assert ALICE in {a["Id"] for a in management.list_accounts()["Accounts"]}


class TestEnableAllFeatures:
    def test_invited_members_approve_and_management_finalizes(
        self, organization: Any, management: Any, alice: Any, bob: Any,
    ) -> None:
        join(management, alice, ALICE)
        join(management, bob, BOB)
        parent = management.enable_all_features()["Handshake"]
        assert (parent["Action"], parent["State"]) == ("ENABLE_ALL_FEATURES", "REQUESTED")
        for member in (alice, bob):
            [child] = received(member, Filter={"ActionType": "APPROVE_ALL_FEATURES"}).values()
            assert {"Type": "PARENT_HANDSHAKE", "Value": parent["Id"]} in child["Resources"]
            assert member.accept_handshake(HandshakeId=child["Id"])["Handshake"]["State"] == "ACCEPTED"
        assert management.describe_handshake(HandshakeId=parent["Id"])["Handshake"]["State"] == "OPEN"
        assert management.accept_handshake(HandshakeId=parent["Id"])["Handshake"]["State"] == "ACCEPTED"
        assert management.describe_organization()["Organization"]["FeatureSet"] == "ALL"


class TestPaging:
    def test_paginator_walks_45_handshakes_newest_first(self, organization: Any, management: Any) -> None:
        invited = [invite(management, f"5{n:011d}")["Id"] for n in range(45)]
        pages = list(management.get_paginator("list_handshakes_for_organization").paginate())
        assert [len(page["Handshakes"]) for page in pages] == [20, 20, 5]
        assert [h["Id"] for page in pages for h in page["Handshakes"]] == invited[::-1]


class TestConcurrency:
    def test_many_clients_at_once(self, server: Server) -> None:
        """Eight organizations, each driven by its own thread and keep-alive connection."""
        failures: list[BaseException] = []

        def run(n: int) -> None:
            boss, invitee = server.client(f"7{n:011d}"), server.client(f"8{n:011d}")
            try:
                boss.create_organization(FeatureSet="CONSOLIDATED_BILLING")
                for _ in range(5):
                    handshake = invite(boss, f"8{n:011d}")
                    invitee.decline_handshake(HandshakeId=handshake["Id"])
                    assert boss.describe_handshake(HandshakeId=handshake["Id"])["Handshake"]["State"] == "DECLINED"
                dissolve(boss)
            except BaseException as failure:  # reported by the test thread below
                failures.append(failure)

        threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
