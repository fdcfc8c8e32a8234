"""The topics the aggregates register, and the fields of each event: stored data depends on both.

A stored event names its class by topic and carries its fields by name; renaming either would
leave the events already stored unreadable. These lists are literal on purpose.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import resolve_topic

from ledger.domain.account import Account, EmailClaim
from ledger.domain.handshake import Handshake
from ledger.domain.organization import Organization
from ledger.domain.transfer import ResponsibilityTransfer

ENVELOPE = ["originator_id", "originator_version", "timestamp", "actor", "request_id"]
CREATED = [*ENVELOPE, "originator_topic"]
AT = datetime(2026, 1, 1, tzinfo=timezone.utc)

AGGREGATE_TOPICS = {
    Handshake: "handshake-ledger:Handshake",
    Organization: "handshake-ledger:Organization",
    Account: "handshake-ledger:Account",
    EmailClaim: "handshake-ledger:EmailClaim",
    ResponsibilityTransfer: "handshake-ledger:ResponsibilityTransfer",
}

EVENT_TOPICS: dict[type, dict[str, list[str]]] = {
    Handshake: {
        "handshake-ledger:Handshake.Created:v1": [
            *CREATED, "action", "arn", "organization_id", "sender_account_id", "recipient_account_id",
            "target_type", "target_id", "parties", "resources", "state", "expires_at", "parent_id", "children",
            "tags"],
        "handshake-ledger:Handshake.Accepted:v1": ENVELOPE,
        "handshake-ledger:Handshake.Declined:v1": ENVELOPE,
        "handshake-ledger:Handshake.Canceled:v1": [*ENVELOPE, "cause"],
        "handshake-ledger:Handshake.ChildAccepted:v1": [*ENVELOPE, "child_id"],
        "handshake-ledger:Handshake.ChildWithdrawn:v1": [*ENVELOPE, "child_id"],
    },
    Organization: {
        "handshake-ledger:Organization.Created:v1": [
            *CREATED, "root_id", "feature_set", "management_account_id", "management_email", "management_name"],
        "handshake-ledger:Organization.InvitationSent:v1": [*ENVELOPE, "handshake_id", "target", "expires_at"],
        "handshake-ledger:Organization.InvitationClosed:v1": [*ENVELOPE, "handshake_id", "outcome"],
        "handshake-ledger:Organization.MemberJoined:v1": [
            *ENVELOPE, "account_id", "email", "name", "handshake_id", "tags"],
        "handshake-ledger:Organization.MemberLeft:v1": [*ENVELOPE, "account_id", "removed"],
        "handshake-ledger:Organization.AllFeaturesRequested:v1": [*ENVELOPE, "handshake_id", "expires_at"],
        "handshake-ledger:Organization.AllFeaturesRequestEnded:v1": [*ENVELOPE, "handshake_id"],
        "handshake-ledger:Organization.AllFeaturesEnabled:v1": [*ENVELOPE, "handshake_id"],
        "handshake-ledger:Organization.ServiceAccessEnabled:v1": [*ENVELOPE, "service_principal"],
        "handshake-ledger:Organization.ServiceAccessDisabled:v1": [*ENVELOPE, "service_principal"],
        "handshake-ledger:Organization.PolicyTypeEnabled:v1": [*ENVELOPE, "root_id", "policy_type"],
        "handshake-ledger:Organization.PolicyTypeDisabled:v1": [*ENVELOPE, "root_id", "policy_type"],
        "handshake-ledger:Organization.TransferJoined:v1": [*ENVELOPE, "transfer_id", "side"],
        "handshake-ledger:Organization.Deleted:v1": ENVELOPE,
    },
    Account: {
        "handshake-ledger:Account.Created:v1": [*CREATED, "email", "name"],
        "handshake-ledger:Account.ProfileChanged:v1": [*ENVELOPE, "email", "name"],
        "handshake-ledger:Account.JoinedOrganization:v1": [*ENVELOPE, "organization_id", "method", "handshake_id"],
        "handshake-ledger:Account.LeftOrganization:v1": [*ENVELOPE, "organization_id"],
    },
    EmailClaim: {
        "handshake-ledger:EmailClaim.Created:v1": [*CREATED, "account_id"],
        "handshake-ledger:EmailClaim.Released:v1": ENVELOPE,
        "handshake-ledger:EmailClaim.Reclaimed:v1": [*ENVELOPE, "account_id"],
    },
    ResponsibilityTransfer: {
        "handshake-ledger:ResponsibilityTransfer.Created:v1": CREATED,
        "handshake-ledger:ResponsibilityTransfer.Invited:v1": [
            *CREATED, "type", "name", "handshake_id", "inviter_account_id", "inviter_organization_id",
            "target_type", "target_id", "start_at", "expires_at", "notes", "tags"],
        "handshake-ledger:ResponsibilityTransfer.Accepted:v1": [
            *ENVELOPE, "source_account_id", "source_organization_id", "notified", "transfer"],
        "handshake-ledger:ResponsibilityTransfer.Declined:v1": ENVELOPE,
        "handshake-ledger:ResponsibilityTransfer.Canceled:v1": ENVELOPE,
        "handshake-ledger:ResponsibilityTransfer.Withdrawn:v1": [*ENVELOPE, "end_at", "notified", "transfer"],
        "handshake-ledger:ResponsibilityTransfer.Renamed:v1": [*ENVELOPE, "side", "name"],
    },
}


def declared_events(aggregate: type) -> dict[str, type]:
    """The event classes an aggregate class holds (its ``Event`` base aside), by their topic."""
    return {event.TOPIC: event for name, event in vars(aggregate).items()
            if isinstance(event, type) and issubclass(event, CanMutateAggregate) and name != "Event"}


class TestStoredTopics:
    def test_each_aggregate_registers_its_own_topic(self):
        for aggregate, topic in AGGREGATE_TOPICS.items():
            assert aggregate.TOPIC == topic
            assert resolve_topic(topic) is aggregate

    def test_the_set_of_event_topics_is_unchanged(self):
        for aggregate, topics in EVENT_TOPICS.items():
            assert set(declared_events(aggregate)) == set(topics), aggregate.__name__

    def test_each_topic_resolves_to_the_class_that_records_it(self):
        for aggregate in EVENT_TOPICS:
            for topic, event in declared_events(aggregate).items():
                assert resolve_topic(topic) is event
                assert event.__qualname__ == f"{aggregate.__name__}.{topic.split('.')[1].split(':')[0]}"

    def test_each_event_keeps_its_field_names(self):
        for aggregate, topics in EVENT_TOPICS.items():
            events = declared_events(aggregate)
            for topic, fields in topics.items():
                assert [f.name for f in dataclasses.fields(events[topic])] == fields, topic

    def test_a_command_records_the_declared_event(self):
        handshake = Handshake(id="h-1", action="INVITE", arn="arn", organization_id="o-1", sender_account_id="1",
                              recipient_account_id="2", target_type="ACCOUNT", target_id="2", parties=[],
                              resources=[], state="OPEN", expires_at=AT + timedelta(days=15), parent_id=None,
                              children=[], tags=[], actor="1", request_id=None, timestamp=AT)
        handshake.decline(actor="2", request_id="r", timestamp=AT + timedelta(days=1))
        created, declined = handshake.collect_events()
        assert isinstance(created, Handshake.Created) and isinstance(declined, Handshake.Declined)
        assert (declined.actor, declined.request_id, handshake.state) == ("2", "r", "DECLINED")
