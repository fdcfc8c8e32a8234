"""Eight processes race to decline, accept and cancel the same 200 invitations.

Runs on the store under test: PostgreSQL in the postgres pass (HANDSHAKE_LEDGER_TEST_STORE=
postgres; an unreachable server fails, never skips), and a SQLite data folder in the default
pass. Each handshake must end once, every loser must hear why, and the views must agree with
the log.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterator

import pytest

from ledger import open_ledger
from ledger.service_layer.application import Limits
from tests.conftest import MANAGEMENT, store_kind
from tests.integration.processes import Job, Outcome, handshake_worker, run_workers

WORKERS = 8
INVITEES = [str(500_000_000_000 + n) for n in range(200)]
LIMITS = Limits(accounts_per_organization=1000, invitations_per_day=1000)
MOVES = {"Accepted": "accept_handshake", "Declined": "decline_handshake", "Canceled": "cancel_handshake"}
LOSING = {"HandshakeAlreadyInStateException", "InvalidHandshakeTransitionException",
          "ConcurrentModificationException"}


@pytest.fixture(scope="module", params=[store_kind()])
def location(request: Any, tmp_path_factory: Any) -> Iterator[str]:
    """A fresh location on the store under test (named in the test ids)."""
    if request.param == "postgres":
        from tests.pg import fresh_database

        with fresh_database() as url:
            yield url
    else:
        yield str(Path(tmp_path_factory.mktemp("race")) / "data")


@pytest.fixture(scope="module")
def invitations(location: str) -> dict[str, str]:
    """handshake id -> invitee: one organization inviting every invitee."""
    with open_ledger(location, limits=LIMITS) as ledger:
        management = ledger.client(MANAGEMENT)
        management.create_organization(FeatureSet="ALL")
        return {
            management.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": invitee})["Handshake"]["Id"]:
            invitee
            for invitee in INVITEES
        }


def jobs(worker: int, invitations: dict[str, str]) -> list[Job]:
    moves = [(move, caller, handshake_id) for handshake_id, invitee in invitations.items()
             for move, caller in (("decline_handshake", invitee), ("accept_handshake", invitee),
                                  ("cancel_handshake", MANAGEMENT))]
    random.Random(worker).shuffle(moves)
    return moves


@pytest.fixture(scope="module")
def outcomes(location: str, invitations: dict[str, str]) -> list[Outcome]:
    return run_workers(handshake_worker, [(location, LIMITS, jobs(n, invitations)) for n in range(WORKERS)])


@pytest.fixture(scope="module")
def ledger(location: str, outcomes: list[Outcome]) -> Iterator[Any]:
    """The ledger after the race, seen from a fresh process-local instance."""
    with open_ledger(location, limits=LIMITS) as opened:
        yield opened


def terminal_events(ledger: Any, handshake_id: str) -> list[str]:
    return [entry.what for entry in ledger.history(handshake_id) if entry.what in MOVES]


def winners(outcomes: list[Outcome]) -> dict[str, list[str]]:
    won: dict[str, list[str]] = defaultdict(list)
    for move, _, handshake_id, outcome in outcomes:
        if outcome == "ok":
            won[handshake_id].append(move)
    return won


def view_answers(ledger: Any, invitations: dict[str, str]) -> tuple[list[Any], dict[str, Any]]:
    management = ledger.client(MANAGEMENT)
    listed = [h for page in management.get_paginator("list_handshakes_for_organization").paginate(MaxResults=17)
              for h in page["Handshakes"]]
    described = {h: management.describe_handshake(HandshakeId=h)["Handshake"] for h in invitations}
    return listed, described


def test_nothing_unexpected_was_raised(outcomes: list[Outcome]) -> None:
    assert [o for o in outcomes if o[3] != "ok" and o[3] not in LOSING] == []
    assert len(outcomes) >= WORKERS * 3 * len(INVITEES)  # retried conflicts come twice or more


def test_each_handshake_ends_exactly_once(ledger: Any, invitations: dict[str, str]) -> None:
    ends = {h: terminal_events(ledger, h) for h in invitations}
    assert {h: e for h, e in ends.items() if len(e) != 1} == {}


def test_the_one_winner_is_the_recorded_end(ledger: Any, invitations: dict[str, str],
                                            outcomes: list[Outcome]) -> None:
    won = winners(outcomes)
    assert {h: won[h] for h in invitations if won[h] != [MOVES[e] for e in terminal_events(ledger, h)]} == {}


def test_every_loser_heard_why(outcomes: list[Outcome]) -> None:
    losses = Counter(o[3] for o in outcomes if o[3] != "ok")
    assert set(losses) <= LOSING
    assert losses["HandshakeAlreadyInStateException"] and losses["InvalidHandshakeTransitionException"]


def test_membership_is_the_accepted_set(ledger: Any, invitations: dict[str, str], outcomes: list[Outcome]) -> None:
    accepted = {invitations[h] for h, moves in winners(outcomes).items() if moves == ["accept_handshake"]}
    pages = ledger.client(MANAGEMENT).get_paginator("list_accounts").paginate()
    members = {account["Id"] for page in pages for account in page["Accounts"]}
    assert members == accepted | {MANAGEMENT}


def test_views_agree_with_the_aggregates(ledger: Any, invitations: dict[str, str]) -> None:
    listed, described = view_answers(ledger, invitations)
    assert sorted(h["Id"] for h in listed) == sorted(invitations)
    assert {h: d["State"] for h, d in described.items()} == {
        h: ledger.app.repository.get(h).state for h in invitations
    }
    assert len(list(ledger.view.facts())) == len(invitations)


def test_views_equal_a_rebuild(ledger: Any, invitations: dict[str, str]) -> None:
    before = view_answers(ledger, invitations)
    ledger.rebuild()
    assert view_answers(ledger, invitations) == before
