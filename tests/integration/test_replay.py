"""Closing and reopening the same data gives identical answers; views equal a rebuild and a fold."""

from __future__ import annotations


from freezegun import freeze_time

from ledger import open_ledger
from ledger.service_layer.application import Limits
from ledger.domain.handshake import Handshake
from ledger.service_layer.shapes import describe_handshake
from ledger.domain.instants import to_us
from tests.integration.story import ACCOUNTS, MANAGERS, play

LIMITS = Limits(accounts_per_organization=50, invitations_per_day=50)


def describe_all(ledger, handshake_ids):
    answers = {}
    for handshake_id in handshake_ids:
        party = ledger.app.repository.get(handshake_id).sender_account_id
        try:
            answers[handshake_id] = ledger.client(party).describe_handshake(HandshakeId=handshake_id)
        except ledger.client(party).exceptions.HandshakeNotFoundException:
            answers[handshake_id] = "gone"
        if isinstance(answers[handshake_id], dict):
            answers[handshake_id].pop("ResponseMetadata")
    return answers


def lists(ledger):
    """Every account's and every organization's lists, all pages followed."""
    answers = {}
    for account in ACCOUNTS + MANAGERS:
        client = ledger.client(account)
        answers[("account", account)] = [h for p in client.get_paginator("list_handshakes_for_account").paginate(
            MaxResults=3) for h in p["Handshakes"]]
        if ledger.app.organization_of(account) and account in MANAGERS:
            answers[("org", account)] = [h for p in client.get_paginator(
                "list_handshakes_for_organization").paginate(MaxResults=4) for h in p["Handshakes"]]
    return answers


def folded_lists(ledger, handshake_ids):
    """The same lists computed by folding every aggregate, without any view."""
    now = ledger.now()
    handshakes = [ledger.app.repository.get(h) for h in handshake_ids]
    handshakes = [h for h in handshakes if isinstance(h, Handshake) and h.is_visible_at(now)]
    handshakes.sort(key=lambda h: (to_us(h.requested_at), h.id), reverse=True)
    answers = {}
    for account in ACCOUNTS + MANAGERS:
        answers[("account", account)] = [describe_handshake(h, now) for h in handshakes
                                         if ledger.app.recipient_of(h) == account]
        organization = ledger.app.organization_of(account)
        if organization and account in MANAGERS:
            answers[("org", account)] = [describe_handshake(h, now) for h in handshakes
                                         if h.organization_id == organization.id]
    return answers


def all_ids(ledger):
    return sorted({n.originator_id for n in ledger.app.recorder.select_notifications(start=1, limit=100000)
                   if n.originator_id.startswith("h-")})


class TestReplay:
    def test_reopen_gives_identical_describe_and_history(self, data_location):
        with freeze_time("2026-01-05T08:00:00Z") as clock:
            with open_ledger(data_location, limits=LIMITS) as ledger:
                play(ledger, clock, seed=7, steps=150)
                ids = all_ids(ledger)
                before = (describe_all(ledger, ids), {h: ledger.history(h) for h in ids})
            with open_ledger(data_location, limits=LIMITS) as reopened:
                after = (describe_all(reopened, ids), {h: reopened.history(h) for h in ids})
        assert len(ids) > 20
        assert before == after

    def test_live_views_equal_rebuild_and_fold(self, data_location):
        with freeze_time("2026-01-05T08:00:00Z") as clock, open_ledger(data_location, limits=LIMITS) as ledger:
            play(ledger, clock, seed=11, steps=200)
            ids = all_ids(ledger)
            live, analytics = lists(ledger), ledger.analytics()
            assert sum(len(v) for v in live.values()) > 10
            ledger.rebuild()
            assert (lists(ledger), ledger.analytics()) == (live, analytics)
            for moment in (0, 5 * 86400, 10 * 86400, 40 * 86400):  # across expiries and retention edges
                clock.tick(moment)
                assert lists(ledger) == folded_lists(ledger, ids)

    def test_deleted_view_catches_up_on_next_start(self, tmp_path):
        location = str(tmp_path / "data")
        with freeze_time("2026-01-05T08:00:00Z") as clock:
            with open_ledger(location, limits=LIMITS) as ledger:
                play(ledger, clock, seed=3, steps=60)
                expected = lists(ledger)
            (tmp_path / "data" / "handshakeviews.sqlite").unlink()
            for extra in ("-wal", "-shm"):
                (tmp_path / "data" / f"handshakeviews.sqlite{extra}").unlink(missing_ok=True)
            with open_ledger(location, limits=LIMITS) as reopened:
                assert lists(reopened) == expected
