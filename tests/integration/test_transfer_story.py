"""A hypothesis story of billing transfers over several months, on the store under test
(HANDSHAKE_LEDGER_TEST_STORE): random invitations, answers, terminations and renames; every
Describe and List answer recorded live equals the same request ``ledger.at(instant)`` later."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from freezegun import freeze_time
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from ledger import open_ledger
from ledger.service_layer.application import Limits
from tests.conftest import new_location

ACCOUNTS = ["111111111111", "222222222222", "333333333333", "444444444444"]
STEP = st.tuples(st.sampled_from(["invite", "accept", "decline", "cancel", "terminate", "rename", "wait"]),
                 st.integers(0, 3), st.integers(0, 3), st.integers(0, 1), st.integers(1, 20))


def first_of_month(now: datetime, ahead: int) -> datetime:
    month = now.month + ahead
    return datetime(now.year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=timezone.utc)


def strip(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


OPERATIONS = {"ListInboundResponsibilityTransfers": "list_inbound_responsibility_transfers",
              "ListOutboundResponsibilityTransfers": "list_outbound_responsibility_transfers",
              "DescribeResponsibilityTransfer": "describe_responsibility_transfer"}
Recorded = tuple[datetime, str, str, dict[str, Any], dict[str, Any]]  # instant, caller, operation, params, answer


def ask(client: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """One recorded request again, its answer or its error's code."""
    try:
        return strip(getattr(client, OPERATIONS[operation])(**params))
    except ClientError as gone:
        return {"error": gone.response["Error"]["Code"]}


def play(ledger: Any, clock: Any, steps: list[tuple[str, int, int, int, int]]) -> list[Recorded]:
    """Tell the story under freezegun; after each step record every Describe and List answer."""
    clients = {a: ledger.client(a) for a in ACCOUNTS}
    for client in clients.values():
        client.create_organization()
    transfers: list[tuple[str, str, str, str]] = []  # rt, handshake, inviter, invitee
    recorded: list[Recorded] = []
    for kind, a, b, ahead, days in steps:
        now = datetime.now(timezone.utc)
        try:
            if kind == "invite" and a != b:
                handshake = clients[ACCOUNTS[a]].invite_organization_to_transfer_responsibility(
                    Type="BILLING", Target={"Type": "ACCOUNT", "Id": ACCOUNTS[b]},
                    StartTimestamp=first_of_month(now, 1 + ahead), SourceName=f"t{len(transfers)}")["Handshake"]
                transfers.append((handshake["Resources"][0]["Value"], handshake["Id"], ACCOUNTS[a], ACCOUNTS[b]))
            elif transfers and kind in ("accept", "decline", "cancel", "terminate", "rename"):
                rt, handshake_id, inviter, invitee = transfers[(a * 7 + b) % len(transfers)]
                if kind == "accept":
                    clients[invitee].accept_handshake(HandshakeId=handshake_id)
                elif kind == "decline":
                    clients[invitee].decline_handshake(HandshakeId=handshake_id)
                elif kind == "cancel":
                    clients[inviter].cancel_handshake(HandshakeId=handshake_id)
                elif kind == "terminate":
                    clients[(inviter, invitee)[ahead]].terminate_responsibility_transfer(Id=rt)
                else:
                    clients[(inviter, invitee)[ahead]].update_responsibility_transfer(Id=rt, Name=f"r{days}")
        except ClientError:
            pass  # refusals are part of the story
        clock.tick(timedelta(days=days, seconds=17))
        now = datetime.now(timezone.utc)
        for account, client in clients.items():
            for operation in ("ListInboundResponsibilityTransfers", "ListOutboundResponsibilityTransfers"):
                recorded.append((now, account, operation, {"Type": "BILLING"}, ask(client, operation, {"Type": "BILLING"})))
            for rt, _, inviter, invitee in transfers:
                if account in (inviter, invitee):
                    recorded.append((now, account, "DescribeResponsibilityTransfer", {"Id": rt},
                                     ask(client, "DescribeResponsibilityTransfer", {"Id": rt})))
        clock.tick(1)  # the next command comes after the instant recorded (as of T includes what T recorded)
    return recorded


LIMITS = Limits(inbound_transfers=3, transfer_chain_length=2)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(st.lists(STEP, min_size=5, max_size=25))
def test_every_answer_recorded_live_is_the_answer_as_of_then(steps):
    with tempfile.TemporaryDirectory() as folder, new_location(Path(folder)) as location, \
            freeze_time("2026-01-05T10:00:00Z") as clock, open_ledger(location, limits=LIMITS) as ledger:
        recorded = play(ledger, clock, steps)
        clock.tick(timedelta(days=120))
        for instant, account, operation, params, answer in recorded:
            assert ask(ledger.at(instant).client(account), operation, params) == answer, (instant, account, operation)
