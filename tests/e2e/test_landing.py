"""A browser that lands: ``GET /`` accepting HTML is sent to the UI, API clients are not; HEAD answers as
GET without a body; ``serve --access-log`` writes one line per request (and nothing without it)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

import boto3
import pytest

from tests.conftest import MANAGEMENT
from tests.e2e.conftest import NO_RETRIES, Server, fetch

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # what Chromium sends
LINE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) (.+) (\d{3}) (\d+\.\d)ms")


def ask(server: Server, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    return fetch(server, path, method, headers)


def test_a_browser_at_the_root_is_sent_to_the_ui(server: Server) -> None:
    status, headers, _ = ask(server, "GET", "/", {"Accept": BROWSER})
    assert (status, headers["location"]) == (303, "/ui/")
    status, headers, body = ask(server, "GET", headers["location"], {"Accept": BROWSER})
    assert status == 200 and headers["content-type"].startswith("text/html") and b"<html" in body.lower()


def test_api_clients_at_the_root_are_not(server: Server) -> None:
    status, headers, body = ask(server, "GET", "/", {"Accept": "application/json"})
    assert (status, json.loads(body)["__type"]) == (404, "UnknownOperationException")
    status, _, _ = ask(server, "GET", "/")  # curl, no Accept: as before
    assert status == 404
    assert server.client(MANAGEMENT).list_handshakes_for_account()["Handshakes"] is not None


@pytest.mark.parametrize("path", ["/_ledger/health", "/ui/", "/ui/static/app.css", "/", "/nowhere"])
def test_head_is_get_without_the_body(server: Server, path: str) -> None:
    got_status, got_headers, got_body = ask(server, "GET", path, {"Accept": BROWSER})
    status, headers, body = ask(server, "HEAD", path, {"Accept": BROWSER})
    assert body == b"" and status == got_status and status != 405
    assert headers["content-type"] == got_headers["content-type"]
    if path != "/_ledger/health":  # its body names the answering pid; same length either way
        assert headers["content-length"] == str(len(got_body))


def test_an_unknown_method_names_head_among_the_allowed(server: Server) -> None:
    status, headers, _ = ask(server, "DELETE", "/")
    assert (status, headers["allow"]) == (405, "GET, HEAD, POST")


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    log = tmp_path / "server.log"
    running = Server(tmp_path / "data", log=log, options=("--access-log",)).start()
    yield running, log
    assert running.stop() == 0


def test_the_access_log_has_a_line_per_request(logged: tuple[Server, Path]) -> None:
    server, log = logged
    client = server.client(MANAGEMENT)
    client.create_organization(FeatureSet="ALL")
    with pytest.raises(client.exceptions.HandshakeNotFoundException):
        client.describe_handshake(HandshakeId="h-0123456789")
    boto3.client("sts", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=MANAGEMENT,
                 aws_secret_access_key="x", config=NO_RETRIES).get_caller_identity()
    ask(server, "GET", "/ui/", {"Accept": BROWSER})
    server.stop()
    lines = [LINE.fullmatch(line) for line in log.read_text().splitlines() if not line.startswith("handshake-ledger:")]
    assert all(lines), log.read_text()
    seen = [(m.group(2), m.group(3), m.group(4)) for m in lines if m and m.group(3) != "GET /_ledger/health"]
    assert seen == [(MANAGEMENT, "CreateOrganization", "200"), (MANAGEMENT, "DescribeHandshake", "400"),
                    (MANAGEMENT, "GetCallerIdentity", "200"), ("-", "GET /ui/", "200")]
    server.start()  # the fixture stops it


def test_no_access_log_by_default(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    server = Server(tmp_path / "data", log=log).start()
    server.client(MANAGEMENT).list_handshakes_for_account()
    assert server.stop() == 0
    assert all(line.startswith("handshake-ledger:") for line in log.read_text().splitlines()), log.read_text()


def test_no_redirect_without_the_ui(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", options=("--no-ui",)).start()
    try:
        status, headers, _ = ask(server, "GET", "/", {"Accept": BROWSER})
        assert status == 404 and "location" not in headers
    finally:
        assert server.stop() == 0
