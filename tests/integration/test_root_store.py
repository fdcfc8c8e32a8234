"""Policy types and trusted access live in the store's events: a reopened ledger answers the same,
and the change feed carries each change."""

from __future__ import annotations

from ledger import open_ledger
from tests.conftest import MANAGEMENT

SCP, TAG = "SERVICE_CONTROL_POLICY", "TAG_POLICY"
CLOUDTRAIL, CONFIG = "cloudtrail.amazonaws.com", "config.amazonaws.com"


def answers(client):
    roots = client.list_roots()["Roots"]
    services = client.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    return roots, services


def test_reopened_ledger_answers_the_same_and_the_feed_names_each_change(data_location):
    with open_ledger(data_location) as ledger:
        client = ledger.client(MANAGEMENT)
        organization_id = client.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        root_id = client.list_roots()["Roots"][0]["Id"]
        client.enable_policy_type(RootId=root_id, PolicyType=SCP)
        client.enable_policy_type(RootId=root_id, PolicyType=TAG)
        client.disable_policy_type(RootId=root_id, PolicyType=SCP)
        client.enable_aws_service_access(ServicePrincipal=CLOUDTRAIL)
        client.enable_aws_service_access(ServicePrincipal=CONFIG)
        client.disable_aws_service_access(ServicePrincipal=CLOUDTRAIL)
        before = answers(client)
        feed = [e for e in ledger.events() if e["aggregate_id"] == organization_id]
    with open_ledger(data_location) as reopened:
        assert answers(reopened.client(MANAGEMENT)) == before
    assert before[0][0]["PolicyTypes"] == [{"Type": TAG, "Status": "ENABLED"}]
    assert [p["ServicePrincipal"] for p in before[1]] == [CONFIG]
    changes = [(e["type"], e["payload"]) for e in feed[1:]]
    assert changes == [
        ("Organization.PolicyTypeEnabled:v1", {"root_id": root_id, "policy_type": SCP}),
        ("Organization.PolicyTypeEnabled:v1", {"root_id": root_id, "policy_type": TAG}),
        ("Organization.PolicyTypeDisabled:v1", {"root_id": root_id, "policy_type": SCP}),
        ("Organization.ServiceAccessEnabled:v1", {"service_principal": CLOUDTRAIL}),
        ("Organization.ServiceAccessEnabled:v1", {"service_principal": CONFIG}),
        ("Organization.ServiceAccessDisabled:v1", {"service_principal": CLOUDTRAIL}),
    ]
    assert {e["actor"] for e in feed} == {MANAGEMENT}
