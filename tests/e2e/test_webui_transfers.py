"""The web UI's billing transfers over HTTP on the demo's story: who pays for whom at the slider's
moment, a transfer's timeline (recorded events, derived instants marked as derived), and strict
mode showing a viewer only the transfers its account is a side of."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.cli.runner import cli
from tests.e2e.conftest import Server
from tests.e2e.test_webui import fetch

ACME, HOOLI, STARK, GLOBEX = "100000000001", "100000000005", "100000000006", "100000000002"  # the demo's cast
KEYS = {account: (f"AKIATRANSFERS{account[-7:]}", f"secret-{account}") for account in (ACME, HOOLI, GLOBEX)}


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("webui-transfers")
    seeded = cli("demo", "--data", str(base / "data"), "--handshakes", "40", "--json")
    assert seeded.code == 0, seeded.err
    lines = []  # keys only: the accounts file registers nothing
    for account, (key, secret) in KEYS.items():
        lines += ["[[accounts]]", f'id = "{account}"', "", "[[accounts.keys]]", f'access_key_id = "{key}"',
                  f'secret_access_key = "{secret}"', ""]
    accounts = base / "accounts.toml"
    accounts.write_text("\n".join(lines))
    return {"base": base, "summary": seeded.json(), "accounts": accounts}


@pytest.fixture(scope="module")
def ui(story: dict[str, Any]) -> Iterator[Server]:
    running = Server(story["base"] / "data").start()
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="module")
def strict_ui(story: dict[str, Any]) -> Iterator[Server]:
    running = Server(story["base"] / "data", accounts=story["accounts"], strict=True).start()
    yield running
    assert running.stop() == 0


def page(server: Server, path: str, account: str | None = None) -> str:
    headers = {}
    if account is not None:
        key_id, secret = KEYS[account]
        headers["Authorization"] = "Basic " + base64.b64encode(f"{key_id}:{secret}".encode()).decode()
    status, _, body = fetch(server, path, headers=headers)
    assert status == 200, body[:800]
    return body.decode()


def rows(html: str) -> dict[str, dict[str, str]]:
    """The transfers table's rows: id → {status, in effect}."""
    return {m.group(1): {"status": m.group(2), "in_effect": m.group(3)}
            for m in re.finditer(r'<tr data-id="(rt-[0-9a-z]+)" data-status="(\w+)" data-in-effect="(\w+)">', html)}


def test_navigation_links_the_transfers_page(ui: Server) -> None:
    assert 'href="/ui/transfers"' in page(ui, "/ui/")


def test_live_page_shows_who_pays_for_whom(ui: Server, story: dict[str, Any]) -> None:
    tried = story["summary"]["Transfers"]
    html = page(ui, "/ui/transfers")
    found = rows(html)
    assert {found[t]["status"] for t in tried.values()} == {"ACCEPTED", "WITHDRAWN", "DECLINED", "REQUESTED"}
    assert found[tried["transfer in effect"]]["in_effect"] == "yes"
    assert found[tried["transfer declined"]]["in_effect"] == found[tried["transfer awaiting an answer"]]["in_effect"] \
        == "no"
    assert re.search(rf'<p class="pays" data-id="{tried["transfer in effect"]}"><span class="id">{ACME}</span> '
                     rf'pays for <span class="id">{HOOLI}</span>', html)


def test_before_the_start_nobody_pays_and_the_invitation_reads_requested(ui: Server, story: dict[str, Any]) -> None:
    in_effect = story["summary"]["Transfers"]["transfer in effect"]
    shown = page(ui, f"/ui/transfers/{in_effect}")
    found = re.search(r'data-what="Invited">\s*<td[^>]*>[^<]*</td>\s*<td class="when" data-label="Time">([^<]+)</td>',
                      shown)
    assert found is not None
    invited = datetime.fromisoformat(found.group(1).replace("Z", "+00:00"))
    moment = (invited + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    html = page(ui, f"/ui/transfers?at={moment}")
    assert rows(html)[in_effect] == {"status": "REQUESTED", "in_effect": "no"}
    assert 'id="nobody-pays"' in html
    assert rows(page(ui, f"/ui/transfers?at={moment}&status=ACCEPTED")) == {}
    assert rows(page(ui, f"/ui/transfers?at={(invited - timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}")) == {}


def test_filters_read_status_account_and_effect(ui: Server, story: dict[str, Any]) -> None:
    tried = story["summary"]["Transfers"]
    assert set(rows(page(ui, "/ui/transfers?status=WITHDRAWN"))) == {tried["transfer withdrawn"]}
    assert set(rows(page(ui, "/ui/transfers?effect=yes"))) == {tried["transfer in effect"]}
    assert set(rows(page(ui, f"/ui/transfers?account={GLOBEX}"))) == set()
    status, _, body = fetch(ui, "/ui/transfers?status=PAID")
    assert status == 400 and b"Invalid status" in body


def test_a_transfer_s_timeline_marks_derived_instants(ui: Server, story: dict[str, Any]) -> None:
    withdrawn = story["summary"]["Transfers"]["transfer withdrawn"]
    html = page(ui, f"/ui/transfers/{withdrawn}")
    events = re.findall(r'<tr class="(recorded|derived)[^"]*" data-what="(\w+)">', html)
    assert events[:4] == [("recorded", "Invited"), ("recorded", "Accepted"), ("derived", "EffectStarted"),
                          ("recorded", "Withdrawn")]
    marks = re.findall(r'class="mark (mark-\w+)[^"]*" data-kind="\w+" data-when="[^"]+">', html)
    assert marks[:4] == ["mark-event", "mark-event", "mark-derived", "mark-event"]
    labels = re.findall(r'text-anchor="\w+">([^<]+)</text>', html)
    if events[4:]:  # its end passed: derived too; else it is ahead, the withdrawal's EndTimestamp
        assert events[4:] == [("derived", "EffectEnded")] and "EffectEnded (derived)" in labels
    else:
        assert marks[4:] == ["mark-expires"] and "EndTimestamp" in labels
    assert "EffectStarted (derived)" in labels and 'id="effect-band"' in html


def test_an_unanswered_transfer_shows_its_expiry_and_start_ahead(ui: Server, story: dict[str, Any]) -> None:
    requested = story["summary"]["Transfers"]["transfer awaiting an answer"]
    html = page(ui, f"/ui/transfers/{requested}")
    assert re.findall(r'data-what="(\w+)"', html) == ["Invited"]
    labels = re.findall(r'text-anchor="\w+">([^<]+)</text>', html)
    assert labels[:3] == ["Invited", "ExpirationTimestamp", "StartTimestamp"] and 'id="effect-band"' not in html


def test_a_transfer_page_as_of_before_its_invitation_says_so(ui: Server, story: dict[str, Any]) -> None:
    requested = story["summary"]["Transfers"]["transfer awaiting an answer"]
    html = page(ui, f"/ui/transfers/{requested}?at={story['summary']['From'][:10]}T00:00:00Z")
    assert "not yet invited as of this moment" in html


def test_unknown_and_malformed_ids_are_not_found(ui: Server) -> None:
    for path in ("/ui/transfers/rt-0000000000000000", "/ui/transfers/bad", "/ui/transfers/rt-x/y"):
        status, _, body = fetch(ui, path)
        assert status == 404 and b"Traceback" not in body, path


def test_strict_viewer_sees_only_its_own_transfers(strict_ui: Server, story: dict[str, Any]) -> None:
    tried = story["summary"]["Transfers"]
    assert rows(page(strict_ui, "/ui/transfers", GLOBEX)) == {}
    hooli = rows(page(strict_ui, "/ui/transfers", HOOLI))
    assert set(hooli) == {tried["transfer in effect"], tried["transfer declined"], tried["transfer awaiting an answer"]}
    assert set(rows(page(strict_ui, "/ui/transfers", ACME))) == {tried["transfer in effect"], tried["transfer withdrawn"]}
    assert "is paid for" in page(strict_ui, "/ui/transfers", HOOLI)
    status, _, _ = fetch(strict_ui, f"/ui/transfers/{tried['transfer withdrawn']}", headers={
        "Authorization": "Basic " + base64.b64encode(":".join(KEYS[HOOLI]).encode()).decode()})
    assert status == 404
    assert "DescribeResponsibilityTransfer answer" in page(strict_ui, f"/ui/transfers/{tried['transfer in effect']}",
                                                          HOOLI)
    status, _, _ = fetch(strict_ui, "/ui/transfers")
    assert status == 401
