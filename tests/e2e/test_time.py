"""Expiry and retention across restarts: the same data, the server's clock moved by ``faketime``."""

from __future__ import annotations

import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from ledger import open_ledger
from ledger.domain.clock import Clock, system_clock
from tests.conftest import ALICE, BOB, MANAGEMENT
from tests.e2e.conftest import Server, error_of


@dataclass(frozen=True)
class Recorded:
    data: Path
    open_id: str  # left unanswered: expires at +15 days, gone at +45
    invite_request_id: str
    declined_id: str  # declined at once: gone at +30 days
    decline_request_id: str


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """Two invitations recorded today by a server that has since stopped."""
    server = Server(tmp_path_factory.mktemp("time") / "data").start()
    try:
        management, bob = server.client(MANAGEMENT), server.client(BOB)
        management.create_organization(FeatureSet="CONSOLIDATED_BILLING")
        invited = management.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE})
        declined_id = management.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": BOB})["Handshake"]["Id"]
        declined = bob.decline_handshake(HandshakeId=declined_id)
    finally:
        assert server.stop() == 0
    return Recorded(server.data, invited["Handshake"]["Id"], invited["ResponseMetadata"]["RequestId"],
                    declined_id, declined["ResponseMetadata"]["RequestId"])


@contextmanager
def running_later(recorded: Recorded, offset: str) -> Iterator[Server]:
    server = Server(recorded.data).start(faketime=offset)
    try:
        yield server
    finally:
        assert server.stop() == 0


def listed(client: Any, operation: str) -> dict[str, str]:
    return {h["Id"]: h["State"] for h in getattr(client, operation)()["Handshakes"]}


def not_found(call: Any, **params: Any) -> bool:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return error_of(caught)[0] == "HandshakeNotFoundException"


def test_faketime_moves_the_clock() -> None:
    shown = subprocess.run(["faketime", "-f", "+16d", "date", "+%s"], capture_output=True, text=True, check=True)
    moved = datetime.fromtimestamp(int(shown.stdout), system_clock.now().tzinfo) - system_clock.now()
    assert abs(moved - timedelta(days=16)) < timedelta(minutes=1)


def test_after_16_days_the_unanswered_invitation_reads_expired(recorded: Recorded) -> None:
    with running_later(recorded, "+16d") as server:
        management, alice = server.client(MANAGEMENT), server.client(ALICE)
        assert alice.describe_handshake(HandshakeId=recorded.open_id)["Handshake"]["State"] == "EXPIRED"
        assert listed(alice, "list_handshakes_for_account")[recorded.open_id] == "EXPIRED"
        assert listed(management, "list_handshakes_for_organization") == {
            recorded.open_id: "EXPIRED", recorded.declined_id: "DECLINED"}
        with pytest.raises(ClientError) as caught:
            alice.accept_handshake(HandshakeId=recorded.open_id)
        assert error_of(caught)[0] == "InvalidHandshakeTransitionException"


def test_after_46_days_both_are_gone_from_every_view(recorded: Recorded) -> None:
    with running_later(recorded, "+46d") as server:
        management, alice, bob = server.client(MANAGEMENT), server.client(ALICE), server.client(BOB)
        for handshake_id in (recorded.open_id, recorded.declined_id):
            assert not_found(management.describe_handshake, HandshakeId=handshake_id)
        assert not_found(alice.decline_handshake, HandshakeId=recorded.open_id)
        assert listed(alice, "list_handshakes_for_account") == {}
        assert listed(bob, "list_handshakes_for_account") == {}
        assert listed(management, "list_handshakes_for_organization") == {}


class At(Clock):
    def __init__(self, instant: datetime):
        self.instant = instant

    def now(self) -> datetime:
        return self.instant


def test_the_history_still_holds_every_event(recorded: Recorded) -> None:
    with open_ledger(recorded.data, clock=At(system_clock.now() + timedelta(days=46))) as ledger:
        unanswered, declined = ledger.history(recorded.open_id), ledger.history(recorded.declined_id)
    events = [e for e in unanswered if not e.refused]  # the module's later tests tried to accept it
    assert [(e.what, e.derived) for e in events] == [("Requested", False), ("Expired", True)]
    assert all(e.details["errorCode"] for e in unanswered if e.refused)
    assert (unanswered[0].actor, unanswered[0].request_id) == (MANAGEMENT, recorded.invite_request_id)
    assert [e.what for e in declined if not e.refused] == ["Requested", "Declined"]
    assert (declined[1].actor, declined[1].request_id) == (BOB, recorded.decline_request_id)
