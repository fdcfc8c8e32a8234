"""Terraform's ``aws_organizations_organization`` (hashicorp/aws) against the real server: create,
refresh, plan, update and destroy, on the store under test.

What the provider calls: create = CreateOrganization, then EnableAWSServiceAccess per principal and
ListRoots + EnablePolicyType per type (polling ListRoots until ENABLED); every read =
DescribeOrganization, ListAccounts, ListRoots, and ListAWSServiceAccessForOrganization when the
feature set is ALL; update = Disable/EnableAWSServiceAccess, Disable/EnablePolicyType, then
EnableAllFeatures when feature_set changes; destroy = DeleteOrganization. The provider starts with STS
GetCallerIdentity (no ``skip_requesting_account_id``), and ``data "aws_caller_identity"`` reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import MANAGEMENT
from tests.e2e.conftest import Server
from tests.e2e.terraform import Terraform, Workspace, find_terraform

FOUND = find_terraform()
pytestmark = pytest.mark.skipif(isinstance(FOUND, str), reason=f"Terraform e2e test: {FOUND}")


@pytest.fixture
def own_server(data_location: str) -> Iterator[Server]:
    """A server of its own on the store under test (the shared one is SQLite)."""
    running = Server(data_location).start()
    yield running
    assert running.stop() == 0


@pytest.fixture
def management(own_server: Server) -> Any:
    return own_server.client(MANAGEMENT)


@pytest.fixture
def workspace(own_server: Server, tmp_path: Path) -> Workspace:
    """An initialised working directory (the provider from the mirror) talking to ``own_server``."""
    assert isinstance(FOUND, Terraform)
    workspace = Workspace(FOUND, tmp_path, own_server.url, MANAGEMENT)
    workspace.run("init")
    return workspace


def apply(workspace: Workspace, organization: str) -> str:
    workspace.configure(organization)
    return workspace.run("apply", "-auto-approve")


def no_changes(workspace: Workspace) -> bool:
    """``plan -detailed-exitcode`` exits 0 (2 would mean changes)."""
    return "No changes." in workspace.run("plan", "-detailed-exitcode")


def enabled(management: Any) -> tuple[list[str], list[str]]:
    """(policy types enabled in the root, service principals with trusted access)."""
    root = management.list_roots()["Roots"][0]
    services = management.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    return [p["Type"] for p in root["PolicyTypes"]], [s["ServicePrincipal"] for s in services]


def test_consolidated_billing_then_all_features_then_destroy(management: Any, workspace: Workspace) -> None:
    assert "Apply complete! Resources: 1 added" in apply(workspace, '  feature_set = "CONSOLIDATED_BILLING"')
    assert management.describe_organization()["Organization"]["FeatureSet"] == "CONSOLIDATED_BILLING"
    assert workspace.run("output", "-raw", "caller_arn") == f"arn:aws:iam::{MANAGEMENT}:root"

    assert "Resources: 0 added, 1 changed" in apply(workspace, '  feature_set = "ALL"')
    [request] = management.list_handshakes_for_organization(Filter={"ActionType": "ENABLE_ALL_FEATURES"})["Handshakes"]
    assert request["State"] == "OPEN"  # no invited members to wait for
    management.accept_handshake(HandshakeId=request["Id"])
    assert management.describe_organization()["Organization"]["FeatureSet"] == "ALL"
    assert no_changes(workspace)

    assert "Destroy complete! Resources: 1 destroyed." in workspace.run("destroy", "-auto-approve")
    with pytest.raises(management.exceptions.AWSOrganizationsNotInUseException):
        management.describe_organization()


def test_service_access_and_policy_types(management: Any, workspace: Workspace) -> None:
    apply(workspace, '  feature_set                   = "ALL"\n'
                     '  aws_service_access_principals = ["cloudtrail.amazonaws.com"]\n'
                     '  enabled_policy_types          = ["SERVICE_CONTROL_POLICY"]')
    assert enabled(management) == (["SERVICE_CONTROL_POLICY"], ["cloudtrail.amazonaws.com"])

    changed = apply(workspace, '  feature_set                   = "ALL"\n'
                               '  aws_service_access_principals = ["config.amazonaws.com", "sso.amazonaws.com"]\n'
                               '  enabled_policy_types          = ["TAG_POLICY"]')
    assert "Resources: 0 added, 1 changed, 0 destroyed." in changed
    assert enabled(management) == (["TAG_POLICY"], ["config.amazonaws.com", "sso.amazonaws.com"])
    assert no_changes(workspace)
