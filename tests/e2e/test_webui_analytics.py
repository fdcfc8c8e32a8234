"""The UI's analytics page at many organizations: the charts draw the top ten and "others", the
table beside them holds every organization, sorted by the column asked for."""

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
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in body.split("<tr>")[1:]]


def test_top_ten_and_others_in_the_charts_every_organization_in_the_table(many: Server) -> None:
    status, _, body = fetch(many, "/ui/analytics")
    page = body.decode()
    assert status == 200
    labels = _charts(page)["acceptance-by-organization"]["labels"]
    assert len(labels) == 11 and labels[-1].startswith("2 other organizations")
    rows = _table(page)
    assert len(rows) == 12 and len({row[0] for row in rows}) == 12
    totals = [int(row[2]) for row in rows]
    assert totals == sorted(totals, reverse=True) and sum(totals) == 12000


@pytest.mark.parametrize("column, index", [("Open", 7), ("Expired", 6)])
def test_the_table_sorts_by_the_column_asked_for(many: Server, column: str, index: int) -> None:
    status, _, body = fetch(many, f"/ui/analytics?sort={column}")
    values = [int(row[index]) for row in _table(body.decode())]
    assert status == 200 and values == sorted(values, reverse=True)


def test_an_unknown_sort_is_a_400(many: Server) -> None:
    assert fetch(many, "/ui/analytics?sort=Nope")[0] == 400
