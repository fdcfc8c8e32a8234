"""What a reader meets beyond the lists: an organization found by its name, Notes as text, an error
page that keeps the navigation and the moment, and a word where retention hides handshakes."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser import api
from tests.e2e.conftest import Server

pytestmark = pytest.mark.browser


def test_an_organization_is_found_by_its_name(page: Any, server: Server) -> None:
    page.goto(server.url + "/ui/")
    page.fill("header .search input[name=q]", "acme")
    page.press("header .search input[name=q]", "Enter")
    page.wait_for_url("**/ui/?organization=o-*")
    organization = parse_qs(urlsplit(page.url).query)["organization"][0]
    assert organization == api.organization_of(server, api.DEMO_MANAGEMENTS[0])  # the demo's "Acme Corp"
    assert page.locator("#handshakes tbody tr[data-id]").count() > 0
    page.goto(server.url + "/ui/search?q=no+such+company")
    assert "/ui/organizations?name=" in page.url and "No organization named like" in page.inner_text("#organizations")


def test_notes_are_shown_as_text(page: Any, server: Server) -> None:
    shapes = api.whole_ledger(server)
    noted = next(s for s in shapes if any(r["Type"] == "NOTES" for r in s.get("Resources", [])))
    notes = next(r["Value"] for r in noted["Resources"] if r["Type"] == "NOTES")
    page.goto(server.url + f"/ui/?selected={noted['Id']}")
    shown = page.locator("#selected dd.notes")
    assert shown.is_visible() and shown.inner_text() == notes


def test_an_error_page_keeps_the_navigation_and_the_moment(page: Any, server: Server) -> None:
    response = page.goto(server.url + "/ui/?state=LOST&at=-1w")
    assert response.status == 400 and "Invalid state" in page.inner_text("main")
    moment = json.loads(page.locator("#view").get_attribute("data-moment"))
    assert not moment["live"]
    hrefs = [a.get_attribute("href") for a in page.locator("header nav a").all()]
    assert len(hrefs) == 5 and all(f"at={moment['label'][:10]}" in href for href in hrefs)
    assert page.locator("#step-back").get_attribute("aria-disabled") != "true"
    response = page.goto(server.url + "/ui/?at=garbage")  # the moment itself was the fault: the page is live
    assert response.status == 400 and json.loads(page.locator("#view").get_attribute("data-moment"))["live"]


def test_the_list_says_why_it_counts_fewer_than_analytics(page: Any, server: Server) -> None:
    page.goto(server.url + "/ui/")
    assert "more than 30 days" in page.inner_text("#retention")
