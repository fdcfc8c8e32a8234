"""The web UI over HTTP, without a browser: every page answers, a client's fault is a 4xx page
(never a 5xx or a trace), data is escaped, strict mode asks for a key, ``--no-ui`` leaves only the
AWS API, and the static files (Chart.js among them) come from the package."""

from __future__ import annotations

import base64
import gzip
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import ALICE, BOB, MANAGEMENT
from tests.e2e.conftest import ALICE_KEY, Server, fetch, write_accounts

MANAGEMENT_KEY = ("AKIAMANAGEMENT000001", "management-secret")
ODD_EMAIL = "<b>o'neil&co\"</b>@ex.am"  # valid for AWS's Email pattern: the page must show it as text




@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A ledger with an organization, an invitation to ALICE and one to an odd email address."""
    base = tmp_path_factory.mktemp("webui")
    running = Server(base / "data", accounts=write_accounts(base / "accounts.toml", {ALICE: [ALICE_KEY]})).start()
    management = running.client(MANAGEMENT)
    management.create_organization(FeatureSet="ALL")
    running.invited = management.invite_account_to_organization(  # type: ignore[attr-defined]
        Target={"Type": "ACCOUNT", "Id": ALICE})["Handshake"]["Id"]
    management.invite_account_to_organization(Target={"Type": "EMAIL", "Id": ODD_EMAIL})
    yield running
    assert running.stop() == 0


@pytest.mark.parametrize("path", ["/ui/", "/ui/organizations", "/ui/analytics", "/ui/audit", "/ui/?at=-1h",
                                  "/ui/?position=1", "/ui/?state=OPEN&action=INVITE", "/ui/audit?outcome=refused",
                                  "/ui/?action=TRANSFER_RESPONSIBILITY"])
def test_every_page_answers_html_with_its_policy(ui_server: Server, path: str) -> None:
    status, headers, body = fetch(ui_server, path)
    assert status == 200, body[:500]
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in headers["content-security-policy"] and headers["cache-control"] == "no-store"
    assert b"<!doctype html>" in body and b"Traceback" not in body
    if "at=" in path:  # the search and filter forms keep the moment
        assert body.count(b'<input type="hidden" name="at" value="20') >= (2 if path.startswith("/ui/?") else 1)


def test_a_handshake_s_page_and_its_fragment(ui_server: Server) -> None:
    path = f"/ui/handshakes/{ui_server.invited}"  # type: ignore[attr-defined]
    status, _, body = fetch(ui_server, path)
    assert status == 200 and b'id="timeline"' in body and b"Requested" in body
    status, headers, fragment = fetch(ui_server, path + "?position=1", headers={"X-Fragment": "view"})
    assert status == 200 and b"<html" not in fragment
    assert json.loads(headers["x-moment"])["position"] == 1


@pytest.mark.parametrize("path, status", [
    ("/ui/?at=garbage", 400), ("/ui/?position=999999", 400), ("/ui/?position=-1", 400), ("/ui/?at=now&position=1", 400),
    ("/ui/?state=LOST", 400), ("/ui/?organization=o-", 400), ("/ui/?email=nobody", 400), ("/ui/?after=1.%3Cx%3E", 400),
    ("/ui/?recipient=%EF%BC%91", 400), ("/ui/%ff", 400), ("/ui/?q=%ff", 400), ("/ui/search?q=", 400),
    ("/ui/audit?outcome=maybe", 400), ("/ui/audit?before=x", 400), ("/ui/handshakes/h-0000000000000000", 404),
    ("/ui/handshakes/not-an-id", 404), ("/ui/handshakes/h-0000000000000000/more", 404), ("/ui/nothing", 404),
    ("/ui/static/nothing.js", 404),
])
def test_a_client_s_fault_is_a_4xx_page(ui_server: Server, path: str, status: int) -> None:
    answered, headers, body = fetch(ui_server, path)
    assert answered == status, body[:500]
    assert headers["content-type"] == "text/html; charset=utf-8" and b"Traceback" not in body


def test_the_ui_is_read_only(ui_server: Server) -> None:
    status, headers, _ = fetch(ui_server, "/ui/", method="POST")
    assert (status, headers["allow"]) == (405, "GET")


def test_redirects_search_and_the_bare_prefix(ui_server: Server) -> None:
    status, headers, _ = fetch(ui_server, "/ui?state=OPEN")
    assert (status, headers["location"]) == (308, "/ui/?state=OPEN")
    handshake_id = ui_server.invited  # type: ignore[attr-defined]
    status, headers, _ = fetch(ui_server, f"/ui/search?q={handshake_id}&at=-1m")  # the moment is kept, pinned
    assert status == 303 and headers["location"].startswith(f"/ui/handshakes/{handshake_id}?at=20")
    assert fetch(ui_server, f"/ui/search?q={ALICE}")[1]["location"] == f"/ui/?recipient={ALICE}"


def test_data_from_the_ledger_is_text_never_markup(ui_server: Server) -> None:
    _, _, body = fetch(ui_server, "/ui/")
    page = body.decode()
    assert "&lt;b&gt;o&#39;neil&amp;co&#34;&lt;/b&gt;@ex.am" in page and "<b>o'neil" not in page
    status, _, body = fetch(ui_server, "/ui/?email=%3CB%3EO'NEIL%26CO%22%3C/B%3E%40EX.AM")  # case-insensitive
    assert status == 200 and body.count(b'data-id="h-') == 1


def test_static_files_come_from_the_package_gzipped_and_kept(ui_server: Server) -> None:
    status, headers, body = fetch(ui_server, "/ui/static/chart.umd.min.js", headers={"Accept-Encoding": "gzip"})
    shipped = (resources.files("ledger.entrypoints.webui") / "static" / "chart.umd.min.js").read_bytes()
    assert status == 200 and headers["content-encoding"] == "gzip" and gzip.decompress(body) == shipped
    assert "immutable" in headers["cache-control"] and shipped.startswith(b"/*!\n * Chart.js v4")


def test_pip_ships_the_templates_and_static_files() -> None:
    """Every file of templates/ and static/ matches the package data pyproject declares."""
    root = Path(__file__).resolve().parents[2]
    declared = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    folder = root / "ledger" / "entrypoints" / "webui"
    files = [p for sub in ("templates", "static") for p in (folder / sub).iterdir()]
    assert files and all(any(p.relative_to(folder).match(glob) for glob in declared["ledger.entrypoints.webui"])
                         for p in files)


def test_strict_asks_for_a_key_and_its_secret(tmp_path: Path) -> None:
    accounts = write_accounts(tmp_path / "accounts.toml", {ALICE: [ALICE_KEY], MANAGEMENT: [MANAGEMENT_KEY]})
    server = Server(tmp_path / "data", accounts=accounts, strict=True).start()
    try:
        status, headers, _ = fetch(server, "/ui/")
        assert status == 401 and headers["www-authenticate"].startswith("Basic realm=")
        assert fetch(server, "/ui/", headers={"Authorization": basic(ALICE_KEY[0], "nope")})[0] == 401
        assert fetch(server, "/ui/", headers={"Authorization": "Basic %%%"})[0] == 401
        status, _, body = fetch(server, "/ui/", headers={"Authorization": basic(*ALICE_KEY)})
        assert status == 200 and f"account {ALICE}".encode() in body
        management = server.client(*MANAGEMENT_KEY)
        management.create_organization()
        handshake_id = management.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": BOB})["Handshake"]["Id"]
        hidden = fetch(server, f"/ui/handshakes/{handshake_id}", headers={"Authorization": basic(*ALICE_KEY)})
        missing = fetch(server, "/ui/handshakes/h-0000000000000000", headers={"Authorization": basic(*ALICE_KEY)})
        assert hidden[0] == missing[0] == 404  # existence is not revealed (decision 9)
        assert hidden[2].replace(handshake_id.encode(), b"ID") == missing[2].replace(b"h-0000000000000000", b"ID")
        assert fetch(server, "/_ledger/health")[0] == 200
    finally:
        assert server.stop() == 0


def test_no_ui_leaves_only_the_aws_api(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", options=("--no-ui",)).start()
    try:
        status, headers, body = fetch(server, "/ui/")
        assert status == 404 and json.loads(body)["__type"] == "UnknownOperationException"
        assert "x-amzn-requestid" in headers
        assert server.client(MANAGEMENT).create_organization()["Organization"]["Id"].startswith("o-")
    finally:
        assert server.stop() == 0


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
