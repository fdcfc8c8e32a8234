"""The Organization aggregate: membership, feature set, and the invitations that count toward quotas.

Quotas are computed from this history (decision 12): open invitations are those sent and
neither closed by an event nor past their expiration at the instant of the check; the daily
quota counts the invitations sent in the last 24 hours except those accepted since.

Emails and names are not kept here: the account directory (decision 19) answers for them, so
the ``management_email``/``management_name`` and member ``email``/``name`` fields that the
events carry (as they were at that moment) are not read.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any, Callable

from eventsourcing.domain import event

from ledger.aggregate import LedgerAggregate

ALL, CONSOLIDATED_BILLING = "ALL", "CONSOLIDATED_BILLING"
RATE_WINDOW = timedelta(hours=24)


class Organization(LedgerAggregate):
    TOPIC = "handshake-ledger:Organization"

    @event("Created", topic="handshake-ledger:Organization.Created:v1")
    def __init__(
        self,
        id: str,
        root_id: str,
        feature_set: str,
        management_account_id: str,
        management_email: str,
        management_name: str,
        actor: str,
        request_id: str | None,
        timestamp: datetime,
    ) -> None:
        self.root_id = root_id
        self.feature_set = feature_set
        self.management_account_id = management_account_id
        self.members: dict[str, dict[str, Any]] = {
            management_account_id: {"joined_method": "CREATED", "joined_at": timestamp}
        }
        # handshake id -> {target, requested_at, expires_at, open, accepted}; pruned as it ages.
        # ``target``: the account id, or ``email:<address>`` as sent (resolved when compared).
        self.invitations: dict[str, dict[str, Any]] = {}
        self.all_features_request: dict[str, Any] | None = None
        self.deleted = False

    def __deepcopy__(self, memo: dict[int, Any]) -> Organization:
        """The copy the aggregate cache hands out, without copying every member's entry.

        Member entries are replaced, never changed in place, so copies may share them; a deep
        copy cost O(members) per command (7 ms at 3,000 members). Invitation entries do change
        in place, and stay few (open ones and the last 24 hours').
        """
        clone = copy.copy(self)
        clone.members = dict(self.members)
        clone.invitations = {h: dict(i) for h, i in self.invitations.items()}
        clone.all_features_request = copy.copy(self.all_features_request)
        clone._pending_events = list(self._pending_events)
        return clone

    # -- reading ------------------------------------------------------------------------

    def open_invitations(self, now: datetime) -> dict[str, dict[str, Any]]:
        return {h: i for h, i in self.invitations.items() if i["open"] and now < i["expires_at"]}

    def open_invitation_to(self, target: str, now: datetime, resolve: Callable[[str], str]) -> str | None:
        """An open invitation whose target resolves (now) to the same ``target`` (decision 12)."""
        for handshake_id, invitation in self.open_invitations(now).items():
            if resolve(invitation["target"]) == target:
                return handshake_id
        return None

    def invitations_sent_since(self, since: datetime) -> int:
        """What the daily quota counts: invitations sent after ``since``, unless accepted since."""
        return sum(1 for i in self.invitations.values() if i["requested_at"] > since and not i.get("accepted"))

    def pending_all_features(self, now: datetime) -> str | None:
        """The id of the ENABLE_ALL_FEATURES handshake in progress, if any."""
        request = self.all_features_request
        if request and now < request["expires_at"]:
            return str(request["handshake_id"])
        return None

    # -- recorded changes ---------------------------------------------------------------

    @event("InvitationSent", topic="handshake-ledger:Organization.InvitationSent:v1")
    def record_invitation(
        self, handshake_id: str, target: str, expires_at: datetime, actor: str, request_id: str | None, timestamp: datetime
    ) -> None:
        self._prune(timestamp)
        self.invitations[handshake_id] = {
            "target": target, "requested_at": timestamp, "expires_at": expires_at, "open": True, "accepted": False,
        }

    @event("InvitationClosed", topic="handshake-ledger:Organization.InvitationClosed:v1")
    def close_invitation(self, handshake_id: str, outcome: str, actor: str, request_id: str | None, timestamp: datetime) -> None:
        if handshake_id in self.invitations:
            self.invitations[handshake_id]["open"] = False
        self._prune(timestamp)

    @event("MemberJoined", topic="handshake-ledger:Organization.MemberJoined:v1")
    def admit_member(
        self,
        account_id: str,
        email: str,
        name: str,
        handshake_id: str,
        tags: list[dict[str, str]],
        actor: str,
        request_id: str | None,
        timestamp: datetime,
    ) -> None:
        self.members[account_id] = {"joined_method": "INVITED", "joined_at": timestamp, "tags": tags}
        if handshake_id in self.invitations:
            self.invitations[handshake_id].update(open=False, accepted=True)

    @event("MemberLeft", topic="handshake-ledger:Organization.MemberLeft:v1")
    def release_member(self, account_id: str, removed: bool, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.members.pop(account_id, None)

    @event("AllFeaturesRequested", topic="handshake-ledger:Organization.AllFeaturesRequested:v1")
    def start_all_features(
        self, handshake_id: str, expires_at: datetime, actor: str, request_id: str | None, timestamp: datetime
    ) -> None:
        self.all_features_request = {"handshake_id": handshake_id, "expires_at": expires_at}

    @event("AllFeaturesRequestEnded", topic="handshake-ledger:Organization.AllFeaturesRequestEnded:v1")
    def end_all_features_request(self, handshake_id: str, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.all_features_request = None

    @event("AllFeaturesEnabled", topic="handshake-ledger:Organization.AllFeaturesEnabled:v1")
    def enable_all_features(self, handshake_id: str, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.feature_set = ALL
        self.all_features_request = None

    @event("Deleted", topic="handshake-ledger:Organization.Deleted:v1")
    def delete(self, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.deleted = True
        self.members = {}

    def _prune(self, now: datetime) -> None:
        """Forget invitations that no longer count for anything: not open, and out of the rate window."""
        horizon = now - RATE_WINDOW
        self.invitations = {
            h: i for h, i in self.invitations.items()
            if i["requested_at"] > horizon or (i["open"] and now < i["expires_at"])
        }
