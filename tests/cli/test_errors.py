"""Errors are one line on stderr: exit 2 for a bad command line, 1 for what the ledger can't do."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from freezegun import freeze_time

from ledger.entrypoints.cli_commands import instant
from tests.cli.conftest import Demo
from tests.cli.runner import Result, cli

PREFIX = "handshake-ledger: error: "


def one_line(result: Result, code: int) -> str:
    assert result.code == code, (result.out, result.err)
    assert len(result.error_lines) == 1 and result.error_lines[0].startswith(PREFIX), result.err
    assert "Traceback" not in result.err and result.out == ""
    return result.error_lines[0][len(PREFIX):]


class TestBadArguments:
    def test_bad_instant(self, demo: Demo) -> None:
        message = one_line(demo.run("show", demo.tried("invitation accepted"), "--as-of", "last tuesday"), 2)
        assert message.startswith("argument --as-of: invalid instant 'last tuesday'")

    def test_missing_handshake_id(self, demo: Demo) -> None:
        assert "HANDSHAKE_ID" in one_line(demo.run("history"), 2)

    def test_unknown_option(self, demo: Demo) -> None:
        assert one_line(demo.run("analytics", "--colour"), 2) == "unrecognized arguments: --colour"

    @pytest.mark.parametrize("after", ["99999999999999999999999", "9223372036854775808", "-1", "1e3", "٣"])
    def test_a_position_a_store_cannot_hold_is_a_bad_argument(self, demo: Demo, after: str) -> None:
        assert "invalid number" in one_line(demo.run("events", "--after", after), 2)

    @pytest.mark.parametrize("moment", ["0001-01-01", "1969-12-31T23:59:59Z", "+99999d", "9999-12-31"])
    def test_an_instant_out_of_range_is_a_bad_argument(self, demo: Demo, moment: str) -> None:
        assert "out of range" in one_line(demo.run("list", "--account", "100000000001", "--as-of", moment), 2)

    def test_a_reversed_window_is_a_bad_argument(self, demo: Demo) -> None:
        message = one_line(demo.run("diff", "--from", "-1d", "--to", "-3d"), 2)
        assert "is after --to" in message
        assert "is after now" in one_line(demo.run("diff", "--from", "+1d"), 2)

    @pytest.mark.parametrize("option", ["--max-connections", "--max-body-memory"])
    def test_server_limits_are_bounded(self, option: str) -> None:
        assert "invalid number" in one_line(cli("serve", option, "99999999999999999999999"), 2)

    def test_unknown_command(self) -> None:
        assert "invalid choice: 'frobnicate'" in one_line(cli("frobnicate"), 2)

    def test_organization_list_needs_the_management_account(self, demo: Demo) -> None:
        assert "--account MGMT_ID" in one_line(demo.run("list", "--organization"), 2)

    def test_invalid_input_from_the_service_is_a_bad_argument(self, demo: Demo) -> None:
        management = demo.summary["Organizations"][0]["ManagementAccountId"]
        message = one_line(demo.run("list", "--organization", "--account", management, "--parent", "nope"), 2)
        assert message.startswith("InvalidInputException")


class TestRefusals:
    def test_unknown_handshake(self, demo: Demo) -> None:
        assert one_line(demo.run("history", "h-doesnotexist0000"), 1).startswith("HandshakeNotFoundException")

    def test_data_location_that_is_a_file(self, tmp_path: Path) -> None:
        (tmp_path / "not-a-folder").write_text("hello")
        assert "no ledger at" in one_line(cli("analytics", "--data", str(tmp_path / "not-a-folder")), 1)

    def test_unreadable_ledger(self, tmp_path: Path) -> None:
        (tmp_path / "handshakes.sqlite").write_text("not a database")
        assert "can't open the data location" in one_line(cli("events", "--data", str(tmp_path)), 1)

    def test_demo_refuses_a_location_that_holds_a_ledger(self, demo: Demo) -> None:
        assert "already holds a ledger" in one_line(demo.run("demo"), 2)


class TestInstants:
    @pytest.mark.parametrize("text, expected", [
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=timezone.utc)),
        ("2026-03-01T12:00:00Z", datetime(2026, 3, 1, 12, tzinfo=timezone.utc)),
        ("2026-03-01T14:00:00+02:00", datetime(2026, 3, 1, 12, tzinfo=timezone.utc)),
        ("2026-03-01T12:00:00", datetime(2026, 3, 1, 12, tzinfo=timezone.utc)),
    ])
    def test_iso_8601(self, text: str, expected: datetime) -> None:
        assert instant(text) == expected

    @freeze_time("2026-03-10T00:00:00Z")
    @pytest.mark.parametrize("text, expected", [
        ("now", datetime(2026, 3, 10, tzinfo=timezone.utc)),
        ("-3d", datetime(2026, 3, 7, tzinfo=timezone.utc)),
        ("-12h", datetime(2026, 3, 9, 12, tzinfo=timezone.utc)),
        ("+2d", datetime(2026, 3, 12, tzinfo=timezone.utc)),
        ("-1w2d", datetime(2026, 3, 1, tzinfo=timezone.utc)),
        ("-90m", datetime(2026, 3, 9, 22, 30, tzinfo=timezone.utc)),
    ])
    def test_relative_to_now(self, text: str, expected: datetime) -> None:
        assert instant(text) == expected

    def test_relative_instant_after_the_option_is_not_taken_for_an_option(self, demo: Demo) -> None:
        assert demo.run("analytics", "--as-of", "-2d", "--json").json()["By"] == "organization"
