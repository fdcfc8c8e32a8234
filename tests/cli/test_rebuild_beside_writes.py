"""``handshake-ledger rebuild`` while another process writes to the same ledger (a server taking
commands, its view catching up): the rebuild waits its turn for the store's write lock instead of
failing ("database is locked" on SQLite), no command is refused, and the view it leaves catches up
to the same rows a rebuild from scratch makes."""

from __future__ import annotations

import threading
from pathlib import Path

from ledger import open_ledger
from ledger.service_layer.application import Limits
from tests.cli.runner import cli
from tests.conftest import new_location
from tests.integration.test_rebuild_in_bulk import every_row

LIMITS = Limits(accounts_per_organization=100_000, invitations_per_day=100_000)


def test_a_rebuild_beside_a_writer(tmp_path: Path) -> None:
    with new_location(tmp_path) as location, open_ledger(location, limits=LIMITS) as ledger:
        management = ledger.client("100000000001")
        management.create_organization(FeatureSet="ALL")
        for n in range(300):  # a log long enough that the rebuild's transactions overlap the writes
            management.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": f"{300000000000 + n:012d}"})
        ledger.catch_up()
        stop, failures, written = threading.Event(), [], [0]

        def writer() -> None:
            n = 0
            while not stop.is_set():
                account = f"{400000000000 + n:012d}"
                try:
                    handshake = management.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": account})
                    ledger.client(account).decline_handshake(HandshakeId=handshake["Handshake"]["Id"])
                    ledger.catch_up()
                    written[0] += 1
                except Exception as error:  # noqa: BLE001 - every failure is reported below
                    failures.append(repr(error))
                n += 1

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            rebuilds = [cli("rebuild", "--data", location, timeout=120) for _ in range(3)]
        finally:
            stop.set()
            thread.join()
        assert [(r.code, r.err.strip().splitlines()[-1:]) for r in rebuilds if r.code] == []
        assert failures == [] and written[0] > 0
        ledger.catch_up()
        caught_up = every_row(ledger)
        ledger.rebuild()
        assert every_row(ledger) == caught_up
