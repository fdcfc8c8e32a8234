"""Several ledgers (processes) on one store: the view applies each event once, reads stay honest."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from eventsourcing.persistence import IntegrityError

from ledger import open_ledger
from ledger.domain import errors
from ledger.service_layer.application import HandshakeLedger, Limits
from ledger.service_layer.audit import Caller
from projections.view import HandshakeView
from ledger.storage.stores import open_store
from tests.conftest import ALICE, BOB, MANAGEMENT, OUTSIDER, new_location
from tests.integration.processes import inviting_worker, opening_worker, run_workers

accept_handshake = HandshakeLedger.accept_handshake.__wrapped__  # type: ignore[attr-defined]  # unwrapped: no command of its own

LIMITS = Limits(accounts_per_organization=1000, invitations_per_day=1000)
SECOND_MANAGEMENT = "555555555555"


def invite(ledger: Any, *accounts: str) -> list[str]:
    client = ledger.client(MANAGEMENT)
    return [client.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": a})["Handshake"]["Id"]
            for a in accounts]


def rows(view: HandshakeView) -> list[dict[str, Any]]:
    return sorted((dict(row) for row in view.facts()), key=lambda row: row["id"])


def event_rows(view: HandshakeView) -> int:
    return int(view._query("SELECT COUNT(*) AS n FROM {p}event_times")[0]["n"])


@pytest.fixture
def probe(data_location: str, ledger: Any) -> Iterator[HandshakeView]:
    """A second view of the same log, in the same store as the ledger's."""
    store = open_store(data_location, "HandshakeViews")
    yield HandshakeView(store.tracking_recorder(), upstream="Probe", prefix="probe_", placeholder=store.placeholder)
    store.close()


def test_a_batch_read_after_another_position_is_refused(ledger: Any, probe: HandshakeView) -> None:
    ledger.client(MANAGEMENT).create_organization(FeatureSet="ALL")
    invite(ledger, ALICE, BOB, OUTSIDER)
    behind = probe.catch_up(ledger.app, stop=3)
    ahead = ledger.app.recorder.select_notifications(start=5, limit=100, inclusive_of_start=False)

    with pytest.raises(IntegrityError):
        probe.apply(ledger.app, ahead, name="Probe", prefix="probe_", after=5)

    assert (probe.position("Probe"), event_rows(probe)) == (behind, 3)
    assert probe.catch_up(ledger.app) == ledger.view.position()
    assert rows(probe) == rows(ledger.view)


def test_accepting_what_another_process_just_accepted_says_already_accepted(data_location: str,
                                                                         ledger: Any) -> None:
    ledger.client(MANAGEMENT).create_organization(FeatureSet="ALL")
    (handshake_id,) = invite(ledger, ALICE)
    with open_ledger(data_location) as elsewhere:
        def another_tool_accepts() -> None:
            """A writer that does not take turns with this process (another tool on the same store):
            it saves outside any command, so it never waits for this process's turn."""
            handshake = elsewhere.app.repository.get(handshake_id)
            if handshake.state == "OPEN":
                handshake.accept(actor=ALICE, request_id=None, timestamp=elsewhere.clock.now())
                elsewhere.app.save(handshake)

        attempts = []

        def accept_after_it_was_accepted_elsewhere() -> Any:
            attempts.append(ledger.app.repository.get(handshake_id).state)  # this command has loaded the handshake...
            another_tool_accepts()  # ...when another writer accepts it
            return accept_handshake(ledger.app, Caller(ALICE), handshake_id)  # the method's work, in this command

        with pytest.raises(errors.HandshakeAlreadyInStateException):
            ledger.app.execute(accept_after_it_was_accepted_elsewhere)
        # Judged on the OPEN handshake, its save conflicted; judged again on what was written meanwhile.
        assert attempts == ["OPEN", "ACCEPTED"]
        assert len(list(ledger.app.events.get(handshake_id))) == 2  # Created, and the other tool's Accepted


def test_each_process_judges_against_what_the_other_wrote_in_between(data_location: str) -> None:
    """Two ledgers (processes) take turns on one organization, its quota (the management account
    and two more) and one account's membership; each has the other's last change cached away."""
    limits = Limits(accounts_per_organization=3, invitations_per_day=1000)
    with open_ledger(data_location, limits=limits) as first, open_ledger(data_location, limits=limits) as second:
        first.client(MANAGEMENT).create_organization()
        first.client(SECOND_MANAGEMENT).create_organization()  # first caches an organization the other never touches
        (to_alice,) = invite(first, ALICE)
        (to_bob,) = invite(second, BOB)
        over_quota = first.client(MANAGEMENT).exceptions.HandshakeConstraintViolationException
        with pytest.raises(over_quota):
            invite(first, OUTSIDER)  # Alice and Bob hold the two places
        second.client(ALICE).decline_handshake(HandshakeId=to_alice)
        (to_outsider,) = invite(first, OUTSIDER)  # Alice's place is free again
        first.client(BOB).accept_handshake(HandshakeId=to_bob)
        with pytest.raises(second.client(BOB).exceptions.HandshakeAlreadyInStateException):
            second.client(BOB).accept_handshake(HandshakeId=to_bob)
        second.client(MANAGEMENT).remove_account_from_organization(AccountId=BOB)  # a member, as first made him
        with pytest.raises(first.client(BOB).exceptions.AWSOrganizationsNotInUseException):
            first.client(BOB).leave_organization()  # removed by second meanwhile
        assert [h["State"] for h in second.client(MANAGEMENT).list_handshakes_for_organization()["Handshakes"]
                if h["Id"] in (to_alice, to_bob, to_outsider)] == ["OPEN", "ACCEPTED", "DECLINED"]


def test_processes_opening_a_fresh_location_at_once_all_open_it(tmp_path: Path) -> None:
    """Each creates the tables it needs if they are missing: on PostgreSQL the losers of that race
    saw "type ... already exists" (3 rounds in 8 failed before)."""
    for round_ in range(4):
        with new_location(tmp_path / str(round_)) as location:
            assert run_workers(opening_worker, [(location,)] * 4) == [("open_ledger", "", "", "ok")] * 4


def test_a_command_that_records_nothing_answers_after_the_views_have_what_it_rested_on(
        data_location: str) -> None:
    """Another process enabled a service and has not caught the views up yet; enabling it again
    here changes nothing, and the caller's next read shows it enabled (as the answer implied)."""
    with open_ledger(data_location) as writer, open_ledger(data_location) as reader:
        reader.follow(interval=3600)  # as a server: queries do not catch up
        assert reader.runner is not None
        reader.runner.stop()  # and no follower does meanwhile (on PostgreSQL a NOTIFY would wake it at once)
        writer.client(MANAGEMENT).create_organization(FeatureSet="ALL")
        # Through the application alone, as a process that dies before catching the views up:
        # the command is durable, the views have not seen it.
        writer.app.enable_aws_service_access(Caller(MANAGEMENT), "config.amazonaws.com")
        assert reader.view.position() < reader.app.recorder.max_notification_id()
        client = reader.client(MANAGEMENT)
        client.enable_aws_service_access(ServicePrincipal="config.amazonaws.com")
        enabled = client.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
        assert [service["ServicePrincipal"] for service in enabled] == ["config.amazonaws.com"]


def test_two_processes_writing_and_catching_up_apply_each_event_once(data_location: str) -> None:
    with open_ledger(data_location, limits=LIMITS) as ledger:
        ledger.client(MANAGEMENT).create_organization(FeatureSet="ALL")
        ledger.client(SECOND_MANAGEMENT).create_organization(FeatureSet="ALL")
    invitees = {manager: [str(600_000_000_000 + 1000 * n + i) for i in range(40)]
                for n, manager in enumerate((MANAGEMENT, SECOND_MANAGEMENT))}

    outcomes = run_workers(inviting_worker, [(data_location, LIMITS, m, a) for m, a in invitees.items()])

    assert {o[3] for o in outcomes} == {"ok"}
    with open_ledger(data_location, limits=LIMITS) as ledger:
        head = ledger.app.recorder.max_notification_id()
        notifications = len(ledger.app.recorder.select_notifications(start=0, limit=head))
        assert ledger.view.position() == head
        assert event_rows(ledger.view) == notifications
        assert len(list(ledger.view.facts())) == 80
        before = answers(ledger, invitees)
        ledger.rebuild()
        assert answers(ledger, invitees) == before


def answers(ledger: Any, invitees: dict[str, list[str]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for manager in invitees:
        client = ledger.client(manager)
        pages = client.get_paginator("list_handshakes_for_organization").paginate(MaxResults=7)
        found[manager] = [h for page in pages for h in page["Handshakes"]]
        found.update({h["Id"]: client.describe_handshake(HandshakeId=h["Id"])["Handshake"] for h in found[manager]})
    return found
