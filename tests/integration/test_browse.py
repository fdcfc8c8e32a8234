"""The UI's queries (``projections/browse.py``) answer what the AWS Lists answer, at any moment:
the whole ledger is every organization's ListHandshakesForOrganization, a filter narrows it as
the API would, a scope is exactly what its account's Lists show, and the counts tally the list."""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterator

import pytest

from ledger import open_ledger
from ledger.domain.clock import system_clock
from ledger.entrypoints import demo
from ledger.entrypoints.facade import Ledger
from projections.analytics import analytics, outcomes_per_day
from projections.browse import STATES, Filters, LedgerBrowser, Scope
from projections.aws_reads import handshake_answer
from ledger.service_layer.requests import enum_of
from tests.conftest import new_location


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, list[str]]]:
    with new_location(tmp_path_factory.mktemp("browse")) as location:
        clock = demo.StepClock(demo.demo_start(system_clock.now()))  # the story ends a day before now
        with open_ledger(location, clock=clock) as ledger:
            story = demo.seed(ledger, clock, handshakes=60, seed=3)
            yield ledger, [org.management for org in story.organizations]


def moments(ledger: Ledger) -> list[Any]:
    head = ledger.view.position()
    return [ledger.moment(), *(ledger.at(position=head * n // 4).moment() for n in (1, 2, 3))]


def every_page(browser: LedgerBrowser, moment: Any, filters: Filters, scope: Scope) -> list[tuple[str, str]]:
    found, after = [], None
    while True:
        page = browser.handshakes(moment, filters, scope, after=after, limit=7)
        found += [(row["id"], handshake_answer(row, moment)["State"]) for row in page.rows]
        if not page.has_more:
            return found
        after = (page.rows[-1]["requested_us"], page.rows[-1]["id"])


def api_list(ledger: Ledger, moment: Any, account: str, operation: str,
             params: dict[str, Any] | None = None) -> list[tuple[str, str, Any]]:
    reader = ledger.at(position=moment.position) if moment.position is not None else ledger
    try:
        pages = reader.client(account).get_paginator(operation).paginate(**(params or {}))
        shapes = [shape for page in pages for shape in page["Handshakes"]]
    except Exception as error:  # AccessDenied, not in use: this account sees nothing there
        assert type(error).__name__ in ("AccessDeniedException", "AWSOrganizationsNotInUseException")
        return []
    return [(s["Id"], s["State"], s["RequestedTimestamp"]) for s in shapes]


def newest_first(items: list[tuple[str, str, Any]]) -> list[tuple[str, str]]:
    unique = {item[0]: item for item in items}
    return [(i, s) for i, s, _ in sorted(unique.values(), key=lambda item: (item[2], item[0]), reverse=True)]


def test_the_whole_ledger_and_its_filters_are_the_api_s_lists(seeded) -> None:
    ledger, managements = seeded
    browser = LedgerBrowser(ledger.queries)
    seen_actions: set[str] = set()
    for moment in moments(ledger):
        per_org = {m: api_list(ledger, moment, m, "list_handshakes_for_organization") for m in managements}
        whole = newest_first([item for items in per_org.values() for item in items])
        assert every_page(browser, moment, Filters(), Scope()) == whole
        counts = browser.counts(moment, Filters(), Scope())
        assert counts == {**dict.fromkeys(STATES, 0), **Counter(s for _, s in whole), "TOTAL": len(whole)}
        for state in STATES:
            assert every_page(browser, moment, Filters(state=state), Scope()) == [w for w in whole if w[1] == state]
        organization = browser.managed_by(managements[0], moment)
        if organization:
            assert every_page(browser, moment, Filters(organization_id=organization), Scope()) == \
                newest_first(per_org[managements[0]])
        for action in enum_of("ActionType"):  # every action a Filter may name, billing transfers' too
            of_action = newest_first([item for m in managements
                                      for item in api_list(ledger, moment, m, "list_handshakes_for_organization",
                                                           {"Filter": {"ActionType": action}})])
            assert every_page(browser, moment, Filters(action=action), Scope()) == of_action
            assert browser.counts(moment, Filters(action=action), Scope()) == \
                {**dict.fromkeys(STATES, 0), **Counter(s for _, s in of_action), "TOTAL": len(of_action)}
            if of_action:
                seen_actions.add(action)
    assert {"INVITE", "ENABLE_ALL_FEATURES", "APPROVE_ALL_FEATURES", "TRANSFER_RESPONSIBILITY"} <= seen_actions


def test_a_recipient_filter_and_a_scope_are_what_the_account_s_lists_show(seeded) -> None:
    ledger, managements = seeded
    browser = LedgerBrowser(ledger.queries)
    members = [f"{200000000001 + n:012d}" for n in range(0, 40, 7)]
    for moment in moments(ledger):
        for account in members + managements[:2]:
            received = api_list(ledger, moment, account, "list_handshakes_for_account")
            assert every_page(browser, moment, Filters(recipient=account), Scope()) == newest_first(received)
            managed = api_list(ledger, moment, account, "list_handshakes_for_organization")
            assert every_page(browser, moment, Filters(), Scope(account)) == newest_first(received + managed)


def test_outcomes_per_day_add_up_to_the_analytics(seeded) -> None:
    ledger, _ = seeded
    moment = ledger.moment()
    rows = ledger.queries.facts(moment)
    days = outcomes_per_day(rows, now=moment.instant)
    totals = analytics(rows, now=moment.instant, by="action")
    for outcome in ("Accepted", "Declined", "Canceled", "Expired"):
        assert sum(day[outcome] for day in days) == sum(row[outcome] for row in totals)
    assert sum(day["Requested"] for day in days) == len(rows)
