"""history and show: the audit trail and single-handshake time travel."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ledger import open_ledger
from tests.cli.conftest import Demo
from tests.cli.runner import cli

MANAGEMENT, ALICE, OUTSIDER = "111111111111", "222222222222", "444444444444"
REQUESTED = datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc)
EXPIRES = REQUESTED + timedelta(days=15)


class SteppedClock:
    """The clock the scripted ledger was written with: it says what the test sets."""

    def __init__(self, instant: datetime):
        self.instant = instant

    def now(self) -> datetime:
        return self.instant


@pytest.fixture(scope="module")
def unanswered(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """An invitation sent on 2026-01-05 10:00 UTC that nobody answers: it expires 2026-01-20 10:00."""
    data = str(tmp_path_factory.mktemp("scripted") / "ledger")
    clock = SteppedClock(REQUESTED - timedelta(hours=1))
    with open_ledger(data, clock=clock) as ledger:
        ledger.client(MANAGEMENT).create_organization(FeatureSet="ALL")
        clock.instant = REQUESTED
        answer = ledger.client(MANAGEMENT).invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE})
    return data, answer["Handshake"]["Id"]


def iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class TestHistory:
    def test_table_shows_each_version_and_marks_the_derived_expiry(self, unanswered: tuple[str, str]) -> None:
        data, handshake_id = unanswered
        result = cli("history", handshake_id, "--data", data)
        assert result.code == 0, result.err
        lines = result.out.splitlines()
        assert lines[0].startswith(f"{handshake_id}  INVITE in o-") and lines[0].endswith(f"to ACCOUNT {ALICE}")
        assert lines[2].split() == ["VERSION", "TIMESTAMP", "WHAT", "ACTOR", "REQUEST", "ID", "STATE", "DETAILS"]
        assert lines[3].split()[:3] == ["1", "2026-01-05T10:00:00Z", "Requested"]
        assert lines[3].split()[3] == MANAGEMENT and "OPEN" in lines[3].split()
        assert lines[4].split()[:6] == ["-", "2026-01-20T10:00:00Z", "Expired*", "-", "-", "EXPIRED"]
        assert lines[-1].startswith("* derived from ExpirationTimestamp")

    def test_json_gives_actor_request_id_and_derived_flag(self, unanswered: tuple[str, str]) -> None:
        data, handshake_id = unanswered
        history = cli("history", handshake_id, "--data", data, "--json").json()
        assert history["HandshakeId"] == handshake_id
        requested, expired = history["History"]
        assert (requested["Version"], requested["What"], requested["Actor"], requested["Derived"]) == \
            (1, "Requested", MANAGEMENT, False)
        assert requested["RequestId"]
        assert (expired["Version"], expired["State"], expired["Actor"], expired["Derived"]) == \
            (None, "EXPIRED", None, True)
        assert datetime.fromisoformat(expired["Timestamp"]) == EXPIRES

    def test_as_of_before_expiry_has_no_derived_entry(self, unanswered: tuple[str, str]) -> None:
        data, handshake_id = unanswered
        history = cli("history", handshake_id, "--data", data, "--as-of", "2026-01-19", "--json").json()
        assert [e["What"] for e in history["History"]] == ["Requested"]

    def test_accepted_invitation_ends_with_the_recipient_accepting(self, demo: Demo) -> None:
        history = demo.run("history", demo.tried("invitation accepted by email"), "--json").json()["History"]
        assert [e["What"] for e in history] == ["Requested", "Accepted"]
        assert [e["Version"] for e in history] == [1, 2]
        assert history[1]["Actor"] != history[0]["Actor"] and history[1]["State"] == "ACCEPTED"

    def test_finalized_enable_all_features_records_every_approval(self, demo: Demo) -> None:
        history = demo.run("history", demo.tried("all features, finalized"), "--json").json()["History"]
        whats = [e["What"] for e in history]
        assert whats[0] == "Requested" and whats[-1] == "Accepted" and set(whats[1:-1]) <= {"ChildAccepted"}
        assert [e["State"] for e in history][-2:] == ["OPEN", "ACCEPTED"]


class TestShow:
    def test_as_of_before_expiry_reads_open_and_at_expiry_reads_expired(self, unanswered: tuple[str, str]) -> None:
        data, handshake_id = unanswered
        before = cli("show", handshake_id, "--data", data, "--as-of", iso(EXPIRES - timedelta(microseconds=1)), "--json")
        at = cli("show", handshake_id, "--data", data, "--as-of", "2026-01-20T10:00:00Z", "--json")
        assert before.json()["Handshake"]["State"] == "OPEN"
        assert at.json()["Handshake"]["State"] == "EXPIRED"

    def test_demo_invitation_left_to_expire(self, demo: Demo) -> None:
        handshake_id, expiry = demo.summary["Expiry"]["Id"], demo.expiry()
        before = demo.run("show", handshake_id, "--as-of", iso(expiry - timedelta(hours=1)), "--json").json()
        after = demo.run("show", handshake_id, "--as-of", iso(expiry + timedelta(hours=1)), "--json").json()
        assert (before["Handshake"]["State"], after["Handshake"]["State"]) == ("OPEN", "EXPIRED")

    def test_table_shows_fields_and_resources(self, unanswered: tuple[str, str]) -> None:
        data, handshake_id = unanswered
        result = cli("show", handshake_id, "--data", data, "--as-of", "2026-01-06")
        assert result.code == 0, result.err
        fields = dict(line.split(None, 1) for line in result.out.splitlines()[:7])
        assert fields["Id"] == handshake_id and fields["State"] == "OPEN"
        assert fields["Requested"] == "2026-01-05T10:00:00Z" and fields["Expires"] == "2026-01-20T10:00:00Z"
        assert f"  ACCOUNT: {ALICE}" in result.out.splitlines()

    def test_before_the_handshake_existed_it_is_not_found(self, unanswered: tuple[str, str]) -> None:
        data, handshake_id = unanswered
        result = cli("show", handshake_id, "--data", data, "--as-of", "2026-01-05T09:59:59Z")
        assert result.code == 1
        assert result.error_lines == [result.err.strip()] and "HandshakeNotFoundException" in result.err

    def test_version_one_of_an_accepted_invitation_is_open(self, demo: Demo) -> None:
        handshake_id = demo.tried("invitation accepted")
        first = demo.run("show", handshake_id, "--version", "1", "--json").json()["Handshake"]
        second = demo.run("show", handshake_id, "--version", "2", "--json").json()["Handshake"]
        assert (first["State"], second["State"]) == ("OPEN", "ACCEPTED")

    def test_a_version_it_never_had_is_an_error(self, demo: Demo) -> None:
        result = demo.run("show", demo.tried("invitation accepted"), "--version", "9")
        assert result.code == 1 and result.error_lines == ["handshake-ledger: error: handshake "
                                                           f"{demo.tried('invitation accepted')} has 2 version(s), not 9"]

    def test_account_sees_it_as_describe_did_then_but_retention_hides_it_now(self, unanswered: tuple[str, str]) -> None:
        data, handshake_id = unanswered
        then = cli("show", handshake_id, "--data", data, "--account", ALICE, "--as-of", "2026-01-10", "--json")
        assert then.json()["Handshake"]["State"] == "OPEN"
        now = cli("show", handshake_id, "--data", data, "--account", ALICE)  # expired + 30 days is long past
        assert now.code == 1 and "HandshakeNotFoundException" in now.err
        audit = cli("show", handshake_id, "--data", data, "--json")  # the audit still sees it
        assert audit.json()["Handshake"]["State"] == "EXPIRED"

    def test_an_account_that_is_no_party_is_told_not_found(self, unanswered: tuple[str, str]) -> None:
        data, handshake_id = unanswered
        result = cli("show", handshake_id, "--data", data, "--account", OUTSIDER, "--as-of", "2026-01-10")
        assert result.code == 1 and len(result.error_lines) == 1 and "HandshakeNotFoundException" in result.err

    def test_version_with_account_answers_as_of_that_version(self, unanswered: tuple[str, str]) -> None:
        data, handshake_id = unanswered
        shape = cli("show", handshake_id, "--data", data, "--version", "1", "--account", MANAGEMENT, "--json").json()
        assert shape["Handshake"]["State"] == "OPEN"

