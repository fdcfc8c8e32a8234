"""demo: a realistic ledger in seconds, and a summary that says what to try."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli.conftest import Demo
from tests.cli.runner import cli


def test_summary_covers_every_story(demo: Demo) -> None:
    summary = demo.summary
    assert 150 <= summary["Handshakes"] <= 260 and summary["Events"] > summary["Handshakes"]
    assert len(summary["Organizations"]) >= 5
    assert {o["FeatureSet"] for o in summary["Organizations"]} == {"ALL", "CONSOLIDATED_BILLING"}
    assert set(summary["Try"]) == {
        "invitation accepted", "invitation accepted by email", "invitation declined", "invitation canceled",
        "invitation left to expire", "invitation still open", "all features, finalized", "all features, canceled",
        "all features, awaiting approvals",
    }


def test_story_spreads_over_weeks(demo: Demo) -> None:
    per_day = {day for row in demo.run("analytics", "--by", "action", "--json").json()["Analytics"]
               for day in row["RequestsPerDay"]}
    assert len(per_day) >= 35


def test_text_summary_names_organizations_and_next_commands(tmp_path: Path) -> None:
    result = cli("demo", "--data", str(tmp_path / "small"), "--handshakes", "40")
    assert result.code == 0, result.err
    assert result.out.startswith(f"Seeded {tmp_path / 'small'}: ")
    assert "ORGANIZATION  MANAGEMENT" in result.out and "Handshakes to try:" in result.out
    assert f"handshake-ledger analytics --by action --data {tmp_path / 'small'}" in result.out


def test_story_includes_billing_transfers_of_every_ending(demo: Demo) -> None:
    transfers = demo.summary["Transfers"]
    assert set(transfers) == {"transfer in effect", "transfer withdrawn", "transfer declined",
                              "transfer awaiting an answer"}
    listed = {row["Id"]: row for row in demo.run("transfers", "--json").json()["ResponsibilityTransfers"]}
    assert {listed[t]["Status"] for t in transfers.values()} == {"ACCEPTED", "WITHDRAWN", "DECLINED", "REQUESTED"}
    assert listed[transfers["transfer in effect"]]["InEffect"] is True
    shown = demo.run("show", transfers["transfer withdrawn"])
    assert shown.code == 0, shown.err
    assert "Withdrawn" in shown.out and "EffectStarted*" in shown.out


def test_text_summary_names_a_transfer_to_show(tmp_path: Path) -> None:
    result = cli("demo", "--data", str(tmp_path / "small"), "--handshakes", "40")
    assert result.code == 0, result.err
    assert "Billing transfers to try:" in result.out
    assert re.search(rf"handshake-ledger show rt-[0-9a-z]+ --data {re.escape(str(tmp_path / 'small'))}", result.out)


def test_analytics_of_transfers_count_the_story_s_transfers(demo: Demo) -> None:
    answer = demo.run("analytics", "--transfers", "--json").json()["Transfers"]
    assert answer["Total"] == len(demo.summary["Transfers"]) == 4
    assert {s: n for s, n in answer["ByStatus"].items() if n} == {"REQUESTED": 1, "ACCEPTED": 1, "DECLINED": 1,
                                                                   "WITHDRAWN": 1}
    assert answer["Answered"] == 3 and answer["AnswerSecondsP50"] == 20 * 3600  # the story answers after 20 hours
    table = demo.run("analytics", "--transfers")
    assert table.out.splitlines()[0].split()[:3] == ["TOTAL", "REQUESTED", "ACCEPTED"]
    refused = demo.run("analytics", "--transfers", "--csv")
    assert refused.code == 2 and "--transfers" in refused.err
