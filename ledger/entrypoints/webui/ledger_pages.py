"""The ledger's lists: handshakes (filters, counts by state, keyset paging, one selected), the
organizations, and the search box that leads to either or to one handshake's page."""

from __future__ import annotations

from typing import Any

from ledger.service_layer.requests import is_valid
from ledger.entrypoints.webui.context import Page, PageRequest, Redirect
from ledger.entrypoints.webui.errors import BadRequest
from ledger.entrypoints.webui.params import KEYSET, TEXT, Rule, choice, shape
from ledger.service_layer.requests import enum_of
from projections.browse import STATES, Filters
from projections.aws_reads import ViewDirectory, handshake_answer

ACTIONS = enum_of("ActionType")  # every handshake action a Filter may name (botocore's model)
PAGE_SIZE = 50
HANDSHAKES_PARAMETERS: dict[str, Rule] = {
    "organization": shape("OrganizationId"), "action": choice(ACTIONS), "state": choice(STATES),
    "recipient": shape("AccountId"), "email": shape("Email"), "after": KEYSET, "selected": shape("HandshakeId"),
}
ORGANIZATIONS_PARAMETERS: dict[str, Rule] = {"after": shape("OrganizationId"), "name": TEXT}
SCAN = 500  # organizations read per query while matching names
SEARCH_PARAMETERS: dict[str, Rule] = {"q": TEXT}


def handshakes_page(request: PageRequest) -> Page:
    """The handshakes visible at the moment, as the Lists would show them, newest first."""
    filters = Filters(
        organization_id=request.value("organization"), action=request.value("action"),
        state=request.value("state"), recipient=request.value("recipient"), email=request.value("email"),
    )
    moment, scope = request.moment, request.scope
    page = request.browser.handshakes(moment, filters, scope, after=request.cursor("after"), limit=PAGE_SIZE)
    shapes = [handshake_answer(row, moment) for row in page.rows]
    last = page.rows[-1] if page.rows else None
    selected_id = request.value("selected")
    selected, selected_note = request.describe(selected_id) if selected_id else (None, None)
    return Page("handshakes.html", {
        "section": "handshakes", "title": "Handshakes", "filters": filters, "actions": ACTIONS, "states": STATES,
        "handshakes": [(shape, row["organization_id"]) for shape, row in zip(shapes, page.rows)],
        "counts": request.browser.counts(moment, filters, scope),
        "next_page": request.here(after=f"{last['requested_us']}.{last['id']}") if page.has_more and last else None,
        "first_page": request.here(after=None) if request.params.get("after") else None,
        "selected_id": selected_id, "selected": selected, "selected_note": selected_note,
    })


def organizations_page(request: PageRequest) -> Page:
    """Organizations at the moment with their member counts; a scope sees its own organization.
    ``name``: only those whose management account's name contains it (any case), one page of them."""
    after, name = request.value("after"), request.value("name")
    directory = ViewDirectory(request.ledger.queries, request.moment)
    if name:
        after, rows = None, named(request, directory, name)[:PAGE_SIZE]
    else:
        rows = request.browser.organizations(request.moment, request.scope, after=after, limit=PAGE_SIZE)
    organizations = [{
        "id": row["organization_id"], "management": row["management_account_id"],
        "name": directory.name_of(row["management_account_id"]),
        "email": directory.email_of(row["management_account_id"]),
        "feature_set": row["feature_set"],
        # ListAccounts is for the management account: a member's scope is not told the count
        "members": row["members"] if request.scope.account_id in (None, row["management_account_id"]) else None,
    } for row in rows[:PAGE_SIZE]]
    return Page("organizations.html", {
        "section": "organizations", "title": "Organizations", "organizations": organizations, "name": name,
        "next_page": request.here(after=rows[PAGE_SIZE - 1]["organization_id"]) if len(rows) > PAGE_SIZE else None,
        "first_page": request.here(after=None) if after else None,
    })


def search(request: PageRequest) -> Redirect:
    """A handshake id opens its page; an account id, organization id or email filters the list."""
    query = request.value("q") or ""
    if is_valid("HandshakeId", query):
        return Redirect(request.link(f"/ui/handshakes/{query}"))
    for shape, param in (("AccountId", "recipient"), ("OrganizationId", "organization"), ("Email", "email")):
        if is_valid(shape, query):
            return Redirect(request.link("/ui/", **{param: query}))
    if query:
        found = named(request, ViewDirectory(request.ledger.queries, request.moment), query)
        if len(found) == 1:
            return Redirect(request.link("/ui/", organization=found[0]["organization_id"]))
        return Redirect(request.link("/ui/organizations", name=query))
    raise BadRequest("Search for a handshake id (h-...), an account id (12 digits), an organization id (o-...), "
                     "an organization's name or an email address.")


def named(request: PageRequest, directory: ViewDirectory, text: str) -> list[Any]:
    """The organizations at the moment (as the scope sees them) whose management account's name
    contains ``text``, in any case; at most PAGE_SIZE + 1 of them."""
    wanted, after = text.casefold(), None
    found: list[Any] = []
    while len(found) <= PAGE_SIZE:
        rows = request.browser.organizations(request.moment, request.scope, after=after, limit=SCAN)
        found += [row for row in rows[:SCAN] if wanted in directory.name_of(row["management_account_id"]).casefold()]
        if len(rows) <= SCAN:
            break
        after = rows[SCAN - 1]["organization_id"]
    return found[:PAGE_SIZE + 1]
