"""The web UI in strict mode shows a moment that reveals no more than the viewer may see
(``webui/moments.py``, ``docs/strict-mode.md``): an instant only (``?position=`` is a 400 that
keeps the navigation and names no length of the log), a slider that names no position and steps
by calendar day, and nowhere in any page the instant of an event of another account."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from html import unescape
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import ALICE, MANAGEMENT
from tests.e2e.conftest import ALICE_KEY, Server, fetch, write_accounts
from tests.e2e.test_webui import basic

OTHERS_EVENTS = 12  # invitations to others: the log grows with events ALICE can't see
REFUSAL = ("Log positions are not served in strict mode: they count every account's events. "
           "Ask as of an instant with ?at=<instant> (ISO 8601, now, -3d).")
EPOCH_SECONDS = re.compile(rb"(?<![0-9])1[0-9]{9}(?![0-9])")  # a Unix time in seconds, as the slider writes them


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, list[datetime], str]]:
    """A strict server over a ledger written 40, 30 and 20 days ago (lenient then, under faketime):
    the management account's invitations to others before and after one to ALICE. Yields the server,
    the instants of the events ALICE may not see, and ALICE's handshake id."""
    base = tmp_path_factory.mktemp("strict-ui")
    accounts = write_accounts(base / "accounts.toml", {ALICE: [ALICE_KEY]})
    others: list[datetime] = []
    alice_handshake = ""
    for offset in ("-40d", "-30d", "-20d"):
        writer = Server(base / "data", accounts=accounts).start(faketime=offset)
        management = writer.client(MANAGEMENT)
        if offset == "-40d":
            management.create_organization(FeatureSet="ALL")
        if offset == "-30d":
            alice_handshake = management.invite_account_to_organization(
                Target={"Type": "ACCOUNT", "Id": ALICE})["Handshake"]["Id"]
        else:
            for number in range(OTHERS_EVENTS // 2):
                others.append(management.invite_account_to_organization(
                    Target={"Type": "EMAIL", "Id": f"bob{number}@example.com"})["Handshake"]["RequestedTimestamp"])
        assert writer.stop() == 0
    server = Server(base / "data", accounts=accounts, strict=True).start()
    yield server, others, alice_handshake
    assert server.stop() == 0


def pages(alice_handshake: str) -> list[str]:
    paths = ["/ui/", "/ui/organizations", "/ui/analytics", "/ui/audit", f"/ui/handshakes/{alice_handshake}",
             f"/ui/?selected={alice_handshake}"]
    moments = ["", "at=-25d", "at=-35d", "at=-19d", "at=now"]
    return [f"{path}{'&' if '?' in path else '?'}{moment}" if moment else path for path in paths for moment in moments]


def test_a_strict_viewer_sees_no_position_no_log_size_and_no_one_else_s_instant(
        ledger: tuple[Server, list[datetime], str]) -> None:
    server, others, alice_handshake = ledger
    forbidden_days = {t.astimezone(timezone.utc).strftime("%Y-%m-%d").encode() for t in others}
    forbidden_seconds = {int(t.timestamp()) + d for t in others for d in (-1, 0, 1)}
    alice = {"Authorization": basic(*ALICE_KEY)}
    for path in pages(alice_handshake):
        for fragment in (False, True):
            status, headers, body = fetch(server, path, headers={**alice, **({"X-Fragment": "view"} if fragment else {})})
            before_it = "/handshakes/" in path and "at=-35d" in path  # ALICE's invitation did not exist yet
            assert status == (404 if before_it else 200), (path, body[:300])
            text = body + (headers.get("x-moment", "").encode())
            assert b"position" not in text.lower(), path  # no label, no step link, no data-moment key
            assert not forbidden_days & set(re.findall(rb"[0-9]{4}-[0-9]{2}-[0-9]{2}", text)), path
            assert not forbidden_seconds & {int(s) for s in EPOCH_SECONDS.findall(text)}, path
            if before_it:
                continue
            if fragment:
                moment = json.loads(headers["x-moment"])
                assert "position" not in moment and moment["unit"] == "day"
            else:
                assert b"&#9664; day" in body and b"day &#9654;" in body


def test_the_slider_steps_by_calendar_day_and_spans_a_fixed_year(ledger: tuple[Server, list[datetime], str]) -> None:
    server, _, _ = ledger
    alice = {"Authorization": basic(*ALICE_KEY)}
    status, headers, _ = fetch(server, "/ui/?at=2026-06-10T15:30:00Z", headers={**alice, "X-Fragment": "view"})
    moment = json.loads(headers["x-moment"])
    assert status == 200 and not moment["live"]
    assert unescape(moment["back"]) == "/ui/?at=2026-06-10T00%3A00%3A00Z"
    assert unescape(moment["on"]) == "/ui/?at=2026-06-11T00%3A00%3A00Z"
    live = json.loads(fetch(server, "/ui/", headers={**alice, "X-Fragment": "view"})[1]["x-moment"])
    assert live["live"] and live["on"] == "" and "at=" in live["back"]
    _, _, body = fetch(server, "/ui/", headers=alice)
    low = int(re.search(rb'id="instant" min="([0-9]+)"', body).group(1))  # type: ignore[union-attr]
    first = datetime.fromtimestamp(low, timezone.utc)
    assert first.time() == datetime.min.time()  # a UTC midnight, not the first event's instant
    assert timedelta(days=365) <= datetime.now(timezone.utc) - first <= timedelta(days=366)


@pytest.mark.parametrize("query", ["position=1", "position=999999999", "position=0", "at=now&position=3",
                                   "position=-1", "position=x"])
def test_a_position_is_a_400_that_keeps_the_navigation_and_names_no_length(
        ledger: tuple[Server, list[datetime], str], query: str) -> None:
    server, _, _ = ledger
    status, _, body = fetch(server, f"/ui/audit?{query}", headers={"Authorization": basic(*ALICE_KEY)})
    assert status == 400
    html = body.decode()
    shown = re.search(r'<p class="message">(.*?)</p>', html).group(1)  # type: ignore[union-attr]
    assert unescape(shown) == REFUSAL  # the same whatever the position: neither the log's length nor a position in it
    assert 'href="/ui/organizations"' in html and 'id="instant"' in html  # the navigation stays, live
    assert "position" not in html.replace(shown, "")
