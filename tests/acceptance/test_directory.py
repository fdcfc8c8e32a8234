"""One account directory (decision 19): every command, view and time travel agree on whose email it is.

Each scenario makes ALICE the owner of an address in a different way, sends an EMAIL invitation to
it (in a letter-case variant too), then walks every entry point that asks the directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest

from projections.aws_reads import ViewDirectory
from tests.conftest import ALICE, BOB, MANAGEMENT
from tests.acceptance.conftest import World, error_of


@dataclass(frozen=True)
class Scenario:
    name: str
    email: str  # as ALICE's email is shown
    sent_to: str  # as the invitation was addressed
    before: Callable[[World], None]  # before the invitation
    after: Callable[[World], None]  # after it


def register(email: str) -> Callable[[World], None]:
    return lambda world: world.ledger.register_account(ALICE, email, "Alice")


def nothing(world: World) -> None:
    pass


SCENARIOS = [
    Scenario("registered", "alice@example.com", "alice@example.com", register("alice@example.com"), nothing),
    Scenario("registered, other case", "Alice@Example.com", "aLiCe@EXAMPLE.com", register("Alice@Example.com"), nothing),
    Scenario("default", "account-222222222222@example.com", "account-222222222222@example.com", nothing, nothing),
    Scenario("default, other case", "account-222222222222@example.com", "ACCOUNT-222222222222@Example.COM",
             nothing, nothing),
    Scenario("registered after the invitation", "late@example.com", "LATE@example.com", nothing,
             register("late@example.com")),
]


@pytest.fixture(params=SCENARIOS, ids=[s.name for s in SCENARIOS])
def invited(request, world) -> tuple[World, Scenario, str]:
    scenario: Scenario = request.param
    scenario.before(world)
    handshake = world.mgmt.invite_account_to_organization(Target={"Type": "EMAIL", "Id": scenario.sent_to})
    scenario.after(world)
    return world, scenario, handshake["Handshake"]["Id"]


class TestOneDirectory:
    def test_commands_and_views_resolve_the_address_alike(self, invited):
        world, scenario, _ = invited
        view = ViewDirectory(world.ledger.queries, world.ledger.moment())
        for spelling in (scenario.email, scenario.email.upper(), scenario.sent_to):
            assert world.ledger.app.owner_of(spelling) == view.owner_of(spelling) == ALICE
        assert world.ledger.app.email_of(ALICE) == view.email_of(ALICE) == scenario.email

    def test_owner_lists_and_describes_the_invitation(self, invited):
        world, _, handshake_id = invited
        assert handshake_id in [h["Id"] for h in world.alice.list_handshakes_for_account()["Handshakes"]]
        assert world.alice.describe_handshake(HandshakeId=handshake_id)["Handshake"]["State"] == "OPEN"

    def test_someone_else_does_not_see_it(self, invited):
        world, _, handshake_id = invited
        assert handshake_id not in [h["Id"] for h in world.bob.list_handshakes_for_account()["Handshakes"]]
        assert error_of(world.bob.describe_handshake, HandshakeId=handshake_id).code == "HandshakeNotFoundException"
        assert error_of(world.bob.accept_handshake, HandshakeId=handshake_id).code == "HandshakeNotFoundException"

    def test_an_account_invitation_to_the_owner_is_a_duplicate(self, invited):
        world, _, _ = invited
        error = error_of(world.mgmt.invite_account_to_organization, Target={"Type": "ACCOUNT", "Id": ALICE})
        assert error.code == "DuplicateHandshakeException"

    def test_another_spelling_of_the_address_is_a_duplicate(self, invited):
        world, scenario, _ = invited
        error = error_of(world.mgmt.invite_account_to_organization,
                         Target={"Type": "EMAIL", "Id": scenario.email.swapcase()})
        assert error.code == "DuplicateHandshakeException"

    def test_owner_accepts_and_is_listed_with_that_email(self, invited):
        world, scenario, handshake_id = invited
        answer = world.alice.accept_handshake(HandshakeId=handshake_id)["Handshake"]
        assert {"Type": "EMAIL", "Id": scenario.sent_to} in answer["Parties"]
        assert {"Type": "ACCOUNT", "Value": ALICE} in answer["Resources"]
        assert world.mgmt.describe_handshake(HandshakeId=handshake_id)["Handshake"]["Resources"] == answer["Resources"]
        listed = {a["Id"]: a["Email"] for a in world.mgmt.list_accounts()["Accounts"]}
        assert listed[ALICE] == scenario.email
        assert world.mgmt.describe_account(AccountId=ALICE)["Account"]["Email"] == scenario.email

    def test_inviting_the_address_of_a_member_is_refused(self, invited):
        world, scenario, handshake_id = invited
        world.alice.accept_handshake(HandshakeId=handshake_id)
        error = error_of(world.mgmt.invite_account_to_organization, Target={"Type": "EMAIL", "Id": scenario.sent_to})
        assert (error.code, error.reason) == ("HandshakeConstraintViolationException", "ALREADY_IN_AN_ORGANIZATION")

    def test_owner_declines_and_stays_its_recipient(self, invited):
        world, _, handshake_id = invited
        world.alice.decline_handshake(HandshakeId=handshake_id)
        world.ledger.register_account(ALICE, "moved-on@example.com", "Alice")
        assert world.alice.describe_handshake(HandshakeId=handshake_id)["Handshake"]["State"] == "DECLINED"
        assert handshake_id in [h["Id"] for h in world.alice.list_handshakes_for_account()["Handshakes"]]


class TestWhoseAddressOverTime:
    def test_registration_after_the_invitation_makes_the_new_owner_its_recipient(self, world):
        handshake_id = world.mgmt.invite_account_to_organization(
            Target={"Type": "EMAIL", "Id": "late@example.com"})["Handshake"]["Id"]
        before = world.ledger.moment().instant
        world.clock.tick(60)
        world.ledger.register_account(ALICE, "late@example.com", "Alice")
        then = world.ledger.at(before)
        assert then.client(ALICE).list_handshakes_for_account()["Handshakes"] == []
        assert [h["Id"] for h in world.alice.list_handshakes_for_account()["Handshakes"]] == [handshake_id]

    def test_a_default_address_stops_resolving_once_another_is_registered(self, world):
        handshake_id = world.mgmt.invite_account_to_organization(
            Target={"Type": "EMAIL", "Id": "account-222222222222@example.com"})["Handshake"]["Id"]
        world.ledger.register_account(ALICE, "alice@example.com", "Alice")
        assert world.ledger.app.owner_of("account-222222222222@example.com") is None
        assert error_of(world.alice.describe_handshake, HandshakeId=handshake_id).code == "HandshakeNotFoundException"

    def test_nobody_may_register_an_address_another_account_holds(self, world):
        from ledger.domain.errors import ConstraintViolationException

        world.ledger.register_account(ALICE, "alice@example.com", "Alice")
        for taken in ("ALICE@example.com", "account-222222222222@example.com"):
            with pytest.raises(ConstraintViolationException):
                world.ledger.register_account(BOB, taken, "Bob")

    def test_management_email_registered_later_reaches_the_organization_and_new_invitations(self, world):
        old = world.mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE})["Handshake"]
        world.ledger.register_account(MANAGEMENT, "boss@example.com", "Boss")
        assert world.mgmt.describe_organization()["Organization"]["MasterAccountEmail"] == "boss@example.com"
        new = world.mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": BOB})["Handshake"]
        masters = [{r["Type"]: r["Value"] for r in h["Resources"][0]["Resources"]}["MASTER_EMAIL"] for h in (old, new)]
        assert masters == ["account-111111111111@example.com", "boss@example.com"]  # as it was when each was sent
