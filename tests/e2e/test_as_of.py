"""The AWS API as of an instant, with unchanged clients: boto3 and the AWS CLI through
``--endpoint-url .../as-of/<instant>``, the AWS SDK for JavaScript v3 likewise, and the command line.

A random story is played in-process under freezegun, recording every caller's live answers; then the
real server opens the same data and every recorded answer must come back through the prefix.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings

from ledger import open_ledger
from ledger.service_layer.application import Limits
from tests.conftest import new_location
from tests.e2e.conftest import ROOT, Server
from tests.integration.answers import Recorded, ask, play, stories

JS = ROOT / "tests" / "e2e" / "js"
LIMITS = Limits(accounts_per_organization=5, invitations_per_day=6)


def as_of(server: Server, record: Recorded) -> str:
    return f"{server.url}/as-of/{record.instant.isoformat().replace('+00:00', 'Z')}"


def ids_and_states(items: Any) -> Any:
    return [(item["Id"], item["State"]) for item in items] if isinstance(items, list) else items


@settings(max_examples=2, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=stories)
def test_boto3_aws_cli_and_the_command_line_answer_as_of_each_instant(tmp_path: Path, steps: Any) -> None:
    with new_location(tmp_path) as location:
        with freeze_time("2026-03-01T09:00:00Z") as clock, open_ledger(location, limits=LIMITS) as ledger:
            recorded = play(ledger, clock, steps)
        server = Server(location).start()
        try:
            clients: dict[tuple[str, str], Any] = {}
            for record in recorded:  # every answer, through boto3
                key = (record.caller, as_of(server, record))
                client = clients.get(key) or clients.setdefault(key, server.client(key[0], endpoint=key[1]))
                assert ask(client, record.operation, record.params) == record.answer, record
            lists = [r for r in recorded if r.operation == "list_handshakes_for_account" and r.answer]
            for record in lists[-3:]:  # a sample through the AWS CLI and the command line
                assert aws_cli(server, record) == ids_and_states(record.answer)
                assert command_line(location, record) == ids_and_states(record.answer)
        finally:
            assert server.stop() == 0


def aws_cli(server: Server, record: Recorded) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "awscli", "organizations", "list-handshakes-for-account", "--output", "json",
         "--endpoint-url", as_of(server, record), "--page-size", "2"],
        env={"AWS_ACCESS_KEY_ID": record.caller, "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
             "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return ids_and_states(json.loads(done.stdout)["Handshakes"])


def command_line(location: str, record: Recorded) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "ledger.entrypoints.cli", "list", "--account", record.caller, "--as-of",
         record.instant.isoformat(), "--json", "--data", location], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return ids_and_states(json.loads(done.stdout)["Handshakes"])


def js_sdk_missing() -> str | None:
    """Why the JavaScript SDK check can't run here (and how to make it), or None."""
    if shutil.which("node") is None:
        return "the JS SDK check needs Node.js 18+ (`node` on PATH), then `cd tests/e2e/js && npm ci`"
    if not (JS / "node_modules").is_dir():
        return f"the JS SDK check needs its packages: run `npm ci` in {JS} (`cd tests/e2e/js && npm ci`; .ci/run does it)"
    return None


@pytest.mark.skipif(js_sdk_missing() is not None, reason=js_sdk_missing() or "")
def test_the_javascript_sdk_reads_through_the_prefix(tmp_path: Path) -> None:
    with new_location(tmp_path) as location:
        with freeze_time("2026-03-01T09:00:00Z") as clock, open_ledger(location, limits=LIMITS) as ledger:
            recorded = play(ledger, clock, [("create", 0, 0, 0, 1), ("invite", 0, 1, 0, 61),
                                            ("invite_email", 0, 0, 1, 61), ("accept", 0, 1, 0, 3_600),
                                            ("register", 0, 0, 1, 86_400), ("decline", 0, 0, 1, 16 * 86_400)])
        server = Server(location).start()
        try:
            operations = {"list_handshakes_for_account": "ListHandshakesForAccount",
                          "list_handshakes_for_organization": "ListHandshakesForOrganization",
                          "describe_organization": "DescribeOrganization", "list_accounts": "ListAccounts"}
            by_instant: dict[str, list[Recorded]] = {}
            for record in recorded:
                if record.operation in operations:
                    by_instant.setdefault(as_of(server, record), []).append(record)
            for endpoint, records in by_instant.items():
                reads = [{"account": r.caller, "operation": operations[r.operation], "params": {}} for r in records]
                done = subprocess.run(["node", str(JS / "read.mjs")], input=json.dumps({"endpoint": endpoint,
                                      "reads": reads}), capture_output=True, text=True, timeout=60, cwd=JS)
                assert done.returncode == 0, done.stderr
                for record, answer in zip(records, json.loads(done.stdout)):
                    expected = record.answer
                    if isinstance(expected, str):
                        assert answer == {"error": expected}, record
                    elif record.operation == "describe_organization":
                        assert answer["Organization"]["Id"] == expected["Organization"]["Id"], record
                    else:
                        assert [item["Id"] for item in answer] == [item["Id"] for item in expected], record
        finally:
            assert server.stop() == 0


def test_pages_through_a_relative_instant_read_one_moment(tmp_path: Path) -> None:
    """``/as-of/now`` and ``/as-of/-1d`` are read when asked: each page after the first reads the
    moment its NextToken pins (the first page's), for the Lists and CloudTrail's LookupEvents."""
    with new_location(tmp_path) as location:
        with open_ledger(location, limits=Limits(accounts_per_organization=50, invitations_per_day=50)) as ledger:
            mgmt = ledger.client("111111111111")
            mgmt.create_organization()
            invited = [mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": f"2000000000{n:02d}"})[
                "Handshake"]["Id"] for n in range(7)]
        server = Server(location).start()
        try:
            for spelled in ("now", "+1d"):
                past = server.client("111111111111", endpoint=f"{server.url}/as-of/{spelled}")
                pages = past.get_paginator("list_handshakes_for_organization").paginate(
                    PaginationConfig={"PageSize": 2})
                assert sorted(h["Id"] for page in pages for h in page["Handshakes"]) == sorted(invited)
                trail = boto3.client("cloudtrail", endpoint_url=f"{server.url}/as-of/{spelled}", region_name="us-east-1",
                                     aws_access_key_id="111111111111", aws_secret_access_key="x")
                events = [e for page in trail.get_paginator("lookup_events").paginate(PaginationConfig={"PageSize": 3})
                          for e in page["Events"]]
                assert len(events) == 2 + len(invited)  # CreateOrganization, its AccountJoinedOrganization (decision 29), the invitations
            with pytest.raises(ClientError):  # a token pins its moment for its own words only
                token = server.client("111111111111", endpoint=f"{server.url}/as-of/now").list_handshakes_for_organization(
                    MaxResults=2)["NextToken"]
                server.client("111111111111", endpoint=f"{server.url}/as-of/+1d").list_handshakes_for_organization(
                    MaxResults=2, NextToken=token)
        finally:
            assert server.stop() == 0


@pytest.mark.parametrize("path", ["garbage", "position/-1", "-1d/extra", "-1d%00", "0001-01-01", "+99999d"])
def test_a_moment_that_cannot_be_read_is_invalid_input_with_its_reason(server: Server, path: str) -> None:
    """Whatever the words after /as-of/, a moment that can't be read is InvalidInputException with the
    model's Reason (INVALID_PATTERN), never without one and never a 5xx."""
    past = server.client("111111111111", endpoint=f"{server.url}/as-of/{path}")
    with pytest.raises(ClientError) as refused:
        past.list_handshakes_for_account()
    answer = refused.value.response
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (answer["Error"]["Code"], answer.get("Reason")) == ("InvalidInputException", "INVALID_PATTERN")
