"""The Organization aggregate alone: given its events, when a command, then new events or an error.

Quotas are read from the invitations it recorded, at an instant passed in (docs/decisions.md
decisions 8 and 12); trusted access and policy types are guarded, then recorded.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ledger.domain import errors
from ledger.domain.organization import ALL, CONSOLIDATED_BILLING, Organization

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
MANAGEMENT, ALICE, BOB = "111111111111", "222222222222", "333333333333"
ROOT = "r-ab12"
BY = {"actor": MANAGEMENT, "request_id": None}


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def given_organization(feature_set: str = ALL) -> Organization:
    """An organization created at T0, its Created event already collected."""
    organization = Organization(
        id="o-abcdefghij", root_id=ROOT, feature_set=feature_set, management_account_id=MANAGEMENT,
        management_email="mgmt@example.com", management_name="Management", timestamp=T0, **BY,
    )
    organization.collect_events()
    return organization


def new_event_names(organization: Organization) -> list[str]:
    return [type(e).__name__ for e in organization.collect_events()]


def invite(organization: Organization, handshake_id: str, target: str, sent: datetime,
           lifetime: timedelta = timedelta(days=15)) -> None:
    organization.record_invitation(handshake_id=handshake_id, target=target, expires_at=sent + lifetime,
                                   timestamp=sent, **BY)


class TestCreated:
    def test_the_management_account_is_its_first_member(self) -> None:
        organization = Organization(
            id="o-abcdefghij", root_id=ROOT, feature_set=ALL, management_account_id=MANAGEMENT,
            management_email="mgmt@example.com", management_name="Management", timestamp=T0, **BY,
        )
        assert new_event_names(organization) == ["Created"]
        assert list(organization.members) == [MANAGEMENT]


class TestInvitations:
    def test_an_invitation_is_open_until_it_expires(self) -> None:
        organization = given_organization()
        invite(organization, "h-1", ALICE, T0)
        assert new_event_names(organization) == ["InvitationSent"]
        assert list(organization.open_invitations(at(15 * 24 - 1))) == ["h-1"]
        assert organization.open_invitations(at(15 * 24)) == {}

    def test_a_closed_invitation_is_no_longer_open(self) -> None:
        organization = given_organization()
        invite(organization, "h-1", ALICE, T0)
        organization.close_invitation(handshake_id="h-1", outcome="DECLINED", timestamp=at(1), **BY)
        assert new_event_names(organization) == ["InvitationSent", "InvitationClosed"]
        assert organization.open_invitations(at(1)) == {}

    def test_a_duplicate_is_found_by_what_the_target_resolves_to_now(self) -> None:
        organization = given_organization()
        invite(organization, "h-1", "email:alice@example.com", T0)
        registered = {"email:alice@example.com": ALICE}
        assert organization.open_invitation_to(ALICE, at(1), lambda t: registered.get(t, t)) == "h-1"
        assert organization.open_invitation_to(ALICE, at(1), lambda t: t) is None
        assert organization.open_invitation_to(ALICE, at(15 * 24), lambda t: registered.get(t, t)) is None

    def test_the_daily_quota_counts_every_invitation_of_the_last_24_hours_except_accepted_ones(self) -> None:
        organization = given_organization()
        invite(organization, "h-1", ALICE, T0)
        invite(organization, "h-2", BOB, at(1))
        invite(organization, "h-3", "444444444444", at(2))
        organization.close_invitation(handshake_id="h-2", outcome="DECLINED", timestamp=at(3), **BY)
        organization.admit_member(account_id=ALICE, email="a@example.com", name="A", handshake_id="h-1",
                                  tags=[], timestamp=at(4), **BY)
        assert organization.invitations_sent_since(at(4) - timedelta(hours=24)) == 2  # h-2 declined still counts
        assert organization.invitations_sent_since(at(1.5)) == 1

    def test_invitations_out_of_the_window_and_closed_are_forgotten(self) -> None:
        organization = given_organization()
        invite(organization, "h-1", ALICE, T0)
        organization.close_invitation(handshake_id="h-1", outcome="CANCELED", timestamp=at(1), **BY)
        invite(organization, "h-2", BOB, at(25))
        assert list(organization.invitations) == ["h-2"]


class TestMembers:
    def test_an_invited_member_joins_and_leaves(self) -> None:
        organization = given_organization()
        invite(organization, "h-1", ALICE, T0)
        organization.admit_member(account_id=ALICE, email="a@example.com", name="A", handshake_id="h-1",
                                  tags=[{"Key": "team", "Value": "x"}], timestamp=at(1), **BY)
        assert organization.members[ALICE]["joined_method"] == "INVITED"
        assert organization.open_invitations(at(1)) == {}
        organization.release_member(account_id=ALICE, removed=True, timestamp=at(2), **BY)
        assert new_event_names(organization) == ["InvitationSent", "MemberJoined", "MemberLeft"]
        assert ALICE not in organization.members


class TestAllFeatures:
    def test_a_request_is_pending_until_it_expires_or_ends(self) -> None:
        organization = given_organization(CONSOLIDATED_BILLING)
        organization.start_all_features(handshake_id="h-p", expires_at=at(90 * 24), timestamp=T0, **BY)
        assert organization.pending_all_features(at(90 * 24 - 1)) == "h-p"
        assert organization.pending_all_features(at(90 * 24)) is None
        organization.end_all_features_request(handshake_id="h-p", timestamp=at(1), **BY)
        assert organization.pending_all_features(at(2)) is None
        assert new_event_names(organization) == ["AllFeaturesRequested", "AllFeaturesRequestEnded"]

    def test_enabling_all_features_sets_the_feature_set(self) -> None:
        organization = given_organization(CONSOLIDATED_BILLING)
        organization.start_all_features(handshake_id="h-p", expires_at=at(90 * 24), timestamp=T0, **BY)
        organization.enable_all_features(handshake_id="h-p", timestamp=at(1), **BY)
        assert (organization.feature_set, organization.pending_all_features(at(1))) == (ALL, None)


class TestServiceAccess:
    def test_enabling_records_once_and_enabling_again_records_nothing(self) -> None:
        organization = given_organization()
        organization.enable_service_access("config.amazonaws.com", timestamp=at(1), **BY)
        organization.enable_service_access("config.amazonaws.com", timestamp=at(2), **BY)
        assert new_event_names(organization) == ["ServiceAccessEnabled"]
        assert organization.service_access == {"config.amazonaws.com": at(1)}

    def test_disabling_a_service_that_is_not_enabled_records_nothing(self) -> None:
        organization = given_organization()
        organization.disable_service_access("config.amazonaws.com", timestamp=at(1), **BY)
        assert new_event_names(organization) == []

    def test_without_all_features_it_is_refused_and_records_nothing(self) -> None:
        organization = given_organization(CONSOLIDATED_BILLING)
        with pytest.raises(errors.ConstraintViolationException) as refused:
            organization.enable_service_access("config.amazonaws.com", timestamp=at(1), **BY)
        assert refused.value.reason == "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE"
        assert new_event_names(organization) == []


class TestPolicyTypes:
    def test_enable_then_disable_records_both(self) -> None:
        organization = given_organization()
        organization.enable_policy_type(ROOT, "SERVICE_CONTROL_POLICY", timestamp=at(1), **BY)
        assert organization.policy_types == ["SERVICE_CONTROL_POLICY"]
        organization.disable_policy_type(ROOT, "SERVICE_CONTROL_POLICY", timestamp=at(2), **BY)
        assert new_event_names(organization) == ["PolicyTypeEnabled", "PolicyTypeDisabled"]
        assert organization.policy_types == []

    @pytest.mark.parametrize("root_id, feature_set, enabled, refusal", [
        ("r-zz99", ALL, False, errors.RootNotFoundException),
        (ROOT, CONSOLIDATED_BILLING, False, errors.PolicyTypeNotAvailableForOrganizationException),
        (ROOT, ALL, True, errors.PolicyTypeAlreadyEnabledException),
    ])
    def test_a_refused_enable_records_nothing(self, root_id: str, feature_set: str, enabled: bool,
                                              refusal: type[Exception]) -> None:
        organization = given_organization(feature_set)
        if enabled:
            organization.enable_policy_type(ROOT, "TAG_POLICY", timestamp=at(1), **BY)
            organization.collect_events()
        with pytest.raises(refusal):
            organization.enable_policy_type(root_id, "TAG_POLICY", timestamp=at(2), **BY)
        assert new_event_names(organization) == []

    def test_disabling_a_type_that_is_not_enabled_is_refused_and_records_nothing(self) -> None:
        organization = given_organization()
        with pytest.raises(errors.PolicyTypeNotEnabledException):
            organization.disable_policy_type(ROOT, "TAG_POLICY", timestamp=at(1), **BY)
        assert new_event_names(organization) == []


class TestDeleted:
    def test_a_deleted_organization_has_no_members(self) -> None:
        organization = given_organization()
        organization.delete(timestamp=at(1), **BY)
        assert new_event_names(organization) == ["Deleted"]
        assert (organization.deleted, organization.members) == (True, {})
