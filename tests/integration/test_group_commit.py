"""Group commit: commands that arrive together share a transaction, and every rule holds.

Threads of one process and several processes send commands at once; afterwards the log has every
acknowledged command, no aggregate has a gap in its versions, and the quotas and membership rules
held as if the commands had run one by one.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError
from eventsourcing.application import Application

from ledger import open_ledger
from ledger.service_layer.application import Limits
from tests.integration.processes import run_workers, shared_organizations_worker

LIMITS = Limits(accounts_per_organization=5, invitations_per_day=1000)
MANAGERS = [f"1000000000{n:02d}" for n in range(4)]


def versions_have_no_gap(ledger: Any) -> None:
    by_aggregate: dict[str, list[int]] = {}
    for notification in ledger.app.recorder.select_notifications(start=0, limit=10**6):
        by_aggregate.setdefault(notification.originator_id, []).append(notification.originator_version)
    for aggregate_id, versions in by_aggregate.items():
        assert versions == list(range(1, len(versions) + 1)), aggregate_id


def at_once(calls: list[Any]) -> list[str]:
    """Run the calls on threads released together; each one's outcome: "ok" or its error code."""
    outcomes: list[str] = [""] * len(calls)
    start = threading.Barrier(len(calls))

    def run(n: int) -> None:
        start.wait()
        try:
            calls[n]()
            outcomes[n] = "ok"
        except ClientError as error:
            outcomes[n] = str(error.response["Error"]["Code"]) + ":" + str(error.response.get("Reason"))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


class TestOneProcess:
    def test_commands_arriving_together_share_transactions_and_the_quota_holds(self, data_location):
        with open_ledger(data_location, limits=LIMITS) as ledger:
            for manager in MANAGERS:
                ledger.client(manager).create_organization()
            batches: list[int] = []
            real_commit = ledger.app.runner._commit
            ledger.app.runner._commit = lambda batch: (batches.append(len(batch)), real_commit(batch))[1]
            calls = [lambda m=m, n=n: ledger.client(m).invite_account_to_organization(
                Target={"Type": "ACCOUNT", "Id": f"2000000{MANAGERS.index(m):01d}{n:04d}"})
                for m in MANAGERS for n in range(8)]
            outcomes = at_once(calls)
            del ledger.app.runner._commit
            by_manager = [Counter(outcomes[i * 8:(i + 1) * 8]) for i in range(len(MANAGERS))]
            # 5 accounts per organization: the management account and 4 open invitations.
            assert by_manager == [Counter({"ok": 4, "HandshakeConstraintViolationException:"
                                           "ACCOUNT_NUMBER_LIMIT_EXCEEDED": 4})] * len(MANAGERS)
            assert max(batches) > 1  # some commands shared a transaction
            versions_have_no_gap(ledger)
            for manager in MANAGERS:
                listed = ledger.client(manager).list_handshakes_for_organization()["Handshakes"]
                assert len(listed) == 4

    def test_each_caller_reads_its_own_write_at_once(self, data_location):
        """Read-your-writes when queries no longer catch the view up (a server follows the log):
        commands that commit together are caught up once, and each caller's next read has its own."""
        with open_ledger(data_location, limits=LIMITS) as ledger:
            for manager in MANAGERS:
                ledger.client(manager).create_organization()
            ledger.follow(interval=3600)  # the follower never runs during the test

            def invite_then_list(manager: str, n: int) -> None:
                client = ledger.client(manager)
                sent = client.invite_account_to_organization(
                    Target={"Type": "ACCOUNT", "Id": f"3000000{MANAGERS.index(manager):01d}{n:04d}"})
                listed = [h["Id"] for h in client.list_handshakes_for_organization()["Handshakes"]]
                assert sent["Handshake"]["Id"] in listed

            calls = [lambda m=m, n=n: invite_then_list(m, n) for m in MANAGERS for n in range(4)]
            assert at_once(calls) == ["ok"] * len(calls)

    def test_racing_answers_to_one_handshake_have_one_outcome(self, data_location):
        with open_ledger(data_location) as ledger:
            mgmt, alice = ledger.client(MANAGERS[0]), ledger.client("222222222222")
            mgmt.create_organization()
            handshake_id = mgmt.invite_account_to_organization(
                Target={"Type": "ACCOUNT", "Id": "222222222222"})["Handshake"]["Id"]
            outcomes = at_once([lambda: alice.accept_handshake(HandshakeId=handshake_id)] * 4
                               + [lambda: alice.decline_handshake(HandshakeId=handshake_id)] * 4
                               + [lambda: mgmt.cancel_handshake(HandshakeId=handshake_id)] * 4)
            assert outcomes.count("ok") == 1
            trail = ledger.history(handshake_id)
            recorded = [e.what for e in trail if not e.refused]
            assert len(recorded) == 2 and recorded[0] == "Requested"
            assert sum(e.refused for e in trail) == 11  # every loser's attempt is in the audit
            versions_have_no_gap(ledger)

    def test_a_call_runs_its_command_once_with_its_audit_record(self, data_location):
        """One entry into running a command: the call's audit goes with its one run."""
        with open_ledger(data_location) as ledger:
            runner, runs = ledger.app.runner, []
            real_run = runner.run
            runner.run = lambda work, audit=None: (runs.append(audit), real_run(work, audit))[1]
            try:
                organization = ledger.client(MANAGERS[0]).create_organization()["Organization"]
            finally:
                del runner.run
            assert len(runs) == 1 and runs[0].answer_given == {"Organization": organization}
            trail = ledger.client(MANAGERS[0], "cloudtrail").lookup_events()["Events"]
            # the call once, and the management account's joining it caused (decision 29), newest first
            assert [e["EventName"] for e in trail] == ["AccountJoinedOrganization", "CreateOrganization"]

    def test_a_command_inside_a_command_is_refused_not_waited_for(self, data_location):
        with open_ledger(data_location) as ledger:
            app = ledger.app
            with pytest.raises(RuntimeError, match="inside another command"):
                app.execute(lambda: app.register_account("222222222222"))
            assert ledger.client(MANAGERS[0]).create_organization()["Organization"]  # the turn was given back

    def test_a_failed_group_runs_each_command_again_on_its_own(self, data_location):
        with open_ledger(data_location, limits=LIMITS) as ledger:
            app = ledger.app
            mgmt = ledger.client(MANAGERS[0])
            organization_id = mgmt.create_organization()["Organization"]["Id"]
            interfered: list[bool] = []
            real_commit = app.runner._commit

            def competitor() -> None:  # another writer changes the organization under the group
                organization = app.repository.get(organization_id)
                organization.close_invitation(handshake_id="h-unrelated00", outcome="CANCELED", actor=MANAGERS[0],
                                              request_id=None, timestamp=ledger.now())
                Application.save(app, organization)

            def commit(batch: list[Any]) -> None:
                if not interfered:
                    interfered.append(True)
                    thread = threading.Thread(target=competitor)
                    thread.start()
                    thread.join()
                real_commit(batch)

            app.runner._commit = commit
            outcomes = at_once([lambda n=n: mgmt.invite_account_to_organization(
                Target={"Type": "ACCOUNT", "Id": f"30000000000{n}"}) for n in range(4)])
            del app.runner._commit
            assert outcomes == ["ok"] * 4
            assert len(mgmt.list_handshakes_for_organization()["Handshakes"]) == 4
            versions_have_no_gap(ledger)


class TestManyProcesses:
    def test_every_rule_holds_with_processes_on_many_organizations(self, data_location):
        limits = Limits(accounts_per_organization=6, invitations_per_day=1000)
        with open_ledger(data_location, limits=limits) as ledger:
            organizations = {m: ledger.client(m).create_organization()["Organization"]["Id"] for m in MANAGERS}
        accounts = [f"4000000000{n:02d}" for n in range(12)]
        outcomes = run_workers(shared_organizations_worker,
                               [(data_location, limits, MANAGERS, accounts, seed) for seed in range(4)])
        assert not [o for o in outcomes if o[3].startswith("unexpected")], outcomes
        succeeded = Counter(move for move, _, _, outcome in outcomes if outcome == "ok")
        assert succeeded["invite"] and succeeded["accept"], succeeded  # a story, not only refusals
        with open_ledger(data_location, limits=limits) as ledger:
            versions_have_no_gap(ledger)
            members: Counter[str] = Counter()
            for manager in MANAGERS:
                client = ledger.client(manager)
                accounts_now = [a["Id"] for a in client.list_accounts()["Accounts"]]
                members.update(a for a in accounts_now if a != manager)
                open_ones = [h for h in client.list_handshakes_for_organization()["Handshakes"]
                             if h["State"] == "OPEN"]
                assert len(accounts_now) + len(open_ones) <= limits.accounts_per_organization
                targets = [p["Id"] for h in open_ones for p in h["Parties"] if p["Type"] == "ACCOUNT"]
                assert len(targets) == len(set(targets))  # no duplicate open invitation
                assert ledger.client(manager).describe_organization()["Organization"]["Id"] == organizations[manager]
            assert all(count == 1 for count in members.values())  # an account is in one organization at a time
            for account in members:
                home = ledger.client(account).describe_organization()["Organization"]["MasterAccountId"]
                assert account in [a["Id"] for a in ledger.client(home).list_accounts()["Accounts"]]
