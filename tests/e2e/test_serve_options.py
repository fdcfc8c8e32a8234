"""``serve``'s options as a first-time user (and an attacker on the same host) meets them: what can't work
is refused with one line and exit 2, a wildcard host is said out loud, and the audit's sourceIPAddress is
the peer's unless the operator names the proxies to believe (``--forwarded-allow-ips``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import ALICE
from tests.e2e.conftest import NO_RETRIES, ROOT, Server

FORGED = "203.0.113.9"  # TEST-NET-3: no client here has it


def serve(tmp_path: Path, *options: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ledger.entrypoints.cli", "serve", "--data", str(tmp_path / "data"), *options]
    return subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("options", [
    ("--port", "99999"), ("--port", "65536"), ("--port", "-1"), ("--port", "x"), ("--port", "1e3"),
    ("--workers", "100000"), ("--workers", "0"), ("--workers", str(4 * (os.cpu_count() or 1) + 1)),
    ("--workers", "-2"), ("--host", ""), ("--host", "   "),
    ("--forwarded-allow-ips", "not-an-address"), ("--forwarded-allow-ips", "127.0.0.1,,"),
], ids=lambda option: "=".join(option) if isinstance(option, tuple) else str(option))
def test_what_cant_work_is_refused_in_one_line(tmp_path: Path, options: tuple[str, ...]) -> None:
    done = serve(tmp_path, *options)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert "Traceback" not in line and options[0] in line
    assert not (tmp_path / "data").exists()  # refused before anything was opened, no process started


def test_a_bad_port_is_refused_with_workers_too(tmp_path: Path) -> None:
    done = serve(tmp_path, "--workers", "2", "--port", "99999")
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1


def test_every_interface_is_said_out_loud(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", log=tmp_path / "stderr", options=("--host", "0.0.0.0")).start()
    try:
        assert server.get("/_ledger/health")[0] == 200
    finally:
        assert server.stop() == 0
    warnings = [line for line in (tmp_path / "stderr").read_text().splitlines() if "warning" in line]
    assert len(warnings) == 1 and "0.0.0.0" in warnings[0] and "every network interface" in warnings[0]


def source_ips(server: Server, account: str) -> list[str]:
    """The sourceIPAddress of ``account``'s recorded calls (not the service events AWS itself
    records, such as CreateOrganization's AccountJoinedOrganization), newest first, through LookupEvents."""
    trail = boto3.client("cloudtrail", endpoint_url=server.url, region_name="us-east-1",
                         aws_access_key_id=account, aws_secret_access_key="x", config=NO_RETRIES)
    records = [json.loads(event["CloudTrailEvent"]) for event in trail.lookup_events()["Events"]]
    return [record["sourceIPAddress"] for record in records if record["eventType"] == "AwsApiCall"]


def forged_call(server: Server, account: str, header: str) -> Any:
    organizations = server.client(account)

    def forge(request: Any, **_: Any) -> None:
        request.headers[header] = FORGED if header != "Forwarded" else f"for={FORGED}"

    organizations.meta.events.register("before-send.organizations.*", forge)
    return organizations.create_organization(FeatureSet="ALL")


@pytest.mark.parametrize("header", ["X-Forwarded-For", "X-Real-IP", "Forwarded"])
def test_a_forwarded_header_is_not_believed_by_default(tmp_path: Path, header: str) -> None:
    server = Server(tmp_path / "data").start()
    try:
        forged_call(server, ALICE, header)
        assert source_ips(server, ALICE) == ["127.0.0.1"]
    finally:
        assert server.stop() == 0


def test_a_named_proxy_is_believed(tmp_path: Path) -> None:
    """Behind a proxy on 127.0.0.1, ``--forwarded-allow-ips 127.0.0.1`` records the client it forwards for."""
    server = Server(tmp_path / "data", options=("--forwarded-allow-ips", "127.0.0.1")).start()
    try:
        forged_call(server, ALICE, "X-Forwarded-For")
        assert source_ips(server, ALICE) == [FORGED]
    finally:
        assert server.stop() == 0


def test_a_proxy_elsewhere_is_not_believed(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", options=("--forwarded-allow-ips", "10.0.0.0/8")).start()
    try:
        forged_call(server, ALICE, "X-Forwarded-For")
        assert source_ips(server, ALICE) == ["127.0.0.1"]
    finally:
        assert server.stop() == 0
