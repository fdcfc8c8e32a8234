"""Helpers for the billing transfer tests: a world of two organizations (MANAGEMENT invites,
OUTSIDER's organization is invited) at 2026-03-01T09:00Z (``tests/acceptance/conftest.py``)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from tests.acceptance.conftest import World
from tests.conftest import OUTSIDER

APRIL = datetime(2026, 4, 1, tzinfo=timezone.utc)  # the 1st of next month, from START
MAY = datetime(2026, 5, 1, tzinfo=timezone.utc)  # the 1st of the month after


def invited_organization(world: World, account_id: str = OUTSIDER, feature_set: str = "ALL") -> str:
    return world.client(account_id).create_organization(FeatureSet=feature_set)["Organization"]["Id"]


def invite(world: World, sender: Any = None, target: str = OUTSIDER, *, kind: str = "ACCOUNT",
           start: datetime = APRIL, name: str = "transfer name", **extra: Any) -> dict[str, Any]:
    """The Handshake answered to InviteOrganizationToTransferResponsibility."""
    sender = sender or world.mgmt
    return sender.invite_organization_to_transfer_responsibility(
        Type="BILLING", Target={"Type": kind, "Id": target}, StartTimestamp=start, SourceName=name, **extra,
    )["Handshake"]


def transfer_id(handshake: dict[str, Any]) -> str:
    (resource,) = [r for r in handshake["Resources"] if r["Type"] == "RESPONSIBILITY_TRANSFER"]
    return str(resource["Value"])


def describe(client: Any, rt: str) -> dict[str, Any]:
    return client.describe_responsibility_transfer(Id=rt)["ResponsibilityTransfer"]


def inbound(client: Any, **extra: Any) -> list[dict[str, Any]]:
    return client.list_inbound_responsibility_transfers(Type="BILLING", **extra)["ResponsibilityTransfers"]


def outbound(client: Any, **extra: Any) -> list[dict[str, Any]]:
    return client.list_outbound_responsibility_transfers(Type="BILLING", **extra)["ResponsibilityTransfers"]


def accepted(world: World, sender: Any = None, recipient: str = OUTSIDER, **extra: Any) -> str:
    """An accepted transfer's id (MANAGEMENT pays for ``recipient``'s organization)."""
    handshake = invite(world, sender, recipient, **extra)
    world.client(recipient).accept_handshake(HandshakeId=handshake["Id"])
    return transfer_id(handshake)


def epoch(value: datetime) -> int:
    return int(value.timestamp())
