"""Unit fixtures: an in-memory ledger, an organization, and time frozen with freezegun."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import pytest
from freezegun import freeze_time

from ledger import open_ledger
from ledger.service_layer.application import Limits
from tests.conftest import ALICE, BOB, MANAGEMENT, OUTSIDER

START = "2026-03-01T09:00:00Z"


@dataclass
class World:
    ledger: Any
    clock: Any  # freezegun's frozen clock: tick(), move_to()
    org_id: str

    def client(self, account_id: str) -> Any:
        return self.ledger.client(account_id)

    @property
    def mgmt(self) -> Any:
        return self.client(MANAGEMENT)

    @property
    def alice(self) -> Any:
        return self.client(ALICE)

    @property
    def bob(self) -> Any:
        return self.client(BOB)

    @property
    def outsider(self) -> Any:
        return self.client(OUTSIDER)

    def invite(self, account_id: str = ALICE, **extra: Any) -> str:
        answer = self.mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": account_id}, **extra)
        return answer["Handshake"]["Id"]

    def join(self, account_id: str) -> None:
        self.client(account_id).accept_handshake(HandshakeId=self.invite(account_id))

    def state(self, handshake_id: str, account_id: str = MANAGEMENT) -> str:
        return self.client(account_id).describe_handshake(HandshakeId=handshake_id)["Handshake"]["State"]

    def stored_events(self, aggregate_id: str) -> list[Any]:
        return list(self.ledger.app.events.get(aggregate_id))

    def days(self, n: float) -> None:
        self.clock.tick(n * 86400)


def make_world(feature_set: str = "ALL", limits: Limits = Limits()) -> Iterator[World]:
    with freeze_time(START) as frozen, open_ledger(":memory:", limits=limits) as ledger:
        org = ledger.client(MANAGEMENT).create_organization(FeatureSet=feature_set)["Organization"]
        yield World(ledger, frozen, org["Id"])


@pytest.fixture
def world() -> Iterator[World]:
    yield from make_world()


@pytest.fixture
def billing_world() -> Iterator[World]:
    """An organization with consolidated billing only, ready for EnableAllFeatures."""
    yield from make_world("CONSOLIDATED_BILLING")


@dataclass(frozen=True)
class AwsError:
    """An error answer as a boto3 caller reads it from ``ClientError.response``."""

    code: str
    message: str
    reason: str | None


def error_of(call: Any, **params: Any) -> AwsError:
    """The AWS error a boto3 call raised (fails the test if it succeeded)."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    return AwsError(response["Error"]["Code"], response["Error"]["Message"], response.get("Reason"))


def server_error(world: World, method: str, params: dict[str, Any]) -> Any:
    """What the server answers a boto3 method's ``params``, past botocore's own client-side
    checks (other SDKs check less): the ``OrganizationsError`` raised by ``ledger.call``."""
    from botocore import xform_name

    from ledger.service_layer.requests import service_model
    from ledger.domain.errors import OrganizationsError

    operation = next(op for op in service_model().operation_names if xform_name(op) == method)
    with pytest.raises(OrganizationsError) as caught:
        world.ledger.call(MANAGEMENT, operation, params)
    return caught.value
