"""The Organization aggregate: membership, feature set, the invitations that count toward quotas,
and what the management account enabled (trusted access for AWS services, policy types on the root).

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

from ledger.domain import errors
from ledger.domain.aggregate import LedgerAggregate, LedgerCreated

ALL, CONSOLIDATED_BILLING = "ALL", "CONSOLIDATED_BILLING"
RATE_WINDOW = timedelta(hours=24)
# How often, at most, the invitations that no longer count are forgotten (every reader filters by
# time anyway: pruning keeps the aggregate small, and each prune costs a pass over the invitations).
# Once per rate window: an organization holds at most two windows of invitations besides its open
# ones; hourly, an organization inviting about once an hour (the bulk demo) paid a pass per invitation.
PRUNE_EVERY = RATE_WINDOW


def check_all_features(feature_set: str) -> None:
    """Trusted access for AWS services needs all features: ConstraintViolationException
    ORGANIZATION_NOT_IN_ALL_FEATURES_MODE otherwise (the message is AWS's)."""
    if feature_set != ALL:
        raise errors.ConstraintViolationException(
            "The request failed because the organization does not have all features enabled. "
            "Please enable all features in your organization and then retry.",
            "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE",
        )


class Organization(LedgerAggregate):
    TOPIC = "handshake-ledger:Organization"

    # -- events: the stored topics are the refactor-proof names of these classes ----------

    class Event(LedgerAggregate.Event):
        pass

    class Created(Event, LedgerCreated):
        TOPIC = "handshake-ledger:Organization.Created:v1"
        root_id: str
        feature_set: str
        management_account_id: str
        management_email: str
        management_name: str

    class InvitationSent(Event):
        TOPIC = "handshake-ledger:Organization.InvitationSent:v1"
        handshake_id: str
        target: str
        expires_at: datetime

    class InvitationClosed(Event):
        TOPIC = "handshake-ledger:Organization.InvitationClosed:v1"
        handshake_id: str
        outcome: str

    class MemberJoined(Event):
        TOPIC = "handshake-ledger:Organization.MemberJoined:v1"
        account_id: str
        email: str
        name: str
        handshake_id: str
        tags: list[dict[str, str]]

    class MemberLeft(Event):
        TOPIC = "handshake-ledger:Organization.MemberLeft:v1"
        account_id: str
        removed: bool

    class AllFeaturesRequested(Event):
        TOPIC = "handshake-ledger:Organization.AllFeaturesRequested:v1"
        handshake_id: str
        expires_at: datetime

    class AllFeaturesRequestEnded(Event):
        TOPIC = "handshake-ledger:Organization.AllFeaturesRequestEnded:v1"
        handshake_id: str

    class AllFeaturesEnabled(Event):
        TOPIC = "handshake-ledger:Organization.AllFeaturesEnabled:v1"
        handshake_id: str

    class ServiceAccessEnabled(Event):
        TOPIC = "handshake-ledger:Organization.ServiceAccessEnabled:v1"
        service_principal: str

    class ServiceAccessDisabled(Event):
        TOPIC = "handshake-ledger:Organization.ServiceAccessDisabled:v1"
        service_principal: str

    class PolicyTypeEnabled(Event):
        TOPIC = "handshake-ledger:Organization.PolicyTypeEnabled:v1"
        root_id: str
        policy_type: str

    class PolicyTypeDisabled(Event):
        TOPIC = "handshake-ledger:Organization.PolicyTypeDisabled:v1"
        root_id: str
        policy_type: str

    class TransferJoined(Event):
        TOPIC = "handshake-ledger:Organization.TransferJoined:v1"
        transfer_id: str
        side: str

    class Deleted(Event):
        TOPIC = "handshake-ledger:Organization.Deleted:v1"

    @event(Created)
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
        self.pruned_at: datetime | None = None  # when the invitations were last pruned
        self.all_features_request: dict[str, Any] | None = None
        self.service_access: dict[str, datetime] = {}  # service principal -> DateEnabled
        self.policy_types: list[str] = []  # enabled in the root, in the order enabled
        self.transfers: dict[str, str] = {}  # responsibility transfer id -> side ("inbound"/"outbound")
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
        clone.service_access = dict(self.service_access)
        clone.policy_types = list(self.policy_types)
        clone.transfers = dict(self.transfers)
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

    def check_all_features(self) -> None:
        check_all_features(self.feature_set)

    def _check_root(self, root_id: str) -> None:
        if root_id != self.root_id:
            raise errors.RootNotFoundException(f"We can't find a root with the RootId {root_id}.")

    # -- guarded commands: trusted access and policy types ---------------------------------

    def enable_service_access(self, service_principal: str, *, actor: str, request_id: str | None,
                              timestamp: datetime) -> None:
        """Enabling an enabled service changes nothing and records nothing."""
        self.check_all_features()
        if service_principal not in self.service_access:
            self._service_access_enabled(service_principal=service_principal, actor=actor,
                                         request_id=request_id, timestamp=timestamp)

    def disable_service_access(self, service_principal: str, *, actor: str, request_id: str | None,
                               timestamp: datetime) -> None:
        """Disabling a service that is not enabled changes nothing and records nothing."""
        self.check_all_features()
        if service_principal in self.service_access:
            self._service_access_disabled(service_principal=service_principal, actor=actor,
                                          request_id=request_id, timestamp=timestamp)

    def enable_policy_type(self, root_id: str, policy_type: str, *, actor: str, request_id: str | None,
                           timestamp: datetime) -> None:
        self._check_root(root_id)
        if self.feature_set != ALL:
            raise errors.PolicyTypeNotAvailableForOrganizationException(
                f"You can enable {policy_type} only after you enable all features in the organization."
            )
        if policy_type in self.policy_types:
            raise errors.PolicyTypeAlreadyEnabledException(f"{policy_type} is already enabled in root {root_id}.")
        self._policy_type_enabled(root_id=root_id, policy_type=policy_type, actor=actor,
                                  request_id=request_id, timestamp=timestamp)

    def disable_policy_type(self, root_id: str, policy_type: str, *, actor: str, request_id: str | None,
                            timestamp: datetime) -> None:
        self._check_root(root_id)
        if policy_type not in self.policy_types:
            raise errors.PolicyTypeNotEnabledException(f"{policy_type} isn't currently enabled in root {root_id}.")
        self._policy_type_disabled(root_id=root_id, policy_type=policy_type, actor=actor,
                                   request_id=request_id, timestamp=timestamp)

    # -- recorded changes ---------------------------------------------------------------

    @event(InvitationSent)
    def record_invitation(
        self, handshake_id: str, target: str, expires_at: datetime, actor: str, request_id: str | None, timestamp: datetime
    ) -> None:
        self._prune(timestamp)
        self.invitations[handshake_id] = {
            "target": target, "requested_at": timestamp, "expires_at": expires_at, "open": True, "accepted": False,
        }

    @event(InvitationClosed)
    def close_invitation(self, handshake_id: str, outcome: str, actor: str, request_id: str | None, timestamp: datetime) -> None:
        if handshake_id in self.invitations:
            self.invitations[handshake_id]["open"] = False
        self._prune(timestamp)

    @event(MemberJoined)
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

    @event(MemberLeft)
    def release_member(self, account_id: str, removed: bool, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.members.pop(account_id, None)

    @event(AllFeaturesRequested)
    def start_all_features(
        self, handshake_id: str, expires_at: datetime, actor: str, request_id: str | None, timestamp: datetime
    ) -> None:
        self.all_features_request = {"handshake_id": handshake_id, "expires_at": expires_at}

    @event(AllFeaturesRequestEnded)
    def end_all_features_request(self, handshake_id: str, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.all_features_request = None

    @event(AllFeaturesEnabled)
    def enable_all_features(self, handshake_id: str, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.feature_set = ALL
        self.all_features_request = None

    @event(ServiceAccessEnabled)
    def _service_access_enabled(self, service_principal: str, actor: str, request_id: str | None,
                                timestamp: datetime) -> None:
        self.service_access[service_principal] = timestamp

    @event(ServiceAccessDisabled)
    def _service_access_disabled(self, service_principal: str, actor: str, request_id: str | None,
                                 timestamp: datetime) -> None:
        self.service_access.pop(service_principal, None)

    @event(PolicyTypeEnabled)
    def _policy_type_enabled(self, root_id: str, policy_type: str, actor: str, request_id: str | None,
                             timestamp: datetime) -> None:
        self.policy_types.append(policy_type)

    @event(PolicyTypeDisabled)
    def _policy_type_disabled(self, root_id: str, policy_type: str, actor: str, request_id: str | None,
                              timestamp: datetime) -> None:
        self.policy_types.remove(policy_type)

    @event(TransferJoined)
    def record_transfer(self, transfer_id: str, side: str, actor: str, request_id: str | None,
                        timestamp: datetime) -> None:
        """The organization is a party to a responsibility transfer: as inviter (inbound) or invitee (outbound)."""
        self.transfers = {**self.transfers, transfer_id: side}

    @event(Deleted)
    def delete(self, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.deleted = True
        self.members = {}

    def _prune(self, now: datetime) -> None:
        """Forget invitations that no longer count for anything: not open, and out of the rate window
        (at most once per ``PRUNE_EVERY``: readers filter by time, so an entry kept longer changes no answer)."""
        pruned_at = getattr(self, "pruned_at", None)  # snapshots taken before it existed lack it
        if pruned_at is not None and now - pruned_at < PRUNE_EVERY:
            return
        self.pruned_at = now
        horizon = now - RATE_WINDOW
        self.invitations = {
            h: i for h, i in self.invitations.items()
            if i["requested_at"] > horizon or (i["open"] and now < i["expires_at"])
        }
