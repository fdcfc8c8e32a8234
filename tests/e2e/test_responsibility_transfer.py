"""A billing transfer's whole life against the real server, on the server's real clock (decisions 20-28):
boto3, the AWS CLI and the AWS SDK for JavaScript v3, unchanged; then every read recorded live is asked
again through ``/as-of/<instant>`` and must come back equal.

MANAGEMENT (the inviter: it pays, it sees the transfer as inbound) invites ALICE's organization (the
invitee: it is paid for, it sees it as outbound); BOB's organization declines one invitation and sees
another canceled. The start is the 1st of next month UTC, computed when the test runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import ALICE, BOB, MANAGEMENT
from tests.e2e.conftest import ROOT, Server, write_accounts

JS = ROOT / "tests" / "e2e" / "js"
ARN = "arn:aws:organizations::{account}:transfer/{org}/billing/{side}/{rt}"


def first_of_next_month(now: datetime) -> datetime:
    """The earliest StartTimestamp decision 23 allows: the 1st of next month, or of the month after when
    next month's invitation would be born expired (start - 24 h <= now, a margin of an hour kept)."""
    start = (now.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start if start - timedelta(hours=25) > now else (start + timedelta(days=32)).replace(day=1)


def last_instant_of_this_month(now: datetime) -> datetime:
    """Decision 23's default EndTimestamp: 23:59:59.999 on the last day of the current month."""
    return (now.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0, minute=0, second=0, microsecond=0) \
        - timedelta(milliseconds=1)


@dataclass(frozen=True)
class Read:
    """A read answered live: who asked what, the answer, and an instant at which it was the truth."""
    caller: str
    operation: str
    params: dict[str, Any]
    answer: Any
    instant: datetime


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Server]:
    """A fresh server (transfers outlive DeleteOrganization's guard, decision 24) with three
    all-features organizations: MANAGEMENT's, ALICE's and BOB's."""
    accounts = write_accounts(tmp_path / "accounts.toml")
    running = Server(tmp_path / "data", accounts=accounts).start()
    orgs = {account: running.client(account).create_organization(FeatureSet="ALL")["Organization"]["Id"]
            for account in (MANAGEMENT, ALICE, BOB)}
    running.orgs = orgs  # type: ignore[attr-defined]
    yield running
    assert running.stop() == 0


def aws(server: Server, account: str, *args: str, endpoint: str | None = None) -> Any:
    """``aws organizations <args>`` as ``account`` (no profile of the machine involved): its JSON output."""
    executable = Path(sys.executable).with_name("aws")
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=account, AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    command = [str(executable) if executable.exists() else shutil.which("aws") or "aws", "organizations", *args,
               "--output", "json", "--endpoint-url", endpoint or server.url]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def spelled(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def as_of(server: Server, instant: datetime) -> str:
    return f"{server.url}/as-of/{spelled(instant)}"


def epoch(value: Any) -> float:
    """A timestamp as any client printed it: a datetime (boto3), epoch seconds or ISO text (CLI, JS)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def expected_transfer(server: Server, rt: str, side: str, start: datetime, **fields: Any) -> dict[str, Any]:
    """Decision 25's Describe answer for ``side`` (inbound: MANAGEMENT's, outbound: ALICE's)."""
    orgs = server.orgs  # type: ignore[attr-defined]
    owner = MANAGEMENT if side == "inbound" else ALICE
    return {"Arn": ARN.format(account=owner, org=orgs[owner], side=side, rt=rt), "Id": rt, "Type": "BILLING",
            "Source": {"ManagementAccountId": ALICE, "ManagementAccountEmail": "alice@example.com"},
            "Target": {"ManagementAccountId": MANAGEMENT, "ManagementAccountEmail": "mgmt@example.com"},
            "StartTimestamp": start.timestamp(), **fields}


def normal(transfer: dict[str, Any]) -> dict[str, Any]:
    """A transfer with its timestamps as epoch seconds, whichever client printed it."""
    return {key: epoch(value) if key.endswith("Timestamp") else value for key, value in transfer.items()}


class Recorder:
    """Reads through boto3, each kept with an instant at which its answer was live."""

    def __init__(self, server: Server):
        self.server = server
        self.reads: list[Read] = []

    def read(self, caller: str, operation: str, **params: Any) -> Any:
        answer = getattr(self.server.client(caller), operation)(**params)
        answer.pop("ResponseMetadata", None)
        self.reads.append(Read(caller, operation, params, answer, datetime.now(timezone.utc)))
        return answer

    def replay(self) -> None:
        """Every recorded read, through ``/as-of/<its instant>``, equals its live answer."""
        for read in self.reads:
            past = self.server.client(read.caller, endpoint=as_of(self.server, read.instant))
            answer = getattr(past, read.operation)(**read.params)
            answer.pop("ResponseMetadata", None)
            assert answer == read.answer, read


def test_a_transfers_whole_life_through_the_aws_cli_and_boto3(ledger: Server) -> None:
    now = datetime.now(timezone.utc)
    start = first_of_next_month(now)
    recorder = Recorder(ledger)
    mgmt, alice = ledger.client(MANAGEMENT), ledger.client(ALICE)

    handshake = aws(ledger, MANAGEMENT, "invite-organization-to-transfer-responsibility", "--type", "BILLING",
                    "--target", f"Id={ALICE},Type=ACCOUNT", "--start-timestamp", spelled(start),
                    "--source-name", "Alice's bill", "--notes", "from the CLI")["Handshake"]
    assert (handshake["Action"], handshake["State"]) == ("TRANSFER_RESPONSIBILITY", "REQUESTED")
    assert epoch(handshake["ExpirationTimestamp"]) == (start - timedelta(hours=24)).timestamp()
    (resource,) = [r for r in handshake["Resources"] if r["Type"] == "RESPONSIBILITY_TRANSFER"]
    rt = resource["Value"]
    assert {"Type": "TRANSFER_START_TIMESTAMP", "Value": str(int(start.timestamp()))} in resource["Resources"]

    # Lists from both sides: the CLI and boto3 agree, and the invitation is there with its handshake.
    listed_in = aws(ledger, MANAGEMENT, "list-inbound-responsibility-transfers", "--type", "BILLING")
    live_in = recorder.read(MANAGEMENT, "list_inbound_responsibility_transfers", Type="BILLING")
    assert [normal(t) for t in listed_in["ResponsibilityTransfers"]] == \
        [normal(t) for t in live_in["ResponsibilityTransfers"]]
    (requested,) = live_in["ResponsibilityTransfers"]
    assert (requested["Id"], requested["Status"], requested["ActiveHandshakeId"]) == (rt, "REQUESTED", handshake["Id"])
    assert requested["Source"] == {"ManagementAccountId": ALICE}  # Lists give the ids only (decision 25)
    (outbound,) = aws(ledger, ALICE, "list-outbound-responsibility-transfers", "--type", "BILLING")[
        "ResponsibilityTransfers"]
    assert (outbound["Id"], outbound["Arn"]) == (rt, ARN.format(account=ALICE, org=ledger.orgs[ALICE],  # type: ignore[attr-defined]
                                                                side="outbound", rt=rt))
    recorder.read(ALICE, "list_outbound_responsibility_transfers", Type="BILLING")

    # Describe from both sides: one Id, two ARNs.
    for caller, side in ((MANAGEMENT, "inbound"), (ALICE, "outbound")):
        described = aws(ledger, caller, "describe-responsibility-transfer", "--id", rt)["ResponsibilityTransfer"]
        assert normal(described) == expected_transfer(ledger, rt, side, start, Name="Alice's bill",
                                                      Status="REQUESTED", ActiveHandshakeId=handshake["Id"])
        recorder.read(caller, "describe_responsibility_transfer", Id=rt)

    accepted = aws(ledger, ALICE, "accept-handshake", "--handshake-id", handshake["Id"])["Handshake"]
    assert accepted["State"] == "ACCEPTED"
    after_accept = recorder.read(ALICE, "describe_responsibility_transfer", Id=rt)["ResponsibilityTransfer"]
    assert normal(after_accept) == expected_transfer(ledger, rt, "outbound", start, Name="Alice's bill",
                                                     Status="ACCEPTED")

    renamed = aws(ledger, MANAGEMENT, "update-responsibility-transfer", "--id", rt, "--name", "Paid by us")
    assert renamed["ResponsibilityTransfer"]["Name"] == "Paid by us"
    assert recorder.read(MANAGEMENT, "describe_responsibility_transfer", Id=rt)[
        "ResponsibilityTransfer"]["Name"] == "Paid by us"
    assert describe_name(alice, rt) == "Alice's bill"  # the caller's side only (decision 25)
    recorder.read(ALICE, "describe_responsibility_transfer", Id=rt)

    ended = aws(ledger, ALICE, "terminate-responsibility-transfer", "--id", rt)["ResponsibilityTransfer"]
    assert ended["Status"] == "WITHDRAWN"
    withdrawn = recorder.read(MANAGEMENT, "describe_responsibility_transfer", Id=rt)["ResponsibilityTransfer"]
    assert normal(withdrawn) == expected_transfer(ledger, rt, "inbound", start, Name="Paid by us", Status="WITHDRAWN",
                                                  EndTimestamp=last_instant_of_this_month(now).timestamp())
    assert withdrawn["EndTimestamp"] < withdrawn["StartTimestamp"]  # withdrawn before it ever took effect
    assert normal(aws(ledger, ALICE, "describe-responsibility-transfer", "--id", rt)["ResponsibilityTransfer"]) == \
        expected_transfer(ledger, rt, "outbound", start, Name="Alice's bill", Status="WITHDRAWN",
                          EndTimestamp=last_instant_of_this_month(now).timestamp())
    recorder.read(MANAGEMENT, "list_inbound_responsibility_transfers", Type="BILLING", Id=rt)
    assert mgmt.describe_handshake(HandshakeId=handshake["Id"])["Handshake"]["State"] == "ACCEPTED"

    recorder.replay()
    first = recorder.reads[0]  # and the AWS CLI reads the past the same way
    past = aws(ledger, MANAGEMENT, "list-inbound-responsibility-transfers", "--type", "BILLING",
               endpoint=as_of(ledger, first.instant))
    assert [normal(t) for t in past["ResponsibilityTransfers"]] == \
        [normal(t) for t in first.answer["ResponsibilityTransfers"]]
    assert past["ResponsibilityTransfers"][0]["Status"] == "REQUESTED"


def describe_name(client: Any, rt: str) -> str:
    return str(client.describe_responsibility_transfer(Id=rt)["ResponsibilityTransfer"]["Name"])


def test_a_declined_and_a_canceled_invitation(ledger: Server) -> None:
    start = first_of_next_month(datetime.now(timezone.utc))
    recorder = Recorder(ledger)
    mgmt, bob = ledger.client(MANAGEMENT), ledger.client(BOB)

    def invite(name: str) -> tuple[str, str]:
        handshake = mgmt.invite_organization_to_transfer_responsibility(
            Type="BILLING", Target={"Type": "EMAIL", "Id": "bob@example.com"}, StartTimestamp=start,
            SourceName=name)["Handshake"]
        (rt,) = [r["Value"] for r in handshake["Resources"] if r["Type"] == "RESPONSIBILITY_TRANSFER"]
        return handshake["Id"], rt

    declined_handshake, declined = invite("declined")
    assert recorder.read(BOB, "describe_responsibility_transfer", Id=declined)["ResponsibilityTransfer"][
        "Source"] == {"ManagementAccountEmail": "bob@example.com"}  # an EMAIL invitation, unanswered (decision 25)
    assert aws(ledger, BOB, "decline-handshake", "--handshake-id", declined_handshake)["Handshake"]["State"] == "DECLINED"
    canceled_handshake, canceled = invite("canceled")  # the same target again: the first is no longer REQUESTED
    assert aws(ledger, MANAGEMENT, "cancel-handshake", "--handshake-id", canceled_handshake)["Handshake"][
        "State"] == "CANCELED"

    inbound = recorder.read(MANAGEMENT, "list_inbound_responsibility_transfers", Type="BILLING")
    assert [(t["Id"], t["Status"]) for t in inbound["ResponsibilityTransfers"]] == \
        [(canceled, "CANCELED"), (declined, "DECLINED")]  # newest first (decision 26)
    outbound = recorder.read(BOB, "list_outbound_responsibility_transfers", Type="BILLING")
    assert [t["Id"] for t in outbound["ResponsibilityTransfers"]] == [canceled, declined]
    assert bob.describe_responsibility_transfer(Id=declined)["ResponsibilityTransfer"]["Source"] == {
        "ManagementAccountId": BOB, "ManagementAccountEmail": "bob@example.com"}  # answered: the account
    # No paginator exists for these Lists in the model, so the CLI gives one page and its NextToken.
    first = aws(ledger, BOB, "list-outbound-responsibility-transfers", "--type", "BILLING", "--max-results", "1")
    second = aws(ledger, BOB, "list-outbound-responsibility-transfers", "--type", "BILLING", "--max-results", "1",
                 "--next-token", first["NextToken"])
    assert [t["Id"] for t in first["ResponsibilityTransfers"] + second["ResponsibilityTransfers"]] == [canceled, declined]
    for rt in (declined, canceled):  # neither can be terminated nor renamed
        done = subprocess_error(ledger, MANAGEMENT, "terminate-responsibility-transfer", "--id", rt)
        assert "InvalidResponsibilityTransferTransitionException" in done
        done = subprocess_error(ledger, MANAGEMENT, "update-responsibility-transfer", "--id", rt, "--name", "n")
        assert "TRANSFER_RESPONSIBILITY_UPDATE_NOT_ALLOWED" in done or "ConstraintViolationException" in done
    recorder.replay()


def subprocess_error(server: Server, account: str, *args: str) -> str:
    """The stderr of an ``aws organizations`` call that must fail."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=account, AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    executable = Path(sys.executable).with_name("aws")
    done = subprocess.run([str(executable) if executable.exists() else "aws", "organizations", *args,
                           "--endpoint-url", server.url], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode != 0, done.stdout
    return done.stderr


def js(server: Server, steps: list[dict[str, Any]], endpoint: str | None = None) -> list[Any]:
    done = subprocess.run(["node", str(JS / "transfer.mjs")], input=json.dumps({
        "endpoint": endpoint or server.url, "steps": steps}), capture_output=True, text=True, timeout=60, cwd=JS)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


@pytest.mark.skipif(shutil.which("node") is None or not (JS / "node_modules").is_dir(),
                    reason="the JS SDK check needs node and `npm ci` in tests/e2e/js (.ci/run does both)")
def test_a_transfers_whole_life_through_the_javascript_sdk(ledger: Server) -> None:
    now = datetime.now(timezone.utc)
    start = first_of_next_month(now)

    def step(account: str, operation: str, **params: Any) -> dict[str, Any]:
        return {"account": account, "operation": operation, "params": params}

    (invited,) = js(ledger, [step(MANAGEMENT, "InviteOrganizationToTransferResponsibility", Type="BILLING",
                                  Target={"Type": "ACCOUNT", "Id": ALICE}, StartTimestamp=spelled(start),
                                  SourceName="from JS")])
    handshake = invited["Handshake"]
    (rt,) = [r["Value"] for r in handshake["Resources"] if r["Type"] == "RESPONSIBILITY_TRANSFER"]
    requested_at = datetime.now(timezone.utc)
    answers = js(ledger, [
        step(MANAGEMENT, "ListInboundResponsibilityTransfers", Type="BILLING"),
        step(ALICE, "ListOutboundResponsibilityTransfers", Type="BILLING"),
        step(ALICE, "AcceptHandshake", HandshakeId=handshake["Id"]),
        step(ALICE, "UpdateResponsibilityTransfer", Id=rt, Name="renamed in JS"),
        step(MANAGEMENT, "TerminateResponsibilityTransfer", Id=rt),
        step(MANAGEMENT, "TerminateResponsibilityTransfer", Id=rt),
        step(ALICE, "DescribeResponsibilityTransfer", Id=rt),
        step(MANAGEMENT, "DescribeResponsibilityTransfer", Id=rt),
        step(BOB, "DescribeResponsibilityTransfer", Id=rt),
    ])
    inbound, outbound, accepted, renamed, terminated, again, from_alice, from_mgmt, from_bob = answers
    assert [(t["Id"], t["Status"]) for t in inbound["ResponsibilityTransfers"]] == [(rt, "REQUESTED")]
    assert outbound["ResponsibilityTransfers"][0]["Arn"].endswith(f"/billing/outbound/{rt}")
    assert accepted["Handshake"]["State"] == "ACCEPTED"
    assert renamed["ResponsibilityTransfer"]["Name"] == "renamed in JS"
    assert terminated["ResponsibilityTransfer"]["Status"] == "WITHDRAWN"
    assert again == {"error": "ResponsibilityTransferAlreadyInStatusException", "reason": None}
    end = last_instant_of_this_month(now).timestamp()
    assert normal(from_alice["ResponsibilityTransfer"]) == expected_transfer(
        ledger, rt, "outbound", start, Name="renamed in JS", Status="WITHDRAWN", EndTimestamp=end)
    assert normal(from_mgmt["ResponsibilityTransfer"]) == expected_transfer(
        ledger, rt, "inbound", start, Name="from JS", Status="WITHDRAWN", EndTimestamp=end)
    assert from_bob["error"] == "ResponsibilityTransferNotFoundException"  # neither side (decision 25)

    (past,) = js(ledger, [step(ALICE, "DescribeResponsibilityTransfer", Id=rt)], endpoint=as_of(ledger, requested_at))
    assert normal(past["ResponsibilityTransfer"]) == expected_transfer(
        ledger, rt, "outbound", start, Name="from JS", Status="REQUESTED", ActiveHandshakeId=handshake["Id"])
