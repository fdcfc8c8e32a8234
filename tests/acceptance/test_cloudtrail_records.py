"""CloudTrail records of audit records, and LookupEvents on the endpoint."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from ledger.service_layer.audit import SERVICE_EVENT, ApiCall
from ledger.service_layer.requests import service_model
from ledger.entrypoints import cloudtrail
from ledger.entrypoints.accounts import Accounts
from ledger.entrypoints.aws_json import AwsJsonService
from ledger.entrypoints.cloudtrail import errors as cloudtrail_errors
from ledger.entrypoints.identity import Identity, SignedRequest
from ledger.domain.errors import error_classes
from projections.cloudtrail import cloudtrail_record, lookup_event

AT = datetime(2026, 5, 1, 12, 0, 7, 250_000, tzinfo=timezone.utc)
HANDSHAKE = "h-0123456789abcdef"
ARN = f"arn:aws:organizations::111111111111:handshake/o-abcdefghij/invite/{HANDSHAKE}"


def invite(**changes) -> ApiCall:
    fields = dict(
        event_time=AT, event_name="InviteAccountToOrganization", recipient_account_id="111111111111",
        account_id="111111111111", access_key_id="AKIAEXAMPLE", request_id="r-1", source_ip="192.0.2.7",
        user_agent="aws-cli/1.46", request_parameters={"Target": {"Type": "ACCOUNT", "Id": "222222222222"}},
        response_elements={"Handshake": {"Id": HANDSHAKE, "Arn": ARN, "State": "OPEN",
                                         "RequestedTimestamp": "2026-05-01T00:30:05Z",
                                         "ExpirationTimestamp": "2026-05-16T12:00:07Z"}},
        resources=(("AWS::Organizations::Handshake", HANDSHAKE), ("AWS::Organizations::Account", "222222222222")),
    )
    return ApiCall(**{**fields, **changes})


class TestApiCallRecord:
    def test_root_identity_time_to_the_second_and_the_fixed_fields(self):
        record = cloudtrail_record(invite())
        assert record["userIdentity"] == {"type": "Root", "principalId": "111111111111",
                                          "arn": "arn:aws:iam::111111111111:root", "accountId": "111111111111",
                                          "accessKeyId": "AKIAEXAMPLE"}
        assert (record["eventTime"], record["eventVersion"], record["awsRegion"]) == \
            ("2026-05-01T12:00:07Z", "1.11", "us-east-1")
        assert (record["readOnly"], record["managementEvent"], record["eventCategory"], record["eventType"]) == \
            (False, True, "Management", "AwsApiCall")
        assert (record["sourceIPAddress"], record["userAgent"], record["requestID"]) == ("192.0.2.7", "aws-cli/1.46", "r-1")

    def test_parameters_and_answer_in_lower_camel_case_with_cloudtrails_timestamps(self):
        record = cloudtrail_record(invite())
        assert record["requestParameters"] == {"target": {"type": "ACCOUNT", "id": "222222222222"}}
        handshake = record["responseElements"]["handshake"]
        assert (handshake["requestedTimestamp"], handshake["expirationTimestamp"]) == \
            ("May 1, 2026 12:30:05 AM", "May 16, 2026 12:00:07 PM")

    def test_resources_by_arn_or_account(self):
        assert cloudtrail_record(invite())["resources"] == [
            {"accountId": "111111111111", "type": "AWS::Organizations::Handshake", "ARN": ARN},
            {"accountId": "222222222222", "type": "AWS::Organizations::Account"}]

    def test_a_refusal_has_its_error_and_no_answer_and_no_arn_it_did_not_reveal(self):
        record = cloudtrail_record(invite(response_elements=None, error_code="AccessDeniedException",
                                          error_message="No.", resources=(("AWS::Organizations::Handshake", HANDSHAKE),)))
        assert (record["errorCode"], record["errorMessage"], record["responseElements"]) == \
            ("AccessDeniedException", "No.", None)
        assert "resources" not in record

    def test_in_process_is_aws_internal_and_no_parameters_is_null(self):
        record = cloudtrail_record(invite(source_ip=None, request_parameters={}, event_name="EnableAllFeatures"))
        assert (record["sourceIPAddress"], record["requestParameters"]) == ("AWS Internal", None)


class TestServiceEventRecord:
    def test_the_service_is_the_caller_and_its_details_are_there(self):
        joined = ApiCall(event_time=AT, event_name="AccountJoinedOrganization", event_type=SERVICE_EVENT,
                         recipient_account_id="111111111111", request_id="r-2",
                         resources=(("AWS::Organizations::Account", "222222222222"),
                                    ("AWS::Organizations::Organization", "o-abcdefghij")),
                         details={"accountId": "222222222222", "joinedMethod": "INVITED"})
        record = cloudtrail_record(joined)
        assert record["userIdentity"] == {"accountId": "111111111111", "invokedBy": "organizations.amazonaws.com"}
        assert record["sourceIPAddress"] == record["userAgent"] == "organizations.amazonaws.com"
        assert record["serviceEventDetails"] == {"accountId": "222222222222", "joinedMethod": "INVITED"}
        assert record["resources"][1]["ARN"] == "arn:aws:organizations::111111111111:organization/o-abcdefghij"
        event = lookup_event(joined)
        assert "Username" not in event and "AccessKeyId" not in event


class TestLookupEvent:
    def test_the_events_shape_of_botocores_model(self):
        call = invite()
        event = lookup_event(call)
        shape = service_model("cloudtrail").shape_for("Event")
        assert set(event) == set(shape.members)
        assert (event["Username"], event["ReadOnly"], event["EventTime"]) == ("root", "false", AT.replace(microsecond=0))
        assert json.loads(event["CloudTrailEvent"]) == cloudtrail_record(call)


class TestOnTheEndpoint:
    def test_every_modeled_error_of_lookup_events_has_a_class(self):
        classes = error_classes()
        for error in service_model("cloudtrail").operation_model("LookupEvents").error_shapes:
            assert getattr(cloudtrail_errors, error.name) is classes[error.name]

    @pytest.mark.parametrize(("target", "at_once"), [
        (cloudtrail.TARGET_PREFIX + "LookupEvents", False),  # a page of records to encode: off the event loop
        (cloudtrail.TARGET_PREFIX + "DescribeTrails", False),
        ("AWSOrganizationsV20161128.DescribeHandshake", True),
        ("AWSOrganizationsV20161128.DeclineHandshake", False),
    ])
    def test_only_the_reads_of_the_views_are_answered_at_once(self, target, at_once):
        service = AwsJsonService(None, Identity(Accounts()))  # type: ignore[arg-type]
        assert service.answers_at_once(SignedRequest("POST", "/", {"x-amz-target": target}, b"{}")) is at_once
