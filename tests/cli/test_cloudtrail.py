"""``cloudtrail export`` and ``history`` with refused calls, on the store under test."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from freezegun import freeze_time

from ledger import open_ledger
from tests.audit_story import LIMITS, T0, tell
from tests.cli.runner import cli
from tests.conftest import ALICE, BOB, MANAGEMENT, new_location

NAME = re.compile(r"AWSLogs/(\d{12})/CloudTrail/us-east-1/(\d{4})/(\d\d)/(\d\d)/"
                  r"\1_CloudTrail_us-east-1_(\d{8}T\d{4}Z)_[0-9a-f]{16}\.json\.gz")


@pytest.fixture(scope="module")
def told(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    with new_location(tmp_path_factory.mktemp("story")) as data:
        with freeze_time(T0) as clock, open_ledger(data, limits=LIMITS) as ledger:
            marks = tell(ledger.client, clock)
        yield data, marks


def files(folder: Path) -> dict[str, list[dict[str, Any]]]:
    return {str(path.relative_to(folder)): json.loads(gzip.decompress(path.read_bytes()))["Records"]
            for path in sorted(folder.rglob("*.json.gz"))}


class TestExport:
    def test_one_file_per_account_per_five_minutes_named_as_cloudtrail_names_them(self, told, tmp_path):
        data, _ = told
        result = cli("cloudtrail", "export", str(tmp_path), "--data", data)
        assert result.code == 0, result.err
        # 13: the story's calls, and the AccountJoinedOrganization of CreateOrganization (decision 29)
        assert result.out.strip() == (f"Exported 13 records in 5 log files to {tmp_path}/AWSLogs for 3 accounts "
                                      f"({MANAGEMENT}, {ALICE}, {BOB}).")
        written = files(tmp_path)
        stamps = {}
        for name in written:
            match = NAME.fullmatch(name)
            assert match, name
            assert match.group(5).startswith("".join(match.group(2, 3, 4)))
            stamps[name] = (match.group(1), match.group(5))
        assert sorted(stamps.values()) == [(MANAGEMENT, "20260501T1205Z"), (MANAGEMENT, "20260501T1210Z"),
                                           (ALICE, "20260501T1205Z"), (ALICE, "20260501T1210Z"),
                                           (BOB, "20260501T1210Z")]
        for name, records in written.items():
            times = [r["eventTime"] for r in records]
            assert times == sorted(times) and {r["recipientAccountId"] for r in records} == {stamps[name][0]}
        assert not list(tmp_path.rglob(".*"))  # no partial file left behind

    def test_from_and_to_are_whole_seconds_both_included(self, told, tmp_path):
        data, _ = told
        summary = cli("cloudtrail", "export", str(tmp_path), "--data", data, "--from", "2026-05-01T12:03:00Z",
                      "--to", "2026-05-01T12:07:00.900Z", "--json").json()
        times = sorted(r["eventTime"] for records in files(tmp_path).values() for r in records)
        assert times[0] == "2026-05-01T12:03:00Z" and times[-1] == "2026-05-01T12:07:00Z"
        assert summary["Records"] == len(times) == 6 and len(summary["Files"]) == 5

    def test_exporting_again_writes_the_same_bytes(self, told, tmp_path):
        data, _ = told
        for folder in ("one", "two"):
            assert cli("cloudtrail", "export", str(tmp_path / folder), "--data", data).code == 0
        one = {p.relative_to(tmp_path / "one"): p.read_bytes() for p in (tmp_path / "one").rglob("*.gz")}
        two = {p.relative_to(tmp_path / "two"): p.read_bytes() for p in (tmp_path / "two").rglob("*.gz")}
        assert one == two

    def test_an_empty_range_writes_nothing(self, told, tmp_path):
        data, _ = told
        result = cli("cloudtrail", "export", str(tmp_path / "none"), "--data", data, "--to", "2020-01-01")
        assert (result.code, result.out.strip()) == (0, "No records in that range: nothing written.")
        assert not (tmp_path / "none").exists()

    @pytest.mark.parametrize(("args", "code", "says"), [
        (["--from", "2026-05-02", "--to", "2026-05-01"], 2, "--from 2026-05-02T00:00:00+00:00 is after --to"),
        (["--from", "yesterday"], 2, "argument --from: invalid instant 'yesterday'"),
        ([], 2, None),
    ])
    def test_bad_arguments_are_one_line_and_exit_2(self, told, tmp_path, args, code, says):
        data, _ = told
        result = cli("cloudtrail", "export", *([str(tmp_path)] if args else []), "--data", data, *args)
        assert result.code == code and len(result.error_lines) == 1
        assert says is None or says in result.err

    def test_a_folder_that_cant_be_written_is_exit_1(self, told, tmp_path):
        data, _ = told
        (tmp_path / "file").write_text("not a folder")
        result = cli("cloudtrail", "export", str(tmp_path / "file"), "--data", data)
        assert result.code == 1 and len(result.error_lines) == 1 and "Not a directory" in result.err

    def test_no_ledger_there_is_exit_1(self, tmp_path):
        result = cli("cloudtrail", "export", str(tmp_path / "out"), "--data", str(tmp_path / "nothing"))
        assert result.code == 1 and result.error_lines == [f"handshake-ledger: error: no ledger at {tmp_path / 'nothing'} "
                                                           "(make one with `handshake-ledger demo` or `handshake-ledger "
                                                           "serve`, or pass --data)"]


class TestHistoryShowsRefusals:
    def test_table_marks_refused_calls_with_their_error(self, told):
        data, marks = told
        result = cli("history", marks["alice"], "--data", data)
        assert result.code == 0, result.err
        rows = [line.split(None, 6) for line in result.out.splitlines()[3:7]]
        assert [(r[0], r[2], r[3], r[5]) for r in rows] == [
            ("1", "Requested", MANAGEMENT, "OPEN"), ("-", "AcceptHandshake!", MANAGEMENT, "OPEN"),
            ("2", "Accepted", ALICE, "ACCEPTED"), ("-", "AcceptHandshake!", ALICE, "ACCEPTED")]
        assert rows[1][6].startswith("AccessDeniedException: ")
        assert result.out.splitlines()[-1].startswith("! refused: ")

    def test_json_says_refused_with_the_error_code(self, told):
        data, marks = told
        entries = cli("history", marks["bob"], "--data", data, "--json").json()["History"]
        assert [(e["What"], e["Refused"], e["Details"].get("errorCode")) for e in entries] == [
            ("Requested", False, None), ("Declined", False, None),
            ("AcceptHandshake", True, "InvalidHandshakeTransitionException")]
        assert entries[2]["Version"] is None and entries[2]["Actor"] == BOB and entries[2]["State"] == "DECLINED"
