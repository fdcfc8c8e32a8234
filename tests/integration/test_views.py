"""The handshake view: paging, exactly-once catch-up, rebuild, as-of-instant, analytics, feed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from ledger import open_ledger
from ledger.service_layer.application import Limits
from botocore.exceptions import ClientError

from projections.view_tables import TABLE_NAMES
from tests.conftest import ALICE, BOB, MANAGEMENT

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
MANY = Limits(accounts_per_organization=500, invitations_per_day=500)


@pytest.fixture
def busy(data_location):
    """An organization that sent 45 invitations, one a minute."""
    with freeze_time(T0) as clock, open_ledger(data_location, limits=MANY) as ledger:
        mgmt = ledger.client(MANAGEMENT)
        mgmt.create_organization()
        for n in range(45):
            clock.tick(60)
            mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": f"7000000000{n:02d}"})
        yield ledger, clock


def invite(ledger, n):
    return ledger.client(MANAGEMENT).invite_account_to_organization(
        Target={"Type": "ACCOUNT", "Id": f"8000000000{n:02d}"})["Handshake"]["Id"]


class TestPaging:
    def test_45_handshakes_in_pages_of_20_20_5_newest_first(self, busy):
        ledger, _ = busy
        pages = list(ledger.client(MANAGEMENT).get_paginator("list_handshakes_for_organization").paginate())
        assert [len(p["Handshakes"]) for p in pages] == [20, 20, 5]
        stamps = [h["RequestedTimestamp"] for p in pages for h in p["Handshakes"]]
        assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == 45
        assert "NextToken" not in pages[-1]

    def test_additions_between_pages_neither_repeat_nor_vanish(self, busy):
        ledger, clock = busy
        mgmt = ledger.client(MANAGEMENT)
        first = mgmt.list_handshakes_for_organization(MaxResults=20)
        seen = [h["Id"] for h in first["Handshakes"]]
        token = first["NextToken"]
        for n in range(3):
            clock.tick(1)
            invite(ledger, n)
            page = mgmt.list_handshakes_for_organization(MaxResults=10, NextToken=token)
            seen += [h["Id"] for h in page["Handshakes"]]
            token = page.get("NextToken")
        assert len(seen) == len(set(seen)) == 45
        assert token is None

    def test_equal_timestamps_are_ordered_by_id(self, data_location):
        with freeze_time(T0), open_ledger(data_location, limits=MANY) as ledger:
            ledger.client(MANAGEMENT).create_organization()
            ids = [invite(ledger, n) for n in range(5)]
            paged = [h["Id"] for p in ledger.client(MANAGEMENT).get_paginator(
                "list_handshakes_for_organization").paginate(MaxResults=2) for h in p["Handshakes"]]
            assert paged == sorted(ids, reverse=True)

    @pytest.mark.parametrize("tamper", ["flip", "truncate", "garbage"])
    def test_tampered_token_is_refused(self, busy, tamper):
        ledger, _ = busy
        token = ledger.client(MANAGEMENT).list_handshakes_for_organization()["NextToken"]
        bad = {"flip": token[:5] + ("A" if token[5] != "A" else "B") + token[6:], "truncate": token[:-3],
               "garbage": "x" * 40}[tamper]
        with pytest.raises(ClientError) as caught:
            ledger.client(MANAGEMENT).list_handshakes_for_organization(NextToken=bad)
        assert caught.value.response["Reason"] == "INVALID_NEXT_TOKEN"

    def test_token_is_bound_to_operation_caller_and_filter(self, busy):
        ledger, _ = busy
        mgmt = ledger.client(MANAGEMENT)
        token = mgmt.list_handshakes_for_organization()["NextToken"]
        for call in (lambda: mgmt.list_handshakes_for_account(NextToken=token),
                     lambda: mgmt.list_handshakes_for_organization(NextToken=token, Filter={"ActionType": "INVITE"})):
            with pytest.raises(mgmt.exceptions.InvalidInputException):
                call()

    def test_filter_by_action(self, busy):
        ledger, _ = busy
        answer = ledger.client(MANAGEMENT).list_handshakes_for_organization(Filter={"ActionType": "ENABLE_ALL_FEATURES"})
        assert answer["Handshakes"] == [] and "NextToken" not in answer


class TestExactlyOnce:
    def test_crash_mid_batch_resumes_without_double_or_gap(self, busy):
        ledger, _ = busy
        view, app = ledger.view, ledger.app
        invite(ledger, 1)  # the view is now caught up; rewind it by rebuilding into a crash
        real_apply, calls = view._apply_event, []

        def crash_on_the_seventh(cursor, prefix, notification_id, event):
            calls.append(notification_id)
            if len(calls) == 7:
                raise RuntimeError("killed")
            real_apply(cursor, prefix, notification_id, event)

        with view._transaction() as cursor:  # forget everything: as if the view file were new
            for table in TABLE_NAMES:
                cursor.execute(f"DELETE FROM {view.prefix}{table}")
            cursor.execute(view._sql("DELETE FROM " + view._tracking_table() + " WHERE application_name = ?"),
                           [app.name])
        view._apply_event = crash_on_the_seventh
        with pytest.raises(RuntimeError):
            view.catch_up(app, batch=5)
        assert view.position() == 5  # the first batch committed, the second rolled back whole
        view._apply_event = real_apply
        view.catch_up(app, batch=5)
        head = app.recorder.max_notification_id()
        rows = view._query("SELECT COUNT(*) AS n, MIN(notification_id) AS lo, MAX(notification_id) AS hi "
                           "FROM {p}event_times")[0]
        assert (rows["n"], rows["lo"], rows["hi"]) == (head, 1, head)
        assert len(view.facts()) == 46

    def test_reapplying_a_recorded_position_is_refused(self, busy):
        from eventsourcing.persistence import IntegrityError

        ledger, _ = busy
        notifications = ledger.app.recorder.select_notifications(start=1, limit=3)
        with pytest.raises(IntegrityError):
            ledger.view.apply(ledger.app, notifications)
        assert len(ledger.view.facts()) == 45


class TestRebuild:
    def test_rebuild_reports_progress_and_gives_the_same_answers(self, busy):
        ledger, _ = busy
        before = ledger.client(MANAGEMENT).list_handshakes_for_organization(MaxResults=20)
        progress = []
        position = ledger.rebuild(progress=lambda pos, n: progress.append((pos, n)))
        assert position == ledger.app.recorder.max_notification_id()
        assert progress and progress[-1][0] == position and sum(n for _, n in progress) == position
        after = ledger.client(MANAGEMENT).list_handshakes_for_organization(MaxResults=20)
        assert after["Handshakes"] == before["Handshakes"]

    def test_rebuild_twice(self, busy):
        ledger, _ = busy
        ledger.rebuild()
        ledger.rebuild()
        invite(ledger, 2)
        assert len(ledger.view.facts()) == 46


class TestLedgerAt:
    def test_three_instants_of_a_story(self, data_location):
        with freeze_time(T0) as clock, open_ledger(data_location) as ledger:
            mgmt, alice = ledger.client(MANAGEMENT), ledger.client(ALICE)
            mgmt.create_organization()
            handshake_id = mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE})["Handshake"]["Id"]
            clock.tick(timedelta(days=60))
            later = mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": BOB})["Handshake"]["Id"]

            def seen_by_alice(instant):
                then = ledger.at(instant)
                return [(h["Id"], h["State"]) for h in then.client(ALICE).list_handshakes_for_account()["Handshakes"]]

            assert seen_by_alice(T0 + timedelta(days=1)) == [(handshake_id, "OPEN")]
            assert seen_by_alice(T0 + timedelta(days=16)) == [(handshake_id, "EXPIRED")]
            assert seen_by_alice(T0 + timedelta(days=46)) == []
            past = ledger.at(T0 + timedelta(days=1))
            assert past.client(ALICE).describe_handshake(HandshakeId=handshake_id)["Handshake"]["State"] == "OPEN"
            assert [h["Id"] for h in past.client(MANAGEMENT).list_handshakes_for_organization()["Handshakes"]] == \
                [handshake_id]
            assert later in [h["Id"] for h in mgmt.list_handshakes_for_organization()["Handshakes"]]
            with pytest.raises(alice.exceptions.AccessDeniedException):
                past.client(ALICE).accept_handshake(HandshakeId=handshake_id)
            with pytest.raises(alice.exceptions.HandshakeNotFoundException):  # gone from the live ledger
                alice.describe_handshake(HandshakeId=handshake_id)

    def test_before_anything_happened(self, busy):
        ledger, _ = busy
        then = ledger.at(T0 - timedelta(days=1))
        assert then.client(ALICE).list_handshakes_for_account()["Handshakes"] == []


class TestAnalytics:
    def test_outcomes_rates_and_decision_times(self, data_location):
        with freeze_time(T0) as clock, open_ledger(data_location) as ledger:
            mgmt = ledger.client(MANAGEMENT)
            org = mgmt.create_organization()["Organization"]["Id"]
            accepted = mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE})["Handshake"]["Id"]
            declined = mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": BOB})["Handshake"]["Id"]
            mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": "555555555555"})
            clock.tick(timedelta(hours=1))
            ledger.client(ALICE).accept_handshake(HandshakeId=accepted)
            clock.tick(timedelta(hours=2))
            ledger.client(BOB).decline_handshake(HandshakeId=declined)
            (now,) = ledger.analytics()
            assert (now["OrganizationId"], now["Action"], now["Total"]) == (org, "INVITE", 3)
            assert (now["Accepted"], now["Declined"], now["Open"], now["Expired"]) == (1, 1, 1, 0)
            assert now["AcceptanceRate"] == 0.5
            assert (now["DecisionSecondsP50"], now["DecisionSecondsP90"]) == (3600, 3 * 3600)
            assert now["RequestsPerDay"] == {"2026-05-01": 3}
            clock.tick(timedelta(days=100))
            (later,) = ledger.analytics()
            assert (later["Expired"], later["Open"], later["Total"]) == (1, 0, 3)
            (then,) = ledger.at(T0 + timedelta(minutes=30)).analytics()
            assert (then["Open"], then["Accepted"]) == (3, 0)


class TestChangeFeed:
    def test_feed_resumes_exactly_after_a_position(self, busy):
        ledger, _ = busy
        everything = list(ledger.events())
        positions = [r["position"] for r in everything]
        assert positions == sorted(positions) and len(positions) == ledger.app.recorder.max_notification_id()
        resumed = list(ledger.events(after=positions[9]))
        assert resumed == everything[10:]
        first = everything[0]
        assert set(first) >= {"position", "aggregate_id", "handshake_id", "type", "timestamp", "actor", "payload"}
        invitations = [r for r in everything if r["type"] == "Handshake.Created:v1"]
        assert len(invitations) == 45 and all(r["handshake_id"] == r["aggregate_id"] for r in invitations)
        assert all(r["handshake_id"] is None for r in everything if not r["aggregate_id"].startswith("h-"))


class TestRunner:
    def test_runner_follows_writes_of_another_ledger(self, data_location):
        import threading

        with open_ledger(data_location) as reader, open_ledger(data_location) as writer:
            reader.follow(interval=0.05)
            writer.client(MANAGEMENT).create_organization()
            writer.client(MANAGEMENT).invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE})
            head = writer.app.recorder.max_notification_id()
            caught = threading.Event()
            for _ in range(200):  # bounded wait for the background runner, not a sleep-based assertion
                if reader.view.position() >= head:
                    caught.set()
                    break
                caught.wait(0.05)
            assert caught.is_set()
            assert len(reader.view.facts()) == 1
