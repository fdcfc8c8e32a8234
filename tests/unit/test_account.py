"""The directory's aggregates alone: Account and EmailClaim (docs/decisions.md decision 19).

They hold no rules of their own (the use cases decide who may claim an address); what they must
get right is what each event records and the state it leaves, also when replayed.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ledger.domain.account import Account, EmailClaim, default_email, email_claim_id

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
ALICE, BOB = "222222222222", "333333333333"
BY = {"actor": ALICE, "request_id": None}


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def given_account() -> Account:
    account = Account(id=ALICE, email="Alice@Example.com", name="Alice", timestamp=T0, **BY)
    account.collect_events()
    return account


class TestAccount:
    def test_a_new_account_is_standalone(self) -> None:
        account = Account(id=ALICE, email="Alice@Example.com", name="Alice", timestamp=T0, **BY)
        [created] = account.collect_events()
        assert (type(created).__name__, created.email, created.timestamp) == ("Created", "Alice@Example.com", T0)
        assert (account.email, account.organization_id, account.joined_method) == ("Alice@Example.com", None, None)

    def test_changing_the_profile_records_the_new_email_as_written(self) -> None:
        account = given_account()
        account.change_profile(email="ALICE@new.example", name="Alice B", timestamp=at(1), **BY)
        [changed] = account.collect_events()
        assert (type(changed).__name__, changed.email, changed.name) == ("ProfileChanged", "ALICE@new.example", "Alice B")
        assert account.email == "ALICE@new.example"

    def test_joining_then_leaving_an_organization(self) -> None:
        account = given_account()
        account.join(organization_id="o-abcdefghij", method="INVITED", handshake_id="h-1", timestamp=at(1), **BY)
        assert (account.organization_id, account.joined_method, account.joined_at) == ("o-abcdefghij", "INVITED", at(1))
        account.leave(organization_id="o-abcdefghij", timestamp=at(2), **BY)
        assert [type(e).__name__ for e in account.collect_events()] == ["JoinedOrganization", "LeftOrganization"]
        assert (account.organization_id, account.joined_method, account.joined_at) == (None, None, None)

    def test_replaying_its_events_rebuilds_the_same_account(self) -> None:
        account = Account(id=ALICE, email="a@example.com", name="A", timestamp=T0, **BY)
        account.join(organization_id="o-abcdefghij", method="INVITED", handshake_id="h-1", timestamp=at(1), **BY)
        replayed = None
        for recorded in account.collect_events():
            replayed = recorded.mutate(replayed)
        assert replayed is not None
        assert (replayed.version, replayed.email, replayed.organization_id) == (2, "a@example.com", "o-abcdefghij")


class TestEmailClaim:
    def test_a_claim_is_keyed_by_the_address_in_lower_case(self) -> None:
        assert email_claim_id("Alice@Example.COM") == email_claim_id("alice@example.com") == "email:alice@example.com"

    def test_a_claim_is_released_and_reclaimed_by_another_account(self) -> None:
        claim = EmailClaim(id=email_claim_id("alice@example.com"), account_id=ALICE, timestamp=T0, **BY)
        claim.release(timestamp=at(1), **BY)
        assert claim.account_id is None
        claim.reclaim(account_id=BOB, timestamp=at(2), actor=BOB, request_id=None)
        assert [type(e).__name__ for e in claim.collect_events()] == ["Created", "Released", "Reclaimed"]
        assert claim.account_id == BOB

    def test_the_default_address_names_the_account(self) -> None:
        assert default_email(ALICE) == f"account-{ALICE}@example.com"
