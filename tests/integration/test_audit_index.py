"""LookupEvents by ResourceName or ResourceType is an index seek in the caller's history (the
resources table beside the audit table, written in the same transaction), on both stores; a
ledger written before that table existed gets it filled when first opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from freezegun import freeze_time

from ledger import open_ledger
from tests.conftest import ALICE, MANAGEMENT, new_location, store_kind


def by(ledger: Any, account: str, key: str, value: str) -> list[str]:
    client = ledger.client(account, "cloudtrail")
    pages = client.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}], PaginationConfig={"PageSize": 2})
    return [e["EventId"] for page in pages for e in page["Events"]]


def story(ledger: Any) -> dict[str, str]:
    mgmt = ledger.client(MANAGEMENT)
    org = mgmt.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    handshake = mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE})["Handshake"]["Id"]
    ledger.client(ALICE).accept_handshake(HandshakeId=handshake)
    mgmt.remove_account_from_organization(AccountId=ALICE)
    return {"org": org, "handshake": handshake}


QUERIES = [("ResourceName", "handshake"), ("ResourceName", "org"), ("ResourceName", ALICE),
           ("ResourceType", "AWS::Organizations::Account"), ("ResourceType", "AWS::Organizations::Handshake")]


def test_a_ledger_written_before_the_index_gets_it(tmp_path: Path) -> None:
    with new_location(tmp_path) as location, freeze_time("2026-05-01T12:00:00Z") as clock:
        with open_ledger(location) as ledger:
            marks = story(ledger)
            clock.tick(1)
            expected = {(k, v): by(ledger, MANAGEMENT, k, marks.get(v, v)) for k, v in QUERIES}
            assert all(expected.values())
            with ledger.app.recorder.datastore.transaction(commit=True) as cursor:
                cursor.execute(f"DROP TABLE {ledger.app.recorder.resources_table}")
        with open_ledger(location) as reopened:
            assert {(k, v): by(reopened, MANAGEMENT, k, marks.get(v, v)) for k, v in QUERIES} == expected


def test_the_filter_is_an_index_seek(tmp_path: Path) -> None:
    if store_kind() != "sqlite":
        return  # the plan is SQLite's words; PostgreSQL's planner chooses by its statistics
    with new_location(tmp_path) as location, open_ledger(location) as ledger:
        marks = story(ledger)
        recorder = ledger.app.recorder
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN SELECT a.* FROM {recorder.resources_table} r JOIN "
                           f"{recorder.audit_table} a ON a.id = r.audit_id WHERE r.recipient_account_id = ? AND "
                           "r.resource_name = ? ORDER BY r.event_time_us DESC, r.audit_id DESC LIMIT 51",
                           [MANAGEMENT, marks["handshake"]])
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        assert "_resources_by_name" in plan and "TEMP B-TREE" not in plan, plan
