"""Tools nobody here wrote read ``handshake-ledger cloudtrail export``: trailscraper and DuckDB.

The story of ``tests/audit_story.py`` on the store under test, exported by the command line as a
user runs it. trailscraper (PyPI) pins boto3 six minor versions behind ours, so it lives in a venv
of its own, made once beside the project's (``.venv-trailscraper``) with pip, the way a user
installs a tool.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pytest
from freezegun import freeze_time

from ledger import open_ledger
from tests.audit_story import LIMITS, T0, tell
from tests.cli.runner import cli
from tests.conftest import ALICE, BOB, MANAGEMENT, OUTSIDER, new_location

ROOT = Path(__file__).resolve().parents[2]
TRAILSCRAPER = "trailscraper==0.10.0"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    base = tmp_path_factory.mktemp("tools")
    with new_location(base) as data:
        with freeze_time(T0) as clock, open_ledger(data, limits=LIMITS) as ledger:
            marks = tell(ledger.client, clock)
        result = cli("cloudtrail", "export", str(base / "trail"), "--data", data)
        assert result.code == 0, result.err
        yield base / "trail", marks


@pytest.fixture(scope="session")
def trailscraper() -> Path:
    """The trailscraper executable of its own venv, installed once."""
    venv = ROOT / ".venv-trailscraper"
    executable = venv / "bin" / "trailscraper"
    if not executable.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120)
        installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", TRAILSCRAPER],
                                   capture_output=True, text=True, timeout=600)
        assert installed.returncode == 0, installed.stderr[-2000:]
    return executable


def run(*command: str | Path, stdin: str | None = None) -> str:
    done = subprocess.run([str(part) for part in command], input=stdin, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


class TestTrailscraper:
    def test_select_finds_every_call_accepted_or_refused(self, exported, trailscraper):
        folder, _ = exported
        found = json.loads(run(trailscraper, "select", "--log-dir", folder, "--from", "2026-05-01", "--to", "2026-05-02"))
        records = sorted(found["Records"], key=lambda r: (r["eventTime"], r["eventName"]))
        assert [(r["eventTime"][11:16], r["eventName"], r.get("errorCode")) for r in records] == [
            ("12:00", "AccountJoinedOrganization", None),
            ("12:00", "CreateOrganization", None),
            ("12:01", "InviteAccountToOrganization", None),
            ("12:02", "InviteAccountToOrganization", None),
            ("12:03", "AcceptHandshake", "AccessDeniedException"),
            ("12:04", "AcceptHandshake", None),
            ("12:04", "AccountJoinedOrganization", None),
            ("12:05", "AcceptHandshake", "HandshakeAlreadyInStateException"),
            ("12:06", "InviteAccountToOrganization", "HandshakeConstraintViolationException"),
            ("12:07", "DeclineHandshake", None),
            ("12:08", "AcceptHandshake", "InvalidHandshakeTransitionException"),
            ("12:09", "AccountDepartedOrganization", None),
            ("12:09", "RemoveAccountFromOrganization", None),
        ]

    def test_select_picks_files_by_their_delivery_time(self, exported, trailscraper):
        folder, _ = exported
        found = json.loads(run(trailscraper, "select", "--log-dir", folder, "--from", "2026-05-01T12:05:00Z",
                               "--to", "2026-05-01T12:06:30Z"))
        assert {r["eventTime"][11:16] for r in found["Records"]} == {"12:05", "12:06"}

    def test_generate_writes_the_policy_the_calls_needed(self, exported, trailscraper):
        folder, marks = exported
        selected = run(trailscraper, "select", "--log-dir", folder, "--from", "2026-05-01", "--to", "2026-05-02")
        policy = json.loads(run(trailscraper, "generate", stdin=selected))
        actions = {action for statement in policy["Statement"] for action in statement["Action"]}
        assert {"organizations:CreateOrganization", "organizations:InviteAccountToOrganization",
                "organizations:AcceptHandshake", "organizations:DeclineHandshake",
                "organizations:RemoveAccountFromOrganization"} <= actions
        resources = {arn for statement in policy["Statement"] for arn in statement["Resource"]}
        assert any(arn.endswith(f"/invite/{marks['alice']}") for arn in resources)

    def test_last_event_timestamp(self, exported, trailscraper):
        folder, _ = exported
        assert run(trailscraper, "last-event-timestamp", "--log-dir", folder).strip() == "2026-05-01 12:09:00+00:00"


def sql(folder: Path, query: str) -> list[tuple[Any, ...]]:
    """``query`` over ``records``: every record of the export, one row each, CloudTrail's columns."""
    records = (f"SELECT unnest(Records) AS r FROM read_json('{folder}/AWSLogs/**/*.json.gz', "
               "sample_size = -1, union_by_name = true)")
    return duckdb.connect().sql(f"WITH records AS ({records}) {query}").fetchall()


class TestDuckDB:
    def test_who_declined_or_tried_to_accept_what_when(self, exported):
        folder, marks = exported
        rows = sql(folder, """
            SELECT strftime(r.eventTime, '%H:%M'), r.userIdentity.accountId, r.eventName,
                   r.requestParameters.handshakeId, r.errorCode
            FROM records WHERE r.eventName IN ('DeclineHandshake', 'AcceptHandshake') ORDER BY r.eventTime""")
        alice, bob = marks["alice"], marks["bob"]
        assert rows == [
            ("12:03", MANAGEMENT, "AcceptHandshake", alice, "AccessDeniedException"),
            ("12:04", ALICE, "AcceptHandshake", alice, None),
            ("12:05", ALICE, "AcceptHandshake", alice, "HandshakeAlreadyInStateException"),
            ("12:07", BOB, "DeclineHandshake", bob, None),
            ("12:08", BOB, "AcceptHandshake", bob, "InvalidHandshakeTransitionException"),
        ]

    def test_the_usual_columns_have_their_types(self, exported):
        folder, _ = exported
        (row,) = sql(folder, """
            SELECT typeof(r.eventTime), typeof(r.readOnly), typeof(r.managementEvent), count(*),
                   count(DISTINCT r.recipientAccountId), count(r.errorCode)
            FROM records GROUP BY ALL""")
        assert row == ("TIMESTAMP WITH TIME ZONE", "BOOLEAN", "BOOLEAN", 13, 3, 4)

    def test_membership_events_and_the_refused_invitation(self, exported):
        folder, _ = exported
        assert sql(folder, """
            SELECT r.eventName, r.serviceEventDetails.accountId, coalesce(r.serviceEventDetails.joinedMethod,
                   r.serviceEventDetails.departureMethod), r.userIdentity.invokedBy
            FROM records WHERE r.eventType = 'AwsServiceEvent' ORDER BY r.eventTime""") == [
            ("AccountJoinedOrganization", MANAGEMENT, "INVITED", "organizations.amazonaws.com"),
            ("AccountJoinedOrganization", ALICE, "INVITED", "organizations.amazonaws.com"),
            ("AccountDepartedOrganization", ALICE, "REMOVED", "organizations.amazonaws.com")]
        assert sql(folder, """
            SELECT r.requestParameters.target.id, r.errorMessage FROM records
            WHERE r.errorCode = 'HandshakeConstraintViolationException'""")[0][0] == OUTSIDER
