"""Bad input: InvalidInputException with the model's Reason, and nothing recorded."""

from __future__ import annotations

import pytest

from botocore.exceptions import ParamValidationError

from ledger.commands import request_model, service_model
from tests.conftest import ALICE
from tests.unit.conftest import error_of, server_error

CASES = [
    ("accept_handshake", {}, "INPUT_REQUIRED"),
    ("accept_handshake", {"HandshakeId": "h-short"}, "INVALID_PATTERN"),
    ("decline_handshake", {"HandshakeId": "h-" + "a" * 40}, "MAX_LENGTH_EXCEEDED"),
    ("invite_account_to_organization", {}, "INPUT_REQUIRED"),
    ("invite_account_to_organization", {"Target": {"Id": ALICE}}, "INPUT_REQUIRED"),
    ("invite_account_to_organization", {"Target": {"Id": ALICE, "Type": "PERSON"}}, "INVALID_ENUM"),
    ("invite_account_to_organization", {"Target": {"Id": "o-abcdefghij", "Type": "ORGANIZATION"}},
     "INVALID_PARTY_TYPE_TARGET"),
    ("invite_account_to_organization", {"Target": {"Id": "12345", "Type": "ACCOUNT"}}, "INVALID_PATTERN"),
    ("invite_account_to_organization", {"Target": {"Id": "not-an-email", "Type": "EMAIL"}},
     "INVALID_EMAIL_ADDRESS_TARGET"),
    ("invite_account_to_organization", {"Target": {"Id": "", "Type": "EMAIL"}}, "MIN_LENGTH_EXCEEDED"),
    ("invite_account_to_organization", {"Target": {"Id": ALICE, "Type": "ACCOUNT"}, "Notes": "x" * 1025},
     "MAX_LENGTH_EXCEEDED"),
    ("invite_account_to_organization",
     {"Target": {"Id": ALICE, "Type": "ACCOUNT"}, "Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]},
     "DUPLICATE_TAG_KEY"),
    ("invite_account_to_organization",
     {"Target": {"Id": ALICE, "Type": "ACCOUNT"}, "Tags": [{"Key": "aws:cost", "Value": "1"}]},
     "INVALID_SYSTEM_TAGS_PARAMETER"),
    ("invite_account_to_organization",
     {"Target": {"Id": ALICE, "Type": "ACCOUNT"}, "Tags": [{"Key": "k", "Value": "no#hash"}]}, "INVALID_PATTERN"),
    ("invite_account_to_organization", {"Target": {"Id": ALICE, "Type": "ACCOUNT"}, "Tags": [{"Key": "k"}]},
     "INPUT_REQUIRED"),
    ("list_handshakes_for_account", {"MaxResults": 0}, "MIN_VALUE_EXCEEDED"),
    ("list_handshakes_for_account", {"MaxResults": 21}, "MAX_VALUE_EXCEEDED"),
    ("list_handshakes_for_organization", {"Filter": {"ActionType": "SOMETHING"}}, "INVALID_ENUM"),
    ("list_handshakes_for_organization",
     {"Filter": {"ActionType": "INVITE", "ParentHandshakeId": "h-0123456789"}}, "MAX_LIMIT_EXCEEDED_FILTER"),
    ("list_handshakes_for_account", {"NextToken": "forged.token"}, "INVALID_NEXT_TOKEN"),
    ("create_organization", {"FeatureSet": "SOME"}, "INVALID_ENUM"),
    ("describe_account", {"AccountId": "12"}, "INVALID_PATTERN"),
]


class TestValidation:
    @pytest.mark.parametrize(("method", "params", "reason"), CASES, ids=[f"{m}-{r}" for m, _, r in CASES])
    def test_invalid_input_reason(self, world, method, params, reason):
        before = world.ledger.app.recorder.max_notification_id()
        error = server_error(world, method, params)
        assert (error.code, error.reason) == ("InvalidInputException", reason)
        assert error.message
        assert world.ledger.app.recorder.max_notification_id() == before

    def test_wrong_type_is_a_serialization_error(self, world):
        error = server_error(world, "list_handshakes_for_account", {"MaxResults": "5"})
        assert error.code == "SerializationException"

    def test_boto3_checks_what_it_can_before_sending(self, world):
        with pytest.raises(ParamValidationError):
            world.mgmt.accept_handshake()

    def test_what_boto3_sends_is_checked_by_the_server(self, world):
        error = error_of(world.mgmt.accept_handshake, HandshakeId="h-short")
        assert (error.code, error.reason) == ("InvalidInputException", "INVALID_PATTERN")

    def test_exceptions_are_reachable_from_the_client(self, world):
        with pytest.raises(world.mgmt.exceptions.HandshakeNotFoundException) as caught:
            world.mgmt.describe_handshake(HandshakeId="h-0000000000")
        error = caught.value.response
        assert (error["Error"]["Code"], error.get("Reason")) == ("HandshakeNotFoundException", None)
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400

    def test_request_models_follow_botocore(self):
        model = service_model()
        for operation in ("InviteAccountToOrganization", "AcceptHandshake", "ListHandshakesForOrganization"):
            shape = model.operation_model(operation).input_shape
            fields = request_model(operation).model_fields
            assert set(fields) == set(shape.members)
            assert {n for n, f in fields.items() if f.is_required()} == set(shape.required_members)

    def test_every_modeled_error_has_a_class(self):
        from ledger import errors
        from ledger.entrypoints.dispatch import OPERATIONS

        classes = errors.error_classes()
        model = service_model()
        for operation in OPERATIONS:
            for error in model.operation_model(operation).error_shapes:
                assert error.name in classes, error.name
                assert classes[error.name].has_reason == ("Reason" in error.members)
