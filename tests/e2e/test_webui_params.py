"""The UI's query parameters, whatever a client writes (``webui/params.py``): no 5xx, a page of
bounded size, undeclared parameters never copied into links, numbers and instants in range, a
relative moment pinned in every link; and the ``Host`` check against DNS rebinding
(``webui/hosts.py``)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from html import unescape
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ALICE, MANAGEMENT
from tests.e2e.conftest import Server
from tests.e2e.test_webui import fetch

PAGES = ("/ui/", "/ui/organizations", "/ui/analytics", "/ui/audit", "/ui/search", "/ui")
MAX_PAGE = 256 * 1024  # bytes: a page of this small ledger, whatever the query


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("params") / "data").start()
    management = running.client(MANAGEMENT)
    management.create_organization(FeatureSet="ALL")
    running.invited = management.invite_account_to_organization(  # type: ignore[attr-defined]
        Target={"Type": "ACCOUNT", "Id": ALICE})["Handshake"]["Id"]
    yield running
    assert running.stop() == 0


def links(body: bytes) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]*)"', body.decode())]


@pytest.mark.parametrize("path", [
    "/ui/?after=9999999999999999999.h-abc", "/ui/audit?before=9999999999999999999.x", "/ui/?after=1" + "0" * 400 + ".h-a",
    "/ui/handshakes/{id}?at=9999-12-31", "/ui/?at=9999-10-01", "/ui/handshakes/{id}?at=0001-01-01",
    "/ui/?at=-999999999w", "/ui/?at=%2B999999999w", "/ui/?position=99999999999999999999999",
    "/ui/?position=" + "9" * 5000, "/ui/?at=" + "1" * 5000, "/ui/?state=" + "X" * 5000,
    "/ui/?state=OPEN&state=ACCEPTED", "/ui/?at=-1h&at=-2h",  # one of each: the page shows one, not the last
])
def test_numbers_and_instants_out_of_range_are_a_small_400(server: Server, path: str) -> None:
    status, headers, body = fetch(server, path.format(id=server.invited))  # type: ignore[attr-defined]
    assert status == 400, body[:300]
    assert headers["content-type"] == "text/html; charset=utf-8" and len(body) < 16 * 1024


def test_a_far_moment_draws_a_few_ticks(server: Server) -> None:
    status, _, body = fetch(server, f"/ui/handshakes/{server.invited}?at=%2B300d")  # type: ignore[attr-defined]
    assert status == 200 and 1 <= body.count(b'class="tick"') <= 8


def test_undeclared_parameters_are_dropped_from_every_link(server: Server) -> None:
    junk = "z" * 60_000
    for page in ("/ui/", "/ui/audit", "/ui/organizations", "/ui/analytics", f"/ui/handshakes/{server.invited}"):  # type: ignore[attr-defined]
        status, _, body = fetch(server, f"{page}?zzz={junk}&state=OPEN&at=-1m")
        assert status == 200, body[:300]
        assert b"zzz" not in body and len(body) < 64 * 1024


def test_a_relative_moment_is_pinned_in_every_link(server: Server) -> None:
    status, _, body = fetch(server, "/ui/?at=-3w&state=OPEN")
    assert status == 200
    moments = {parse_qs(urlsplit(link).query).get("at", [None])[0] for link in links(body) if "at=" in link}
    assert len(moments) == 1 and next(iter(moments)).startswith("20")  # type: ignore[union-attr]
    hidden = set(re.findall(rb'<input type="hidden" name="at" value="([^"]+)"', body))
    assert hidden == {next(iter(moments)).encode()}  # type: ignore[union-attr]
    asked = datetime.fromisoformat(next(iter(moments)).replace("Z", "+00:00"))  # type: ignore[union-attr]
    assert abs(datetime.now(timezone.utc) - timedelta(weeks=3) - asked) < timedelta(minutes=1)


@pytest.mark.parametrize("written", ["+2d", "%2B2d", "{soon}T00:00:00+02:00", "{soon} 12:00:00", "now"])
def test_a_plus_in_the_moment_reads_as_written(server: Server, written: str) -> None:
    soon = (datetime.now(timezone.utc) + timedelta(days=20)).strftime("%Y-%m-%d")
    status, _, body = fetch(server, "/ui/?at=" + written.format(soon=soon).replace(" ", "%20"))
    assert status == 200, body[:400]
    if written.endswith("2d"):
        later = (datetime.now(timezone.utc) + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
        assert later.encode() in body


# -- the Host check (DNS rebinding) ----------------------------------------------------------------

@pytest.mark.parametrize("host, status", [
    ("127.0.0.1:{port}", 200), ("localhost:{port}", 200), ("[::1]:{port}", 200), ("LOCALHOST:{port}", 200),
    ("evil.example:{port}", 421), ("evil.example", 421), ("127.0.0.1.evil.example:{port}", 421),
    ("127.0.0.1:1", 421), ("[::1", 421), ("localhost:port", 421),
])
def test_the_ui_answers_its_own_host_only(server: Server, host: str, status: int) -> None:
    answered, headers, body = fetch(server, "/ui/", headers={"Host": host.format(port=server.port)})
    assert answered == status, body[:300]
    assert headers["content-type"] == "text/html; charset=utf-8"
    if status == 421:
        assert b"--allowed-hosts" in body and b"data-id" not in body


def test_allowed_hosts_adds_names(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", options=("--allowed-hosts", "ledger.example", "other.example:8443")).start()
    try:
        assert fetch(server, "/ui/", headers={"Host": f"ledger.example:{server.port}"})[0] == 200
        assert fetch(server, "/ui/", headers={"Host": "other.example:8443"})[0] == 200
        assert fetch(server, "/ui/", headers={"Host": "other.example:8444"})[0] == 421
        assert fetch(server, "/ui/", headers={"Host": "evil.example"})[0] == 421
    finally:
        assert server.stop() == 0


# -- the kind: any query string ------------------------------------------------------------------

NAMES = ("at", "position", "after", "before", "state", "action", "organization", "recipient", "email", "selected",
         "operation", "account", "error", "request_id", "resource", "outcome", "q", "zzz", "", "a[b]")
VALUES = st.one_of(
    st.text(max_size=40), st.from_regex(r"[0-9]{1,25}(\.[a-z0-9-]{0,10})?", fullmatch=True),
    st.from_regex(r"[+ -]?[0-9]{1,12}[wdhms]", fullmatch=True),
    st.from_regex(r"[0-9]{1,5}-[0-9]{1,2}-[0-9]{1,2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?)?([+ -][0-9]{2}:[0-9]{2}|Z)?",
                  fullmatch=True),
    st.sampled_from(["OPEN", "INVITE", "refused", "now", "o-abcdefghij", "111111111111", "h-0000000000000000",
                     "%ff", "%00", "&", "=", "+", "Acme", "9" * 300]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(path=st.sampled_from(PAGES + ("/ui/handshakes/{id}",)),
       pairs=st.lists(st.tuples(st.sampled_from(NAMES), VALUES), max_size=6),
       raw=st.booleans())
def test_any_query_string_is_a_page_never_a_5xx(server: Server, path: str, pairs: list[tuple[str, str]],
                                                raw: bool) -> None:
    query = "&".join(f"{name}={value if raw and value.isascii() and value.isprintable() and ' ' not in value and '#' not in value else quote(value, safe='')}"
                     for name, value in pairs)
    target = path.format(id=server.invited) + (f"?{query}" if query else "")  # type: ignore[attr-defined]
    status, headers, body = fetch(server, target)
    assert status < 500, (target, body[:400])
    assert len(body) < MAX_PAGE, target
    assert b"Traceback" not in body
    if status == 200 and headers["content-type"].startswith("text/html"):
        assert b"zzz" not in body
