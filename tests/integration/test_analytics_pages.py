"""The every-organization analytics page in pages: each row once, in the order asked for, with the
links between pages; the whole ledger's page reads the top organizations only (in-process UI)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ledger import open_ledger
from ledger.entrypoints.accounts import Accounts
from ledger.entrypoints.bulk_demo import seed_bulk
from ledger.entrypoints.demo import SPAN, demo_start
from ledger.entrypoints.identity import SignedRequest
from ledger.entrypoints.webui import analytics_page
from ledger.entrypoints.webui.app import WebUI
from ledger.domain.clock import system_clock
from tests.conftest import new_location


def _get(ui: WebUI, path: str) -> str:
    answer = ui.handle(SignedRequest("GET", path, {}, b""))
    assert answer.status == 200, (path, answer.status)
    return answer.body.decode()


def _organizations(page: str) -> list[str]:
    body = page.split('id="by-organization"', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>\s*<td><a href=\"/ui/\?organization=(o-[0-9a-z]+)\">", body)


def test_pages_of_every_organization(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analytics_page, "PAGE_SIZE", 3)
    with new_location(tmp_path) as location, open_ledger(location) as ledger:
        seed_bulk(ledger.app, handshakes=7_000, seed=3, end=demo_start(system_clock.now()) + SPAN, location=location)
        ledger.catch_up()
        ui = WebUI(ledger, Accounts())
        seen: list[str] = []
        path: Any = "/ui/analytics/organizations?sort=OrganizationId"
        while path:
            page = _get(ui, path.replace("&amp;", "&"))
            seen += _organizations(page)
            found = re.search(r'<a href="([^"]+)" rel="next">', page)
            path = found.group(1) if found else None
        assert seen == sorted(seen) and len(seen) == len(set(seen)) == 7
        assert "Page 3 of 3" in page and 'rel="prev"' in page
        assert _organizations(_get(ui, "/ui/analytics/organizations?sort=OrganizationId&page=4")) == []
        top = _organizations(_get(ui, "/ui/analytics"))
        assert len(top) == 7  # seven organizations: all in the top ten, no "others"
