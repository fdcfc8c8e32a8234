"""Transfer analytics (``projections/transfer_analytics.py``) equal a recomputation from the AWS
Lists: at each moment, every management account's ListInboundResponsibilityTransfers and
ListOutboundResponsibilityTransfers answer (as of then, through its boto3 client) give the statuses
and what is in effect; the recorded events give the times to answer. The demo's story stays within
the 30 days of retention (its declined transfer is answered late in the story), so the Lists show
everything the analytics count."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterator

import pytest

from ledger import open_ledger
from ledger.domain.clock import system_clock
from ledger.domain.transfer import ResponsibilityTransfer, in_effect_at
from ledger.entrypoints import demo
from ledger.entrypoints.facade import Ledger
from projections.analytics import percentile
from projections.transfer_analytics import STATUSES
from tests.conftest import new_location


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, demo.Seeded]]:
    with new_location(tmp_path_factory.mktemp("transfer-analytics")) as location:
        clock = demo.StepClock(demo.demo_start(system_clock.now()))
        with open_ledger(location, clock=clock) as ledger:
            story = demo.seed(ledger, clock, handshakes=40, seed=5)
            yield ledger, story


def listed(reader: Any, managements: list[str]) -> dict[str, dict[str, Any]]:
    """Every transfer the Lists show at the reader's moment, by Id."""
    found: dict[str, dict[str, Any]] = {}
    for account in managements:
        client = reader.client(account)
        for operation in ("list_inbound_responsibility_transfers", "list_outbound_responsibility_transfers"):
            params: dict[str, Any] = {"Type": "BILLING"}
            while True:
                try:
                    page = getattr(client, operation)(**params)
                except client.exceptions.ClientError:
                    break  # not a management account then
                found.update({t["Id"]: t for t in page["ResponsibilityTransfers"]})
                if not page.get("NextToken"):
                    break
                params["NextToken"] = page["NextToken"]
    return found


def recomputed(ledger: Ledger, reader: Any, managements: list[str]) -> dict[str, Any]:
    instant = reader.now()
    transfers = listed(reader, managements)
    by_status = dict.fromkeys(STATUSES, 0)
    for shape in transfers.values():
        by_status[shape["Status"]] += 1
    in_effect = sum(in_effect_at(s["Status"], s["StartTimestamp"], s.get("EndTimestamp"), instant)
                    for s in transfers.values())
    answers = []
    for transfer_id in transfers:
        events: list[Any] = [e for e in ledger.app.events.get(transfer_id) if getattr(e, 'timestamp') <= instant]
        answered = [e for e in events if isinstance(e, (ResponsibilityTransfer.Accepted, ResponsibilityTransfer.Declined))]
        if answered:
            answers.append((answered[0].timestamp - events[0].timestamp).total_seconds())
    return {"Total": len(transfers), "ByStatus": by_status, "InEffect": in_effect, "Answered": len(answers),
            "AnswerSecondsP50": percentile(answers, 0.5), "AnswerSecondsP90": percentile(answers, 0.9)}


def test_live_and_as_of_equal_the_lists(seeded: tuple[Ledger, demo.Seeded]) -> None:
    ledger, story = seeded
    managements = [org.management for org in story.organizations]
    instants: list[datetime] = [story.start + demo.SPAN * f for f in (0.001, 0.1, 0.5, 0.72, 0.9, 0.97)]
    readers = [ledger, *(ledger.at(instant) for instant in instants), ledger.at(story.end + timedelta(days=5))]
    seen = set()
    for reader in readers:
        expected = recomputed(ledger, reader, managements)
        assert reader.transfer_analytics() == expected, reader.now()
        seen |= {status for status, n in expected["ByStatus"].items() if n}
    live = ledger.transfer_analytics()
    assert live["Total"] == 4 and live["InEffect"] >= 1 and live["Answered"] == 3
    assert seen >= {"REQUESTED", "ACCEPTED", "DECLINED", "WITHDRAWN"}
    assert ledger.at(story.start).transfer_analytics()["Total"] == 0


def test_retention_hides_nothing_from_the_analytics(seeded: tuple[Ledger, demo.Seeded]) -> None:
    """Forty days after the story the declined transfer is gone from the Lists (decision 26), not
    from the counts: as with the handshakes' analytics, history stays."""
    ledger, story = seeded
    later = ledger.at(story.end + timedelta(days=40))
    managements = [org.management for org in story.organizations]
    shown = {s["Status"] for s in listed(later, managements).values()}
    counted = later.transfer_analytics()
    assert "DECLINED" not in shown and counted["ByStatus"]["DECLINED"] == 1 and counted["Total"] == 4


def test_an_unanswered_invitation_counts_as_expired_after_its_expiry(seeded: tuple[Ledger, demo.Seeded]) -> None:
    ledger, story = seeded
    _, transfer_id, inviter = next(t for t in story.transfers if t[0] == "requested")
    invited: Any = next(iter(ledger.app.events.get(transfer_id)))
    expires = ledger.client(inviter).describe_handshake(HandshakeId=invited.handshake_id)["Handshake"][
        "ExpirationTimestamp"]
    before, after = (ledger.at(expires + delta).transfer_analytics()["ByStatus"]
                     for delta in (-timedelta(seconds=1), timedelta(seconds=1)))
    assert (before["REQUESTED"], before["EXPIRED"]) == (1, 0) and (after["REQUESTED"], after["EXPIRED"]) == (0, 1)

