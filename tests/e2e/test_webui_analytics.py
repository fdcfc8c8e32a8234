"""The UI's analytics page at many organizations: the charts and the table draw the top ten and
"others"; the page of every organization holds them all, sorted by the column asked for, in pages."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Iterator

import pytest

from tests.cli.runner import cli
from tests.e2e.conftest import Server
from tests.e2e.test_webui import fetch


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("many") / "data"
    assert cli("demo", "--data", str(data), "--handshakes", "12000", timeout=300).code == 0  # 12 organizations
    running = Server(data).start()
    yield running
    assert running.stop() == 0


def _charts(page: str) -> dict[str, dict]:
    specs = [json.loads(html.unescape(m)) for m in re.findall(r'data-chart="([^"]*)"', page)]
    return {spec["id"]: spec for spec in specs}


def _table(page: str) -> list[list[str]]:
    body = page.split('id="by-organization"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [[re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in body.split("<tr>")[1:]]


def test_top_ten_and_others_in_the_charts_and_the_table(many: Server) -> None:
    status, _, body = fetch(many, "/ui/analytics")
    page = body.decode()
    assert status == 200
    labels = _charts(page)["acceptance-by-organization"]["labels"]
    assert len(labels) == 11 and labels[-1].startswith("2 other organizations")
    rows = _table(page)
    assert len(rows) == 11 and rows[-1][0] == "2 other organizations (others)"
    totals = [int(row[2]) for row in rows]
    assert totals[:10] == sorted(totals[:10], reverse=True) and sum(totals) == 12000
    organization = re.search(r"\((o-[0-9a-z]+)\)", rows[0][0]).group(1)  # type: ignore[union-attr]
    assert f'href="/ui/?organization={organization}"' in page  # each organization links to its handshakes
    _, _, every = fetch(many, "/ui/analytics/organizations")
    by_organization = {row[0]: row[2:] for row in _table(every.decode())}
    for row in rows[:10]:  # the top ten's figures, as the every-organization page gives them
        assert by_organization[row[0]] == row[2:]
    others = [sorted(by_organization.values(), key=lambda r: -int(r[0]))[10:]]
    assert int(rows[-1][2]) == sum(int(r[0]) for r in others[0]) and min(totals[:10]) >= int(others[0][0][0])


def test_every_organization_on_its_page(many: Server) -> None:
    status, _, body = fetch(many, "/ui/analytics/organizations")
    rows = _table(body.decode())
    assert status == 200 and len(rows) == 12 and len({row[0] for row in rows}) == 12
    totals = [int(row[2]) for row in rows]
    assert totals == sorted(totals, reverse=True) and sum(totals) == 12000
    assert "Page 1 of 1" in body.decode()


@pytest.mark.parametrize("column, index", [("Open", 7), ("Expired", 6)])
def test_the_table_sorts_by_the_column_asked_for(many: Server, column: str, index: int) -> None:
    status, _, body = fetch(many, f"/ui/analytics/organizations?sort={column}")
    values = [int(row[index]) for row in _table(body.decode())]
    assert status == 200 and values == sorted(values, reverse=True)


@pytest.mark.parametrize("query", ["sort=Nope", "page=0", "page=x", "page=9999999"])
def test_an_unknown_sort_or_page_is_a_400(many: Server, query: str) -> None:
    assert fetch(many, f"/ui/analytics/organizations?{query}")[0] == 400
