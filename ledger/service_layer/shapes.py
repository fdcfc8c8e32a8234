"""The AWS output shapes (Handshake, Organization, Root), each built in one place from plain
values: by the write side from its aggregates (``describe_*``) and by the read model from its
rows (``projections/aws_reads.py``). Timestamps stay datetimes here (as boto3 returns them); the
HTTP adapter turns them into epoch seconds."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from ledger.domain.handshake import Handshake, state_at
from ledger.domain.ids import account_arn, organization_arn, root_arn
from ledger.domain.organization import ALL, Organization


def handshake_shape(
    *, id: str, arn: str, parties: list[dict[str, str]], state: str, requested_at: datetime,
    expires_at: datetime, action: str, resources: list[dict[str, Any]], now: datetime,
) -> dict[str, Any]:
    """A Handshake shape; it holds ``parties`` and ``resources`` themselves (not copies)."""
    return {
        "Id": id,
        "Arn": arn,
        "Parties": parties,
        "State": state_at(state, expires_at, now),
        "RequestedTimestamp": requested_at,
        "ExpirationTimestamp": expires_at,
        "Action": action,
        "Resources": resources,
    }


def describe_handshake(handshake: Handshake, now: datetime) -> dict[str, Any]:
    """The aggregate's Parties and Resources are copied: the answer must not share them."""
    return handshake_shape(
        id=handshake.id, arn=handshake.arn, parties=copy.deepcopy(handshake.parties), state=handshake.state,
        requested_at=handshake.requested_at, expires_at=handshake.expires_at, action=handshake.action,
        resources=copy.deepcopy(handshake.resources), now=now,
    )


def organization_shape(*, organization_id: str, feature_set: str, management_account_id: str,
                       management_email: str) -> dict[str, Any]:
    """An Organization shape. AvailablePolicyTypes (deprecated) says what all features make
    available, not what the root enabled: "If you disable a policy type for a root, it still
    appears enabled for the organization if all features are enabled" (DisablePolicyType)."""
    mgmt = management_account_id
    policies = [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}] if feature_set == ALL else []
    return {
        "Id": organization_id,
        "Arn": organization_arn(mgmt, organization_id),
        "FeatureSet": feature_set,
        "MasterAccountArn": account_arn(mgmt, organization_id, mgmt),
        "MasterAccountId": mgmt,
        "MasterAccountEmail": management_email,
        "AvailablePolicyTypes": policies,
    }


def root_shape(*, organization_id: str, management_account_id: str, root_id: str,
               policy_types: list[str]) -> dict[str, Any]:
    """The organization's one root (a Root shape); PolicyTypes lists the types enabled in it,
    ENABLED at once (AWS enables in the background and may show PENDING_ENABLE first); a
    disabled type is absent."""
    return {
        "Id": root_id,
        "Arn": root_arn(management_account_id, organization_id, root_id),
        "Name": "Root",
        "PolicyTypes": [{"Type": policy_type, "Status": "ENABLED"} for policy_type in policy_types],
    }


def describe_organization(organization: Organization, management_email: str) -> dict[str, Any]:
    """The Organization shape of the aggregate (a command's answer)."""
    return organization_shape(organization_id=organization.id, feature_set=organization.feature_set,
                              management_account_id=organization.management_account_id,
                              management_email=management_email)


def describe_root(organization: Organization) -> dict[str, Any]:
    """The Root shape of the aggregate (a command's answer)."""
    return root_shape(organization_id=organization.id, management_account_id=organization.management_account_id,
                      root_id=organization.root_id, policy_types=list(organization.policy_types))
