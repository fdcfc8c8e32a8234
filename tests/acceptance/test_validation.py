"""Bad input: InvalidInputException with the model's Reason, and nothing recorded."""

from __future__ import annotations

import pytest

from botocore.exceptions import ParamValidationError

from ledger.service_layer.requests import ascii_pattern, is_valid, request_model, service_model
from tests.conftest import ALICE
from tests.acceptance.conftest import error_of, server_error

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
    # decision 2: the model's patterns in ASCII and in full; no control characters; any foreign NextToken
    ("invite_account_to_organization", {"Target": {"Id": "222222222222\n", "Type": "ACCOUNT"}}, "INVALID_PATTERN"),
    ("invite_account_to_organization", {"Target": {"Id": "\uff12" * 12, "Type": "ACCOUNT"}}, "INVALID_PATTERN"),
    ("invite_account_to_organization", {"Target": {"Id": "\u0662" * 12, "Type": "ACCOUNT"}}, "INVALID_PATTERN"),
    ("describe_account", {"AccountId": "\uff12" * 12}, "INVALID_PATTERN"),
    ("remove_account_from_organization", {"AccountId": "\u0662" * 12}, "INVALID_PATTERN"),
    ("describe_handshake", {"HandshakeId": "h-0123456789\n"}, "INVALID_PATTERN"),
    ("describe_handshake", {"HandshakeId": "h-\uff10123456789"}, "INVALID_PATTERN"),
    ("invite_account_to_organization", {"Target": {"Id": "nul\x00@example.com", "Type": "EMAIL"}}, "INVALID_PATTERN"),
    ("invite_account_to_organization", {"Target": {"Id": "del\x7f@example.com", "Type": "EMAIL"}}, "INVALID_PATTERN"),
    ("invite_account_to_organization", {"Target": {"Id": "\x1b[2Jesc@example.com", "Type": "EMAIL"}},
     "INVALID_PATTERN"),
    ("invite_account_to_organization", {"Target": {"Id": "x@example.com\n", "Type": "EMAIL"}},
     "INVALID_EMAIL_ADDRESS_TARGET"),
    ("invite_account_to_organization", {"Target": {"Id": ALICE, "Type": "ACCOUNT"}, "Notes": "bell\x07"},
     "INVALID_PATTERN"),
    ("invite_account_to_organization", {"Target": {"Id": ALICE, "Type": "ACCOUNT"}, "Notes": "lone \ud800"},
     "INVALID_PATTERN"),
    ("invite_account_to_organization",
     {"Target": {"Id": ALICE, "Type": "ACCOUNT"}, "Tags": [{"Key": "k\n", "Value": "v"}]}, "INVALID_PATTERN"),
    ("list_handshakes_for_account", {"NextToken": "abc.\u00e9"}, "INVALID_NEXT_TOKEN"),
    ("list_handshakes_for_organization", {"NextToken": "\x00.\x1b"}, "INVALID_NEXT_TOKEN"),
    ("list_handshakes_for_organization", {"NextToken": "\ud800.x"}, "INVALID_NEXT_TOKEN"),
    ("list_handshakes_for_account", {"NextToken": "a" * 100_001}, "INVALID_NEXT_TOKEN"),
    ("list_accounts", {"NextToken": "abc.\u00e9"}, "INVALID_NEXT_TOKEN"),
]


class TestValidation:
    @pytest.mark.parametrize(("method", "params", "reason"), CASES, ids=[f"{m}-{r}" for m, _, r in CASES])
    def test_invalid_input_reason(self, world, method, params, reason):
        before = world.ledger.app.recorder.max_notification_id()
        error = server_error(world, method, params)
        assert (error.code, error.reason) == ("InvalidInputException", reason)
        assert error.message
        assert world.ledger.app.recorder.max_notification_id() == before

    def test_free_text_keeps_its_line_breaks(self, world):
        notes = "Welcome aboard.\r\n\tThe platform team"
        handshake_id = world.mgmt.invite_account_to_organization(
            Target={"Type": "ACCOUNT", "Id": ALICE}, Notes=notes)["Handshake"]["Id"]
        assert world.state(handshake_id) == "OPEN"

    def test_an_unusual_but_valid_email_is_accepted(self, world):
        answer = world.mgmt.invite_account_to_organization(Target={"Type": "EMAIL", "Id": "j\u00fcrgen@b\u00fccher.example"})
        assert answer["Handshake"]["Parties"][1]["Id"] == "j\u00fcrgen@b\u00fccher.example"

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
        from ledger.domain import errors
        from ledger.entrypoints.dispatch import OPERATIONS

        classes = errors.error_classes()
        model = service_model()
        for operation in OPERATIONS:
            for error in model.operation_model(operation).error_shapes:
                assert error.name in classes, error.name
                assert classes[error.name].has_reason == ("Reason" in error.members)


class TestModelStrings:
    """The one definition of a valid string: the model's pattern in ASCII and in full."""

    @pytest.mark.parametrize(("shape", "text", "valid"), [
        ("AccountId", "222222222222", True),
        ("AccountId", "222222222222\n", False),
        ("AccountId", "\n222222222222", False),
        ("AccountId", "\uff12" * 12, False),
        ("AccountId", "\u0662" * 12, False),
        ("AccountId", 222222222222, False),
        ("HandshakeId", "h-0123456789", True),
        ("HandshakeId", "h-0123456789\n", False),
        ("Email", "a@b.io", True),
        ("Email", "a\x00@b.io", False),
        ("Email", "a\x1b@b.io", False),
        ("TagKey", "Kosten\u00fcbersicht_\u0662", True),  # the model's \p{L}\p{N} classes are Unicode on purpose
    ])
    def test_is_valid(self, shape, text, valid):
        assert is_valid(shape, text) is valid

    @pytest.mark.parametrize(("pattern", "translated"), [
        (r"^\d{12}$", r"\A(?:^[0-9]{12}$)\z"),
        (r"[\d]x\w", r"\A(?:[0-9]x[0-9A-Za-z_])\z"),
        (r"[\s\S]*", r"\A(?:[\s\S]*)\z"),
        (r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$", r"\A(?:^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$)\z"),
    ])
    def test_patterns_are_read_in_ascii_and_in_full(self, pattern, translated):
        assert ascii_pattern(pattern) == translated
