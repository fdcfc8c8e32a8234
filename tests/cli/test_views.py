"""list, analytics and rebuild: the views, now and as of an instant."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest

from ledger import open_ledger
from ledger.entrypoints.cli import build_parser, main
from ledger.entrypoints.cli_commands import Failure, rebuild
from tests.cli.conftest import Demo


def requested(demo: Demo, handshake_id: str) -> dict[str, Any]:
    """The handshake's first audit entry: its actor is the sender (the management account)."""
    return dict(demo.run("history", handshake_id, "--json").json()["History"][0])


@pytest.fixture(scope="module")
def busiest(demo: Demo) -> tuple[str, int]:
    """The management account whose organization lists the most handshakes now, and how many."""
    counts = {}
    with open_ledger(demo.data) as ledger:
        for organization in demo.summary["Organizations"]:
            client = ledger.client(organization["ManagementAccountId"])
            pages = client.get_paginator("list_handshakes_for_organization").paginate()
            counts[organization["ManagementAccountId"]] = sum(len(page["Handshakes"]) for page in pages)
    return max(counts.items(), key=lambda item: item[1])


def org_list(demo: Demo, *args: str) -> list[dict[str, Any]]:
    management = demo.organization("ALL")["ManagementAccountId"]
    answer = demo.run("list", "--organization", "--account", management, "--json", *args).json()
    return list(answer["Handshakes"])


class TestList:
    def test_organization_list_follows_every_page(self, demo: Demo, busiest: tuple[str, int]) -> None:
        management, listed = busiest
        handshakes = demo.run("list", "--organization", "--account", management, "--json").json()["Handshakes"]
        assert len(handshakes) == listed > 0
        ids = [h["Id"] for h in handshakes]
        assert len(set(ids)) == len(ids)
        assert [h["RequestedTimestamp"] for h in handshakes] == sorted((h["RequestedTimestamp"] for h in handshakes),
                                                                       reverse=True)

    def test_small_pages_give_the_same_list(self, demo: Demo, busiest: tuple[str, int]) -> None:
        management, listed = busiest
        paged = demo.run("list", "--organization", "--account", management, "--page-size", "3", "--json").json()
        assert len(paged["Handshakes"]) == listed > 3 * 2  # several NextToken round trips
        whole = demo.run("list", "--organization", "--account", management, "--json").json()
        assert paged == whole

    def test_page_size_over_twenty_is_refused_by_the_service(self, demo: Demo, busiest: tuple[str, int]) -> None:
        result = demo.run("list", "--organization", "--account", busiest[0], "--page-size", "21")
        assert result.code == 2 and result.err.startswith("handshake-ledger: error: InvalidInputException")

    def test_table_has_one_row_per_handshake_and_a_count(self, demo: Demo) -> None:
        management = demo.organization("ALL")["ManagementAccountId"]
        result = demo.run("list", "--organization", "--account", management)
        assert result.code == 0, result.err
        lines = result.out.splitlines()
        assert lines[0].split() == ["ID", "ACTION", "STATE", "REQUESTED", "EXPIRES", "ORGANIZATION", "TARGET"]
        rows = lines[1:lines.index("")]
        assert lines[-1] == f"{len(rows)} handshakes" and len(rows) == len(org_list(demo))

    def test_as_of_shows_the_expired_invitation_still_open(self, demo: Demo) -> None:
        expiry = demo.summary["Expiry"]
        management = requested(demo, expiry["Id"])["Actor"]
        before = (demo.expiry() - timedelta(hours=1)).isoformat()
        then = demo.run("list", "--organization", "--account", management, "--as-of", before, "--json").json()
        now = demo.run("list", "--organization", "--account", management, "--json").json()
        states = [next(h["State"] for h in answer["Handshakes"] if h["Id"] == expiry["Id"]) for answer in (then, now)]
        assert states == ["OPEN", "EXPIRED"]

    def test_relative_as_of_in_the_past_sees_fewer_handshakes(self, demo: Demo) -> None:
        assert len(org_list(demo, "--as-of", "-4w")) < len(org_list(demo))

    def test_action_filter(self, demo: Demo) -> None:
        invites = org_list(demo, "--action", "INVITE")
        assert invites and {h["Action"] for h in invites} == {"INVITE"}

    def test_every_action_of_the_model_filters(self, demo: Demo) -> None:
        """Billing transfers' handshakes too (the choices come from botocore's ActionType)."""
        found = [h for org in demo.summary["Organizations"] for h in demo.run(
            "list", "--organization", "--account", org["ManagementAccountId"], "--action", "TRANSFER_RESPONSIBILITY",
            "--json").json()["Handshakes"]]
        assert found and {h["Action"] for h in found} == {"TRANSFER_RESPONSIBILITY"}

    def test_parent_filter_lists_the_approvals(self, demo: Demo) -> None:
        parent = demo.tried("all features, finalized")
        management = requested(demo, parent)["Actor"]
        children = demo.run("list", "--organization", "--account", management, "--parent", parent, "--json").json()
        assert children["Handshakes"] and {h["Action"] for h in children["Handshakes"]} == {"APPROVE_ALL_FEATURES"}
        assert all({"Type": "PARENT_HANDSHAKE", "Value": parent} in h["Resources"] for h in children["Handshakes"])

    def test_for_account_lists_what_it_received(self, demo: Demo) -> None:
        handshake_id = demo.tried("invitation accepted by email")
        trail = demo.run("history", handshake_id, "--json").json()["History"]
        recipient = next(entry["Actor"] for entry in trail if entry["What"] == "Accepted")
        listed = demo.run("list", "--account", recipient, "--json").json()["Handshakes"]
        assert handshake_id in [h["Id"] for h in listed]


class TestAnalytics:
    def test_table_by_organization(self, demo: Demo) -> None:
        result = demo.run("analytics")
        assert result.code == 0, result.err
        header, *rows = result.out.splitlines()
        assert header.split()[:4] == ["ORGANIZATION", "ACTION", "TOTAL", "ACCEPTED"]
        assert {row.split()[0] for row in rows} == {o["Id"] for o in demo.summary["Organizations"]}

    def test_json_by_action_counts_every_outcome(self, demo: Demo) -> None:
        answer = demo.run("analytics", "--by", "action", "--json").json()
        assert answer["By"] == "action"
        rows = {row["Action"]: row for row in answer["Analytics"]}
        assert set(rows) == {"INVITE", "ENABLE_ALL_FEATURES", "APPROVE_ALL_FEATURES", "TRANSFER_RESPONSIBILITY"}
        invite = rows["INVITE"]
        assert all(invite[outcome] > 0 for outcome in ("Accepted", "Declined", "Canceled", "Expired", "Open"))
        assert invite["Total"] == sum(invite[o] for o in ("Accepted", "Declined", "Canceled", "Expired", "Open"))

    def test_csv_has_the_json_rows(self, demo: Demo) -> None:
        rows = list(csv.DictReader(io.StringIO(demo.run("analytics", "--csv").out)))
        as_json = demo.run("analytics", "--json").json()["Analytics"]
        assert [(r["OrganizationId"], r["Action"], int(r["Total"])) for r in rows] == \
            [(r["OrganizationId"], r["Action"], r["Total"]) for r in as_json]

    def test_as_of_before_the_story_counts_nothing(self, demo: Demo) -> None:
        start = demo.summary["From"]
        early = demo.run("analytics", "--by", "action", "--as-of", start[:10] + "T00:00:00Z", "--json").json()
        now = demo.run("analytics", "--by", "action", "--json").json()
        totals = [sum(row["Total"] for row in answer["Analytics"]) for answer in (early, now)]
        assert totals[0] == 0 < totals[1]


class TestRebuild:
    def test_rebuild_answers_the_same_list_and_analytics(self, demo: Demo) -> None:
        before = (org_list(demo), demo.run("analytics", "--json").json()["Analytics"])
        result = demo.run("rebuild")
        assert result.code == 0, result.err
        assert result.out.startswith(f"Rebuilt the handshake view from {demo.summary['Events']} events")
        assert "events/s" in result.err
        assert (org_list(demo), demo.run("analytics", "--json").json()["Analytics"]) == before

    def test_interrupted_rebuild_leaves_the_old_view_in_service(self, demo: Demo) -> None:
        before = (org_list(demo), demo.run("analytics", "--json").json()["Analytics"])

        def ctrl_c(position: int, batch_count: int) -> None:
            raise KeyboardInterrupt  # as if Ctrl-C came after the first batch of the replay

        with pytest.raises(Failure) as interrupted:
            rebuild(build_parser().parse_args(["rebuild", "--data", demo.data]), after_batch=ctrl_c)
        assert (interrupted.value.code, str(interrupted.value)) == (
            130, "rebuild interrupted: the previous view is still in service (run rebuild again)")
        assert (org_list(demo), demo.run("analytics", "--json").json()["Analytics"]) == before
        assert main(["rebuild", "--data", demo.data]) == 0
        assert (org_list(demo), demo.run("analytics", "--json").json()["Analytics"]) == before


class TestDiff:
    def test_what_changed_over_a_week(self, demo: Demo) -> None:
        answer = demo.run("diff", "--from", "-3w", "--to", "-2w", "--json").json()
        assert answer["Changes"]
        for change in answer["Changes"]:
            assert change["Before"] != change["After"]
            assert change["HandshakeId"] == (change["After"] or change["Before"])["Id"]

    def test_table_says_how_many_changed(self, demo: Demo) -> None:
        result = demo.run("diff", "--from", "-3w")
        assert result.code == 0, result.err
        assert result.out.splitlines()[0].split() == ["ID", "ACTION", "ORGANIZATION", "TARGET", "BEFORE", "AFTER"]
        assert re.fullmatch(r"\d+ handshakes changed(, \d+ transfers?)? between \S+ and \S+", result.out.splitlines()[-1])

    def test_one_organization_only(self, demo: Demo) -> None:
        organization = demo.summary["Organizations"][0]["Id"]
        changes = demo.run("diff", "--from", "-6w", "--organization", organization, "--json").json()["Changes"]
        handshakes = [c for c in changes if "HandshakeId" in c]
        assert handshakes and {c["After"]["Parties"][0]["Id"] for c in handshakes if c["After"]} == {organization}
        transfers = [c for c in changes if "ResponsibilityTransferId" in c]  # the demo's first organization pays
        assert transfers and all(f"/{organization}/" in (c["After"] or c["Before"])["Arn"] for c in transfers)


class TestHandshakeIds:
    def test_a_malformed_id_is_invalid_input_as_on_the_api(self, demo: Demo) -> None:
        result = demo.run("show", "bad")
        assert result.code == 2
        assert "InvalidInputException (INVALID_PATTERN)" in result.err


class TestRetentionWords:
    def test_show_says_when_the_api_no_longer_shows_a_handshake(self, demo: Demo) -> None:
        from ledger.entrypoints.cli_commands import past_retention

        with open_ledger(demo.data) as ledger:
            calls = ledger.app.recorder.select_calls("error_code IS NULL AND event_name = ?",
                                                     ["InviteAccountToOrganization"], order="event_time_us")
            ids = [name for call in calls for kind, name in call.resources if kind == "AWS::Organizations::Handshake"]
            now = ledger.now()
            gone = next(i for i in ids if past_retention(ledger, i, now))
            kept = next(i for i in reversed(ids) if not past_retention(ledger, i, now))
        result = demo.run("show", gone)
        assert result.code == 0 and "no longer show it" in result.out, result.err
        assert "no longer show" not in demo.run("show", kept).out

    def test_diff_explains_its_dash(self, demo: Demo) -> None:
        result = demo.run("diff", "--from", "-5w")
        assert result.code == 0, result.err
        assert "\n-: not shown by the API then" in result.out and " between " in result.out.splitlines()[-1]
