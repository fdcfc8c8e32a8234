"""The root, its policy types and trusted access for AWS services: ListRoots, EnablePolicyType,
DisablePolicyType, ListAWSServiceAccessForOrganization, EnableAWSServiceAccess, DisableAWSServiceAccess."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tests.conftest import ALICE, MANAGEMENT
from tests.acceptance.conftest import START, error_of, server_error

SCP, TAG = "SERVICE_CONTROL_POLICY", "TAG_POLICY"
CLOUDTRAIL, CONFIG, SSO = "cloudtrail.amazonaws.com", "config.amazonaws.com", "sso.amazonaws.com"


def root_of(world):
    return world.mgmt.list_roots()["Roots"][0]


def enable(world, *policy_types):
    root_id = root_of(world)["Id"]
    for policy_type in policy_types:
        world.mgmt.enable_policy_type(RootId=root_id, PolicyType=policy_type)
    return root_id


def principals(world):
    listed = world.mgmt.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    return [p["ServicePrincipal"] for p in listed]


def event_names(world):
    return [type(e).__name__ for e in world.stored_events(world.org_id)]


def become_all_features(world):
    handshake_id = world.mgmt.enable_all_features()["Handshake"]["Id"]
    world.mgmt.accept_handshake(HandshakeId=handshake_id)


class TestListRoots:
    def test_one_root_named_root_with_no_policy_type_enabled(self, world):
        roots = world.mgmt.list_roots()
        assert "NextToken" not in roots
        [root] = roots["Roots"]
        assert re.fullmatch(r"r-[0-9a-z]{4,32}", root["Id"])
        assert root["Arn"] == f"arn:aws:organizations::{MANAGEMENT}:root/{world.org_id}/{root['Id']}"
        assert (root["Name"], root["PolicyTypes"]) == ("Root", [])

    def test_the_root_stays_the_same(self, world):
        assert root_of(world) == root_of(world)

    def test_consolidated_billing_organization_has_a_root_too(self, billing_world):
        assert root_of(billing_world)["PolicyTypes"] == []

    def test_member_is_denied(self, world):
        world.join(ALICE)
        assert error_of(world.alice.list_roots).code == "AccessDeniedException"

    def test_account_outside_any_organization(self, world):
        assert error_of(world.outsider.list_roots).code == "AWSOrganizationsNotInUseException"

    def test_a_token_never_issued_is_refused(self, world):
        error = error_of(world.mgmt.list_roots, NextToken="eyJzIjp7fX0.0000")
        assert (error.code, error.reason) == ("InvalidInputException", "INVALID_NEXT_TOKEN")

    def test_one_root_fits_the_smallest_page(self, world):
        assert len(world.mgmt.list_roots(MaxResults=1)["Roots"]) == 1


class TestEnablePolicyType:
    def test_management_enables_a_type_in_the_root(self, world):
        root_id = root_of(world)["Id"]
        root = world.mgmt.enable_policy_type(RootId=root_id, PolicyType=SCP)["Root"]
        assert root["PolicyTypes"] == [{"Type": SCP, "Status": "ENABLED"}]
        assert root_of(world) == root

    def test_the_change_is_an_event_naming_the_caller(self, world):
        root_id = root_of(world)["Id"]
        request_id = world.mgmt.enable_policy_type(RootId=root_id, PolicyType=SCP)["ResponseMetadata"]["RequestId"]
        event = world.stored_events(world.org_id)[-1]
        assert type(event).__name__ == "PolicyTypeEnabled"
        recorded = (event.root_id, event.policy_type, event.actor, event.request_id)
        assert recorded == (root_id, SCP, MANAGEMENT, request_id)

    def test_types_are_listed_in_the_order_enabled(self, world):
        enable(world, TAG, SCP)
        assert [p["Type"] for p in root_of(world)["PolicyTypes"]] == [TAG, SCP]

    def test_already_enabled(self, world):
        root_id = enable(world, SCP)
        before = event_names(world)
        error = error_of(world.mgmt.enable_policy_type, RootId=root_id, PolicyType=SCP)
        assert error.code == "PolicyTypeAlreadyEnabledException"
        assert event_names(world) == before

    def test_not_available_with_consolidated_billing(self, billing_world):
        root_id = root_of(billing_world)["Id"]
        error = error_of(billing_world.mgmt.enable_policy_type, RootId=root_id, PolicyType=SCP)
        assert error.code == "PolicyTypeNotAvailableForOrganizationException"

    def test_available_once_all_features_are_enabled(self, billing_world):
        become_all_features(billing_world)
        enable(billing_world, SCP)
        assert root_of(billing_world)["PolicyTypes"] == [{"Type": SCP, "Status": "ENABLED"}]

    def test_unknown_root(self, world):
        error = error_of(world.mgmt.enable_policy_type, RootId="r-0000", PolicyType=SCP)
        assert error.code == "RootNotFoundException"

    def test_member_is_denied(self, world):
        world.join(ALICE)
        error = error_of(world.alice.enable_policy_type, RootId=root_of(world)["Id"], PolicyType=SCP)
        assert error.code == "AccessDeniedException"

    def test_account_outside_any_organization(self, world):
        error = error_of(world.outsider.enable_policy_type, RootId=root_of(world)["Id"], PolicyType=SCP)
        assert error.code == "AWSOrganizationsNotInUseException"

    def test_another_organizations_root_is_not_found(self, world):
        world.outsider.create_organization()
        other_root = world.outsider.list_roots()["Roots"][0]["Id"]
        error = error_of(world.mgmt.enable_policy_type, RootId=other_root, PolicyType=SCP)
        assert error.code == "RootNotFoundException"


class TestDisablePolicyType:
    def test_management_disables_an_enabled_type(self, world):
        root_id = enable(world, SCP, TAG)
        root = world.mgmt.disable_policy_type(RootId=root_id, PolicyType=SCP)["Root"]
        assert root["PolicyTypes"] == [{"Type": TAG, "Status": "ENABLED"}]
        assert event_names(world)[-1] == "PolicyTypeDisabled"

    def test_enabled_again_after_disabling(self, world):
        root_id = enable(world, SCP)
        world.mgmt.disable_policy_type(RootId=root_id, PolicyType=SCP)
        enable(world, SCP)
        assert root_of(world)["PolicyTypes"] == [{"Type": SCP, "Status": "ENABLED"}]

    def test_not_enabled(self, world):
        before = event_names(world)
        error = error_of(world.mgmt.disable_policy_type, RootId=root_of(world)["Id"], PolicyType=SCP)
        assert error.code == "PolicyTypeNotEnabledException"
        assert event_names(world) == before

    def test_organization_still_shows_the_type_available(self, world):
        """DisablePolicyType: "it still appears enabled for the organization if all features are enabled"."""
        root_id = enable(world, SCP)
        world.mgmt.disable_policy_type(RootId=root_id, PolicyType=SCP)
        available = world.mgmt.describe_organization()["Organization"]["AvailablePolicyTypes"]
        assert available == [{"Type": SCP, "Status": "ENABLED"}]

    def test_unknown_root(self, world):
        enable(world, SCP)
        error = error_of(world.mgmt.disable_policy_type, RootId="r-0000", PolicyType=SCP)
        assert error.code == "RootNotFoundException"

    def test_member_is_denied(self, world):
        root_id = enable(world, SCP)
        world.join(ALICE)
        error = error_of(world.alice.disable_policy_type, RootId=root_id, PolicyType=SCP)
        assert error.code == "AccessDeniedException"


class TestListAWSServiceAccessForOrganization:
    def test_none_enabled_at_first(self, world):
        assert world.mgmt.list_aws_service_access_for_organization()["EnabledServicePrincipals"] == []

    def test_pages_in_principal_order(self, world):
        for principal in (SSO, CLOUDTRAIL, CONFIG):
            world.mgmt.enable_aws_service_access(ServicePrincipal=principal)
        first = world.mgmt.list_aws_service_access_for_organization(MaxResults=2)
        second = world.mgmt.list_aws_service_access_for_organization(MaxResults=2, NextToken=first["NextToken"])
        listed = first["EnabledServicePrincipals"] + second["EnabledServicePrincipals"]
        assert [p["ServicePrincipal"] for p in listed] == [CLOUDTRAIL, CONFIG, SSO]
        assert "NextToken" not in second

    def test_needs_all_features(self, billing_world):
        error = error_of(billing_world.mgmt.list_aws_service_access_for_organization)
        assert (error.code, error.reason) == ("ConstraintViolationException", "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE")

    def test_member_is_denied(self, world):
        world.join(ALICE)
        assert error_of(world.alice.list_aws_service_access_for_organization).code == "AccessDeniedException"

    def test_account_outside_any_organization(self, world):
        error = error_of(world.outsider.list_aws_service_access_for_organization)
        assert error.code == "AWSOrganizationsNotInUseException"


class TestEnableAWSServiceAccess:
    def test_enabled_service_is_listed_with_the_date_it_was_enabled(self, world):
        world.days(1)
        world.mgmt.enable_aws_service_access(ServicePrincipal=CLOUDTRAIL)
        [enabled] = world.mgmt.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
        day_after_start = datetime.fromisoformat(START) + timedelta(days=1)
        assert enabled == {"ServicePrincipal": CLOUDTRAIL, "DateEnabled": day_after_start}
        assert event_names(world)[-1] == "ServiceAccessEnabled"

    def test_enabling_twice_records_once(self, world):
        world.mgmt.enable_aws_service_access(ServicePrincipal=CLOUDTRAIL)
        world.mgmt.enable_aws_service_access(ServicePrincipal=CLOUDTRAIL)
        assert event_names(world).count("ServiceAccessEnabled") == 1
        assert principals(world) == [CLOUDTRAIL]

    def test_needs_all_features(self, billing_world):
        error = error_of(billing_world.mgmt.enable_aws_service_access, ServicePrincipal=CLOUDTRAIL)
        assert (error.code, error.reason) == ("ConstraintViolationException", "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE")

    def test_member_is_denied(self, world):
        world.join(ALICE)
        error = error_of(world.alice.enable_aws_service_access, ServicePrincipal=CLOUDTRAIL)
        assert error.code == "AccessDeniedException"

    def test_account_outside_any_organization(self, world):
        error = error_of(world.outsider.enable_aws_service_access, ServicePrincipal=CLOUDTRAIL)
        assert error.code == "AWSOrganizationsNotInUseException"


class TestDisableAWSServiceAccess:
    def test_disabled_service_is_no_longer_listed(self, world):
        for principal in (CLOUDTRAIL, CONFIG):
            world.mgmt.enable_aws_service_access(ServicePrincipal=principal)
        world.mgmt.disable_aws_service_access(ServicePrincipal=CLOUDTRAIL)
        assert principals(world) == [CONFIG]
        assert event_names(world)[-1] == "ServiceAccessDisabled"

    def test_disabling_a_service_never_enabled_records_nothing(self, world):
        before = event_names(world)
        world.mgmt.disable_aws_service_access(ServicePrincipal=CLOUDTRAIL)
        assert event_names(world) == before

    def test_needs_all_features(self, billing_world):
        error = error_of(billing_world.mgmt.disable_aws_service_access, ServicePrincipal=CLOUDTRAIL)
        assert (error.code, error.reason) == ("ConstraintViolationException", "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE")

    def test_member_is_denied(self, world):
        world.join(ALICE)
        error = error_of(world.alice.disable_aws_service_access, ServicePrincipal=CLOUDTRAIL)
        assert error.code == "AccessDeniedException"


BAD_INPUT = [
    ("enable_policy_type", {"PolicyType": SCP}, "INPUT_REQUIRED"),
    ("enable_policy_type", {"RootId": "r-AB12", "PolicyType": SCP}, "INVALID_PATTERN"),
    ("enable_policy_type", {"RootId": "r-abc", "PolicyType": SCP}, "INVALID_PATTERN"),
    ("enable_policy_type", {"RootId": "r-abcd\n", "PolicyType": SCP}, "INVALID_PATTERN"),
    ("enable_policy_type", {"RootId": "r-abcd", "PolicyType": "SCP"}, "INVALID_ENUM_POLICY_TYPE"),
    ("disable_policy_type", {"RootId": "r-abcd"}, "INPUT_REQUIRED"),
    ("disable_policy_type", {"RootId": "r-abcd", "PolicyType": "service_control_policy"}, "INVALID_ENUM_POLICY_TYPE"),
    ("enable_aws_service_access", {}, "INPUT_REQUIRED"),
    ("enable_aws_service_access", {"ServicePrincipal": ""}, "MIN_LENGTH_EXCEEDED"),
    ("enable_aws_service_access", {"ServicePrincipal": "a" * 120 + ".amazonaws.com"}, "MAX_LENGTH_EXCEEDED"),
    ("enable_aws_service_access", {"ServicePrincipal": "cloud trail.amazonaws.com"}, "INVALID_PATTERN"),
    ("enable_aws_service_access", {"ServicePrincipal": "cloudtrail.amazonaws.com\n"}, "INVALID_PATTERN"),
    ("enable_aws_service_access", {"ServicePrincipal": "cloudtrail"}, "UNRECOGNIZED_SERVICE_PRINCIPAL"),
    ("disable_aws_service_access", {"ServicePrincipal": "example.com"}, "UNRECOGNIZED_SERVICE_PRINCIPAL"),
    ("list_roots", {"MaxResults": 21}, "MAX_VALUE_EXCEEDED"),
    ("list_aws_service_access_for_organization", {"MaxResults": 0}, "MIN_VALUE_EXCEEDED"),
]


class TestValidation:
    @pytest.mark.parametrize(("method", "params", "reason"), BAD_INPUT)
    def test_bad_input_is_refused_and_records_nothing(self, world, method, params, reason):
        before = event_names(world)
        error = server_error(world, method, params)
        assert (error.code, error.reason) == ("InvalidInputException", reason)
        assert event_names(world) == before

    def test_input_is_checked_before_the_caller(self, world):
        error = error_of(world.outsider.enable_aws_service_access, ServicePrincipal="cloudtrail")
        assert error.reason == "UNRECOGNIZED_SERVICE_PRINCIPAL"
