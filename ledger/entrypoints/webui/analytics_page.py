"""Analytics as charts: outcomes per day, acceptance rate and time to decision per organization and
per action, as of the slider's moment (the whole ledger's from the rollup, ``projections/rollup_reads.py``;
a scoped account's computed in the store by ``projections/analytics.py``;
this page only shapes the figures into chart specs that ``static/app.js`` hands to Chart.js, and
tables).

``/ui/analytics`` shows the ``TOP`` organizations by handshakes and "others" (the whole ledger's
counts less the top's; percentiles can't be summed, so none), in the charts and in the table: its
cost follows those ten organizations, not the thousand a ledger may hold (the ranking reads one
counter per organization). ``/ui/analytics/organizations`` holds every organization, sorted by any
column (``?sort=``), ``PAGE_SIZE`` rows a page (``?page=``): sorting by a percentile needs every
organization's figures, so that page's cost follows the number of organizations."""

from __future__ import annotations

from typing import Any

from ledger.entrypoints.webui.context import Page, PageRequest
from ledger.entrypoints.webui.params import Rule, choice, pattern
from projections.analytics import analytics_of, outcomes_per_day_of
from projections.aws_reads import ViewDirectory
from projections.rollup_reads import rollup_analytics, rollup_overview, top_organizations

TOP = 10  # organizations drawn one by one; the rest are "others"
OTHERS = "others"
SORTS = ("Total", "Accepted", "Declined", "Canceled", "Expired", "Open", "AcceptanceRate", "DecisionSecondsP50",
         "DecisionSecondsP90", "OrganizationId", "Action")

OUTCOME_COLORS = {"Accepted": "#2e7d32", "Declined": "#c62828", "Canceled": "#8d8d8d", "Expired": "#ef6c00"}
ACTION_COLORS = {"INVITE": "#1565c0", "ENABLE_ALL_FEATURES": "#6a1b9a", "APPROVE_ALL_FEATURES": "#00838f"}
HOUR = 3600.0
PAGE_SIZE = 100  # rows of the every-organization table per page
PARAMETERS: dict[str, Rule] = {}
ORGANIZATIONS_PARAMETERS: dict[str, Rule] = {"sort": choice(SORTS),
                                             "page": pattern(r"[1-9][0-9]{0,5}", "a page number from 1 to 999999")}


def analytics_page(request: PageRequest) -> Page:
    moment = request.moment
    view = request.ledger.view
    if request.scope.account_id is None:  # the whole ledger: the rollup's counters and an hour's or day's rows
        chosen, organizations = top_organizations(view, moment, TOP)
        top = rollup_analytics(view, moment, by="organization", per_day=False, organizations=chosen)
        by_action, per_day = rollup_overview(view, moment)
        others = _others(by_action, top)
    else:  # what one account may see: its handshakes, grouped by the store
        where = request.browser.facts_where(moment, request.scope)
        by_organization = analytics_of(view, where, now=moment.instant, by="organization")
        by_action = analytics_of(view, where, now=moment.instant, by="action")
        per_day = outcomes_per_day_of(view, where, now=moment.instant)
        organizations = len({r["OrganizationId"] for r in by_organization})
        top, others = _top(by_organization)
    directory = ViewDirectory(request.ledger.queries, moment)
    names = {org: _organization_name(request, directory, org) for org in sorted({r["OrganizationId"] for r in top})}
    if others:
        names[OTHERS] = f"{organizations - len(names)} other organizations"
    shown = top + others
    charts = [
        _per_day(per_day),
        _per_organization("acceptance-by-organization", "Acceptance rate per organization (% of ended)", names,
                          shown, lambda r: _percent(r["AcceptanceRate"]), "% accepted"),
        _per_organization("decision-by-organization", "Time to decision per organization (median, hours)", names,
                          shown, lambda r: _hours(r["DecisionSecondsP50"]), "hours"),
        _bars("acceptance-by-action", "Acceptance rate per action (% of ended)", [r["Action"] for r in by_action],
              [("% accepted", [_percent(r["AcceptanceRate"]) for r in by_action], "#1565c0")], "% accepted"),
        _bars("decision-by-action", "Time to decision per action (hours)", [r["Action"] for r in by_action],
              [("median", [_hours(r["DecisionSecondsP50"]) for r in by_action], "#1565c0"),
               ("90th percentile", [_hours(r["DecisionSecondsP90"]) for r in by_action], "#90caf9")], "hours"),
    ]
    return Page("analytics.html", {
        "section": "analytics", "title": "Analytics", "charts": charts, "by_action": by_action,
        "by_organization": _sorted(top, "Total") + others, "names": names, "organizations": organizations,
        "handshakes": sum(r["Total"] for r in by_action),
        "every_organization": request.link("/ui/analytics/organizations"),
    })


def organizations_page(request: PageRequest) -> Page:
    """Every organization's figures (per action), sorted by ``?sort=``, ``PAGE_SIZE`` a page."""
    moment, view = request.moment, request.ledger.view
    sort, page = request.value("sort") or "Total", int(request.value("page") or 1)
    if request.scope.account_id is None:
        rows = rollup_analytics(view, moment, by="organization", per_day=False)
    else:
        rows = analytics_of(view, request.browser.facts_where(moment, request.scope), now=moment.instant,
                            by="organization")
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    shown = _sorted(rows, sort)[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    directory = ViewDirectory(request.ledger.queries, moment)
    names = {org: _organization_name(request, directory, org) for org in sorted({r["OrganizationId"] for r in shown})}
    return Page("analytics_organizations.html", {
        "section": "analytics", "title": "Analytics per organization", "by_organization": shown, "names": names,
        "sort": sort, "sort_links": {column: request.here(sort=column, page=None) for column in SORTS},
        "page": page, "pages": pages, "rows": len(rows),
        "previous": request.here(page=page - 1) if page > 1 else None,
        "next": request.here(page=page + 1) if page < pages else None,
    })


def _sorted(rows: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    """Rows by ``column``: ids ascending, figures descending (rows without a figure last), ties by key."""
    rows = sorted(rows, key=lambda r: (r["OrganizationId"], r["Action"]))
    if column in ("OrganizationId", "Action"):
        return sorted(rows, key=lambda r: r[column])
    return sorted(rows, key=lambda r: (r[column] is not None, r[column] or 0), reverse=True)


def _others(by_action: list[dict[str, Any]], top: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per action, the whole ledger's counts less the top organizations' ("others"; none if nothing is left)."""
    summed: list[dict[str, Any]] = []
    for whole in by_action:
        into = {"OrganizationId": OTHERS, "Action": whole["Action"], **{c: whole[c] for c in COUNTED}}
        for row in top:
            if row["Action"] == whole["Action"]:
                for column in COUNTED:
                    into[column] -= row[column]
        if into["Total"]:
            summed.append(_rated(into))
    return summed


def _rated(into: dict[str, Any]) -> dict[str, Any]:
    ended = into["Accepted"] + into["Declined"] + into["Canceled"] + into["Expired"]
    into.update({"AcceptanceRate": round(into["Accepted"] / ended, 4) if ended else None,
                 "DecisionSecondsP50": None, "DecisionSecondsP90": None})
    return into


def _top(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of the ``TOP`` organizations by handshakes, and the rest summed per action as "others"."""
    totals: dict[str, int] = {}
    for row in rows:
        totals[row["OrganizationId"]] = totals.get(row["OrganizationId"], 0) + row["Total"]
    chosen = set(sorted(totals, key=lambda org: (-totals[org], org))[:TOP])
    summed: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["OrganizationId"] in chosen:
            continue
        into = summed.setdefault(row["Action"], {"OrganizationId": OTHERS, "Action": row["Action"],
                                                 **dict.fromkeys(COUNTED, 0)})
        for column in COUNTED:
            into[column] += row[column]
    return [r for r in rows if r["OrganizationId"] in chosen], [_rated(into) for into in summed.values()]


COUNTED = ("Total", "Accepted", "Declined", "Canceled", "Expired", "Open")


def _per_day(days: list[dict[str, Any]]) -> dict[str, Any]:
    """Stacked bars of the outcomes on the day each handshake ended, and a line of requests."""
    labels = [day["Day"] for day in days]
    datasets = [{"label": outcome, "data": [day[outcome] for day in days], "color": color, "stack": "ended"}
                for outcome, color in OUTCOME_COLORS.items()]
    datasets.append({"label": "Requested", "data": [day["Requested"] for day in days], "color": "#1565c0",
                     "type": "line"})
    return {"id": "outcomes-per-day", "title": "Outcomes per day (ended that day) and requests",
            "labels": labels, "datasets": datasets, "y": "handshakes", "stacked": True}


def _per_organization(chart_id: str, title: str, names: dict[str, str], rows: list[dict[str, Any]],
                      value: Any, axis: str) -> dict[str, Any]:
    """Grouped bars: one bar per action within each organization."""
    organizations = sorted(names, key=lambda org: (org == OTHERS, org))
    found = {(r["OrganizationId"], r["Action"]): value(r) for r in rows}
    series = [(action, [found.get((org, action)) for org in organizations], color)
              for action, color in ACTION_COLORS.items() if any((org, action) in found for org in organizations)]
    return _bars(chart_id, title, [f"{names[org]} ({org})" for org in organizations], series, axis)


def _bars(chart_id: str, title: str, labels: list[str], series: list[tuple[str, list[Any], str]],
          axis: str) -> dict[str, Any]:
    return {"id": chart_id, "title": title, "labels": labels, "y": axis, "stacked": False,
            "datasets": [{"label": label, "data": data, "color": color} for label, data, color in series]}


def _organization_name(request: PageRequest, directory: ViewDirectory, organization_id: str) -> str:
    row = request.ledger.queries.organization(organization_id, request.moment)
    return directory.name_of(row["management_account_id"]) if row else organization_id


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(100 * rate, 1)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / HOUR, 1)
