"""The web UI in a real browser: the list and its filters, a handshake's timeline against its
history, the time slider against the API as of the instant it points at, a chart, the audit,
and a strict viewer's share."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from ledger import open_ledger
from tests.browser import api
from tests.browser.conftest import MANAGEMENT_KEY, MEMBER_KEY, screenshot
from tests.e2e.conftest import Server

pytestmark = pytest.mark.browser


def rows(page: Any, table: str = "#handshakes") -> list[tuple[str, str]]:
    """(Id, State) of the list's rows on the page."""
    return [(row.get_attribute("data-id"), row.get_attribute("data-state"))
            for row in page.locator(f"{table} tbody tr[data-id]").all()]


def all_rows(page: Any) -> list[tuple[str, str]]:
    """Every row, following the keyset pages."""
    found = rows(page)
    while page.locator("#next-page").count():
        page.click("#next-page")
        found += rows(page)
    return found


def counts(page: Any) -> dict[str, int]:
    return {b.get_attribute("data-count"): int(b.inner_text()) for b in page.locator("[data-count]").all()}


def moment(page: Any) -> dict[str, Any]:
    return json.loads(page.locator("#view").get_attribute("data-moment"))


def test_the_list_is_the_api_s_answers_and_filters_narrow_it(page: Any, server: Server) -> None:
    page.goto(server.url + "/ui/")
    screenshot(page, "handshakes")
    expected = [(s["Id"], s["State"]) for s in api.whole_ledger(server)]
    assert all_rows(page) == expected
    page.goto(server.url + "/ui/")
    assert counts(page) == {"TOTAL": len(expected), **{state: 0 for state in
                            ("REQUESTED", "OPEN", "ACCEPTED", "DECLINED", "CANCELED", "EXPIRED")},
                            **Counter(state for _, state in expected)}
    page.select_option("#filters select[name=state]", "DECLINED")
    page.fill("#filters input[name=organization]", api.organization_of(server, api.DEMO_MANAGEMENTS[0]))
    page.click("#filters button[type=submit]")
    shown = rows(page)
    organization = api.listed(server, api.DEMO_MANAGEMENTS[0], "list_handshakes_for_organization")
    assert shown and shown == [(s["Id"], s["State"]) for s in organization if s["State"] == "DECLINED"]
    assert counts(page)["TOTAL"] == counts(page)["DECLINED"] == len(shown)


def test_a_handshake_s_timeline_holds_its_history(page: Any, server: Server, demo_data: str) -> None:
    page.goto(server.url + "/ui/?action=ENABLE_ALL_FEATURES")
    handshake_id = rows(page)[-1][0]  # the oldest: canceled or finalized, with children
    page.click(f"#handshakes tr[data-id={handshake_id}] a.select")
    page.click("#selected h2 a")
    page.wait_for_selector("#timeline")
    screenshot(page, "handshake")
    with open_ledger(demo_data) as ledger:
        history = ledger.history(handshake_id)
    shown = [[cell.inner_text() for cell in row.locator("td").all()[:6]]
             for row in page.locator("#events tbody tr").all()]
    assert shown == [[str(e.version or "—"), api.when(e.timestamp), e.what + (" derived" if e.derived else ""),
                      e.actor or "—", e.request_id or "—", e.state] for e in history]
    marks = page.locator("#timeline g[data-kind=event]").count()
    assert marks == len([e for e in history if not e.derived])
    assert page.locator("#timeline g[data-kind=retention]").count() == 1
    assert sorted(a.inner_text() for a in page.locator("#children a").all()) == sorted(history[0].details["children"])
    assert page.locator(".versions details").count() == len([e for e in history if e.version])


def test_the_slider_shows_the_ledger_as_the_api_answered_then(page: Any, server: Server) -> None:
    page.goto(server.url + "/ui/")
    live = moment(page)
    slider = page.locator("#instant").bounding_box()
    page.mouse.move(slider["x"] + slider["width"] * 0.1, slider["y"] + slider["height"] / 2)
    page.mouse.down()
    page.mouse.move(slider["x"] + slider["width"] * 0.55, slider["y"] + slider["height"] / 2, steps=8)
    page.mouse.up()
    page.wait_for_function("(live) => !JSON.parse(document.getElementById('view').dataset.moment).live "
                           "&& document.getElementById('view').dataset.moment !== live", arg=json.dumps(live))
    page.wait_for_load_state("networkidle")
    then = moment(page)
    assert not then["live"] and then["position"] < live["position"]
    instant = page.evaluate("new URL(location.href).searchParams.get('at')")
    expected = [(s["Id"], s["State"]) for s in api.whole_ledger(server, instant)]
    assert rows(page) == expected[:50]
    assert counts(page)["TOTAL"] == len(expected)
    assert {k: v for k, v in counts(page).items() if v and k != "TOTAL"} == Counter(s for _, s in expected)
    screenshot(page, "slider")
    page.click("#step-on")  # one event on
    page.wait_for_function("(p) => JSON.parse(document.getElementById('view').dataset.moment).position === p",
                           arg=then["position"] + 1)
    assert float(page.locator("#view").get_attribute("data-step-ms")) > 0


def test_a_chart_is_drawn_with_data(page: Any, server: Server) -> None:
    page.goto(server.url + "/ui/analytics")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('outcomes-per-day'))")
    points = page.evaluate("""() => Chart.getChart(document.getElementById('outcomes-per-day')).data.datasets
                                     .flatMap(d => d.data).filter(v => v > 0).length""")
    painted = page.evaluate("""() => { const c = document.getElementById('outcomes-per-day');
        const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) n++; return n; }""")
    assert points > 10 and painted > 1000
    screenshot(page, "analytics")


def test_the_audit_highlights_refused_calls(page: Any, server: Server, demo_data: str) -> None:
    page.goto(server.url + "/ui/audit?outcome=refused")
    with open_ledger(demo_data) as ledger:
        refused = ledger.app.recorder.select_calls("error_code IS NOT NULL", order="event_time_us DESC, event_id DESC",
                                                   limit=50)
    shown = page.locator("#audit tbody tr[data-operation]")
    assert shown.count() == len(refused) > 0
    assert page.locator("#audit tbody tr.refused").count() == len(refused)
    page.goto(server.url + "/ui/audit")
    screenshot(page, "audit")
    page.goto(server.url + "/ui/organizations")
    assert page.locator("#organizations tbody tr[data-id]").count() == len(api.DEMO_MANAGEMENTS)
    screenshot(page, "organizations")


@pytest.mark.parametrize("account, key", [("100000000001", MANAGEMENT_KEY), ("200000000001", MEMBER_KEY)])
def test_strict_shows_an_account_what_the_api_shows_it(browser: Any, strict_server: Server, account: str,
                                                       key: tuple[str, str]) -> None:
    context = browser.new_context(http_credentials={"username": key[0], "password": key[1]})
    try:
        page = context.new_page()
        page.goto(strict_server.url + "/ui/")
        assert page.locator(".viewer").inner_text() == f"account {account}"
        assert all_rows(page) == [(s["Id"], s["State"]) for s in api.seen_by(strict_server, *key)]
    finally:
        context.close()
