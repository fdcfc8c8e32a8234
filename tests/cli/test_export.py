"""``handshake-ledger export``: the history as Parquet, read back by DuckDB, equal to the API's answers
at the same moment; bad input is one line, exit 2, and nothing written."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ledger import open_ledger
from tests.cli.conftest import Demo
from tests.cli.runner import cli
from tests.cli.test_errors import one_line


def exported(demo: Demo, folder: Path, *as_of: str) -> Any:
    done = demo.run("export", str(folder), *as_of)
    assert done.code == 0, done.err
    assert done.out.startswith("Wrote handshakes.parquet (") and done.out.rstrip().endswith(f"to {folder}.")
    return duckdb.connect()


def rows(db: Any, sql: str) -> list[dict[str, Any]]:
    cursor = db.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


@pytest.mark.parametrize("weeks_ago", [3, 0])
def test_the_handshakes_equal_describe_handshake_then(demo: Demo, tmp_path: Path, weeks_ago: int) -> None:
    when = (datetime.now(timezone.utc) - timedelta(weeks=weeks_ago)).replace(microsecond=0)
    folder = tmp_path / "tables"
    db = exported(demo, folder, "--as-of", when.isoformat())
    table = rows(db, f"SELECT * FROM '{folder}/handshakes.parquet' ORDER BY RequestedTimestamp, Id")
    with open_ledger(demo.data) as ledger:
        past = ledger.at(when)
        assert table, "the demo has handshakes by then"
        assert {row["Id"] for row in table} == {row["id"] for row in past.queries.facts(past.moment())
                                                if row["requested_us"] <= past.moment().instant_us}
        hidden = 0
        for row in table:
            client = past.client(row["SenderAccountId"])
            if not row["VisibleInApi"]:  # past retention: the API says not found
                with pytest.raises(client.exceptions.HandshakeNotFoundException):
                    client.describe_handshake(HandshakeId=row["Id"])
                hidden += 1
                continue
            answer = client.describe_handshake(HandshakeId=row["Id"])["Handshake"]
            assert (row["Arn"], row["State"], row["Action"]) == (answer["Arn"], answer["State"], answer["Action"])
            assert row["RequestedTimestamp"] == answer["RequestedTimestamp"]
            assert row["ExpirationTimestamp"] == answer["ExpirationTimestamp"]
            assert row["Parties"] == answer["Parties"] and json.loads(row["Resources"]) == answer["Resources"]
        for organization_id in {row["OrganizationId"] for row in table}:  # the List shows exactly the visible ones
            listed = _listed(past, organization_id)
            if listed is not None:
                assert listed == sorted(r["Id"] for r in table if r["OrganizationId"] == organization_id
                                        and r["VisibleInApi"])
        assert hidden < len(table)


def _listed(past: Any, organization_id: str) -> list[str] | None:
    """The ids ListHandshakesForOrganization answers then (None: the organization is gone by then)."""
    row = past.queries.organization(organization_id, past.moment())
    if row is None or row["deleted"]:
        return None
    pages = past.client(row["management_account_id"]).get_paginator("list_handshakes_for_organization").paginate()
    return sorted(handshake["Id"] for page in pages for handshake in page["Handshakes"])


def test_versions_events_and_audit(demo: Demo, tmp_path: Path) -> None:
    folder = tmp_path / "tables"
    db = exported(demo, folder)
    with open_ledger(demo.data) as ledger:
        feed = list(ledger.events())
        calls = list(ledger.trail.calls())
    events = rows(db, f"SELECT position, type, handshake_id FROM '{folder}/events.parquet' ORDER BY position")
    assert [(e["position"], e["type"], e["handshake_id"]) for e in events] == [
        (r["position"], r["type"], r["handshake_id"]) for r in feed]
    [[audited, names]] = db.execute(f"SELECT count(*), count(DISTINCT eventName) FROM '{folder}/audit.parquet'").fetchall()
    assert audited == len(calls) and names == len({call.event_name for call in calls})
    versions = rows(db, f"SELECT id, count(*) AS n, count(*) FILTER (WHERE valid_to IS NULL) AS current "
                        f"FROM '{folder}/handshake_versions.parquet' GROUP BY id")
    assert all(v["current"] == 1 for v in versions)  # one version valid at the moment, the others closed
    handshake_events = sum(1 for r in feed if r["handshake_id"])
    assert sum(v["n"] for v in versions) <= handshake_events


def test_a_folder_that_is_not_empty(demo: Demo, tmp_path: Path) -> None:
    (tmp_path / "kept.txt").write_text("mine")
    message = one_line(demo.run("export", str(tmp_path)), 2)
    assert message == f"{tmp_path} exists and is not an empty folder: export writes into a new one"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]


@pytest.mark.parametrize("when", ["-3x", "10000-01-01", "yesterday"])
def test_an_instant_that_cant_be_read(demo: Demo, tmp_path: Path, when: str) -> None:
    message = one_line(demo.run("export", str(tmp_path / "out"), "--as-of", when), 2)
    assert message.startswith("argument --as-of: invalid instant")
    assert list(tmp_path.iterdir()) == []


def test_no_ledger_no_files(tmp_path: Path) -> None:
    one_line(cli("export", str(tmp_path / "out"), "--data", str(tmp_path / "none")), 1)
    assert list(tmp_path.iterdir()) == []
