"""The real server in a subprocess on 127.0.0.1, driven by boto3, the AWS CLI and http.client."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import ALICE, BOB, MANAGEMENT

ROOT = Path(__file__).resolve().parents[2]
ALICE_KEY = ("AKIAALICEEXAMPLE0001", "alice-secret")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
NO_RETRIES = Config(retries={"total_max_attempts": 1})
TARGET = "AWSOrganizationsV20161128."
NAMES = {MANAGEMENT: ("Management", "mgmt@example.com"), ALICE: ("Alice", "alice@example.com"),
         BOB: ("Bob", "bob@example.com")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_accounts(path: Path, keys: dict[str, list[tuple[str, str]]] | None = None) -> Path:
    """An accounts file naming the three test accounts, with ``keys`` (account -> [(id, secret)])."""
    lines: list[str] = []
    for account_id, (name, email) in NAMES.items():
        lines += ["[[accounts]]", f'id = "{account_id}"', f'name = "{name}"', f'email = "{email}"', ""]
        for key_id, secret in (keys or {}).get(account_id, []):
            lines += ["[[accounts.keys]]", f'access_key_id = "{key_id}"', f'secret_access_key = "{secret}"', ""]
    path.write_text("\n".join(lines))
    return path


class Server:
    """``handshake-ledger serve`` as a subprocess; restartable on the same data.

    ``data``: a folder or a PostgreSQL URL; ``workers``: ``serve --workers``; ``log``: a file
    that collects the server's stderr (else it goes to the test's); ``options``: more ``serve`` options.
    """

    def __init__(self, data: Path | str, *, accounts: Path | None = None, strict: bool = False,
                 env: dict[str, str] | None = None, workers: int = 1, log: Path | None = None,
                 options: tuple[str, ...] = ()):
        self.data, self.accounts, self.strict, self.env = data, accounts, strict, env or {}
        self.workers, self.log, self.options = workers, log, options
        self.process: subprocess.Popen[bytes] | None = None
        self.faketime: str | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, faketime: str | None = None) -> Server:
        self.port = free_port()
        command = [sys.executable, "-m", "ledger.entrypoints.cli", "serve", "--port", str(self.port),
                   "--data", str(self.data)]
        command += ["--accounts", str(self.accounts)] if self.accounts else []
        command += ["--strict"] if self.strict else []
        command += ["--workers", str(self.workers)] if self.workers != 1 else []
        command += list(self.options)
        command = ["faketime", "-f", faketime, *command] if faketime else command
        self.faketime = faketime
        env = {**os.environ, "PYTHONPATH": str(ROOT), **self.env}
        with open(self.log, "ab") if self.log else nullcontext() as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stderr=log)
        self._wait_until_healthy()
        return self

    def server_pid(self) -> int:
        """The server's own pid: ``faketime`` runs it as a child and does not pass signals on."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if self.faketime and children.exists() and children.read_text().split():
            return int(children.read_text().split()[0])
        return self.process.pid

    def _wait_until_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode} while starting")
            try:
                if self.get("/_ledger/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.02)  # polling the health endpoint: the one allowed wait
        os.killpg(self.process.pid, signal.SIGKILL)
        raise RuntimeError("server did not become healthy")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the server and return its exit code."""
        assert self.process is not None
        os.kill(self.server_pid(), sig)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise

    def client(self, account: str, secret: str = "x", region: str = "us-east-1", endpoint: str | None = None) -> Any:
        """A boto3 client of ``account``; ``endpoint``: another URL of this server (an ``/as-of/`` one)."""
        return boto3.client("organizations", endpoint_url=endpoint or self.url, region_name=region,
                            aws_access_key_id=account, aws_secret_access_key=secret, config=NO_RETRIES)

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def post(self, operation: str | None, body: bytes, account: str = MANAGEMENT,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        return post(self.port, operation, body, account, headers)


def post(port: int, operation: str | None, body: bytes, account: str = MANAGEMENT, headers: dict[str, str] | None = None,
         method: str = "POST") -> tuple[int, dict[str, str], Any]:
    """A raw awsJson1_1 request (unsigned, the caller named in the credential scope)."""
    sent = {"Content-Type": "application/x-amz-json-1.1",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/organizations/aws4_request, "
                             "SignedHeaders=host, Signature=0"}
    if operation is not None:
        sent["X-Amz-Target"] = TARGET + operation
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, "/", body=body, headers={**sent, **(headers or {})})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read())
    finally:
        connection.close()


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, str | None]:
    """(Code, Message, Reason) as boto3 callers see them."""
    response = excinfo.value.response
    assert response["Message"] == response["Error"]["Message"] != ""
    return response["Error"]["Code"], response["Message"], response.get("Reason")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One lenient server for the modules that need no special settings; limits raised for paging."""
    base = tmp_path_factory.mktemp("shared")
    limits = {"HANDSHAKE_LEDGER_ACCOUNT_LIMIT": "100", "HANDSHAKE_LEDGER_INVITE_RATE_LIMIT": "100"}
    accounts = write_accounts(base / "accounts.toml", {ALICE: [ALICE_KEY]})
    running = Server(base / "data", accounts=accounts, env=limits).start()
    yield running
    assert running.stop() == 0


@pytest.fixture
def management(server: Server) -> Any:
    return server.client(MANAGEMENT)


@pytest.fixture
def alice(server: Server) -> Any:
    return server.client(ALICE)


@pytest.fixture
def bob(server: Server) -> Any:
    return server.client(BOB)


def dissolve(client: Any) -> None:
    """Remove every member and delete the caller's organization, so the next test starts afresh."""
    management = client.describe_organization()["Organization"]["MasterAccountId"]
    for page in client.get_paginator("list_accounts").paginate():
        for account in page["Accounts"]:
            if account["Id"] != management:
                client.remove_account_from_organization(AccountId=account["Id"])
    client.delete_organization()


@pytest.fixture
def organization(management: Any) -> Iterator[dict[str, Any]]:
    """MANAGEMENT's fresh organization (consolidated billing); ALICE and BOB outside it."""
    created = management.create_organization(FeatureSet="CONSOLIDATED_BILLING")["Organization"]
    yield created
    dissolve(management)


def fetch(server: Server, path: str, method: str = "GET", headers: dict[str, str] | None = None,
          ) -> tuple[int, dict[str, str], bytes]:
    """One plain HTTP request to ``server``: (status, headers in lower case, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()
