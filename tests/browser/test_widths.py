"""Every page at every width: from a phone (420 px) to a wide screen (1,920 px), nothing scrolls
sideways and the navigation stays reachable. ``HANDSHAKE_LEDGER_SCREENSHOTS=docs/screenshots``
keeps a picture of each page at 420, 1,024 and 1,400 px there (``<page>-<width>.png``)."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.browser.conftest import screenshot
from tests.e2e.conftest import Server

pytestmark = pytest.mark.browser

WIDTHS = (420, 1024, 1400, 1920)
PICTURED = (420, 1024, 1400)
PAGES = {  # name: address (``{id}``: a handshake of the demo with children; ``{org}``: its organization;
    # ``{transfer}``: the demo's withdrawn billing transfer)
    "handshakes": "/ui/",
    "handshakes-selected": "/ui/?selected={id}",
    "handshake": "/ui/handshakes/{id}",
    "organizations": "/ui/organizations",
    "transfers": "/ui/transfers",
    "transfer": "/ui/transfers/{transfer}",
    "analytics": "/ui/analytics",
    "analytics-organizations": "/ui/analytics/organizations",
    "audit": "/ui/audit",
    "audit-refused": "/ui/audit?outcome=refused",
    "error": "/ui/?state=LOST&at=-1w",
    "not-found": "/ui/handshakes/h-0000000000000000?at=-1w",
}


@pytest.fixture(scope="module")
def sample(browser: Any, server: Server) -> Iterator[dict[str, str]]:
    """An ENABLE_ALL_FEATURES handshake (the oldest: it has children and a long history)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url + "/ui/?action=ENABLE_ALL_FEATURES")
    row = page.locator("#handshakes tbody tr[data-id]").last
    found = {"id": row.get_attribute("data-id") or "", "org": row.locator("td").nth(3).inner_text()}
    page.goto(server.url + "/ui/transfers?status=WITHDRAWN")
    found["transfer"] = page.locator("#transfers tbody tr[data-id]").first.get_attribute("data-id") or ""
    assert found["transfer"].startswith("rt-")
    yield found
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES)
def test_no_page_scrolls_sideways(browser: Any, server: Server, sample: dict[str, str], name: str,
                                  width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.goto(server.url + PAGES[name].format(**sample))
        if name == "analytics":
            page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('outcomes-per-day'))")
        overflow = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert overflow[0] <= overflow[1], f"{name} at {width} px is {overflow[0]} px wide"
        wide = page.evaluate("""() => {
          const scrolls = (e) => { for (let a = e.parentElement; a; a = a.parentElement)  // inside a box that scrolls
            if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX)) return true; return false; };
          return [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5 && e.checkVisibility() && !scrolls(e))
            .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)); }""")
        assert wide == [], f"{name} at {width} px: cut off at the right: {wide}"
        for link in page.locator("header.top nav a").all():  # the navigation is all there, inside the width
            box = link.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        if width in PICTURED:
            screenshot(page, f"{name}-{width}")
    finally:
        context.close()
