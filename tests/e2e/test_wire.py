"""The wire itself (decisions 1-2), seen through http.client."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest

from ledger.entrypoints.accounts import Accounts
from ledger.entrypoints.aws_json import AwsJsonService, json_response
from ledger.entrypoints.http_server import listen, server_for
from ledger.entrypoints.identity import Identity
from tests.conftest import ALICE
from tests.e2e.conftest import ALICE_KEY, Server, post

NOBODY = "999999999999"
INVITE_ALICE = json.dumps({"Target": {"Type": "ACCOUNT", "Id": ALICE}}).encode()


def is_request_id(value: str | None) -> bool:
    return value is not None and str(uuid.UUID(value)) == value


class TestOperations:
    def test_unknown_operation(self, server: Server) -> None:
        status, headers, body = server.post("FlyToTheMoon", b"{}")
        assert (status, body["__type"]) == (400, "UnknownOperationException")
        assert is_request_id(headers.get("x-amzn-requestid"))

    def test_target_of_another_service(self, server: Server) -> None:
        status, _, body = server.post(None, b"{}", headers={"X-Amz-Target": "DynamoDB_20120810.ListTables"})
        assert (status, body["__type"]) == (400, "UnknownOperationException")

    def test_missing_target(self, server: Server) -> None:
        status, _, body = server.post(None, b"{}")
        assert (status, body["__type"]) == (400, "UnknownOperationException")


class TestBodies:
    @pytest.mark.parametrize("raw", [b"[]", b'[{"HandshakeId": "h-0123456789"}]', b'"text"', b"42",
                                     b'{"HandshakeId": ', b"\xff\xfe{}"])
    def test_not_a_json_object(self, server: Server, raw: bytes) -> None:
        status, headers, body = server.post("ListHandshakesForAccount", raw, account=NOBODY)
        assert (status, body["__type"]) == (400, "SerializationException")
        assert body["Message"] and "Traceback" not in body["Message"]
        assert is_request_id(headers.get("x-amzn-requestid"))

    def test_empty_body_is_an_empty_object(self, server: Server) -> None:
        assert server.post("ListHandshakesForAccount", b"", account=NOBODY)[::2] == (200, {"Handshakes": []})

    def test_timestamps_are_epoch_seconds(self, server: Server, organization: Any) -> None:
        status, headers, body = server.post("InviteAccountToOrganization", INVITE_ALICE)
        handshake = body["Handshake"]
        assert status == 200 and headers["content-type"] == "application/x-amz-json-1.1"
        assert isinstance(handshake["RequestedTimestamp"], float)
        assert handshake["ExpirationTimestamp"] - handshake["RequestedTimestamp"] == pytest.approx(15 * 86400)


    def test_text_beyond_ascii_comes_back_as_sent(self, server: Server, organization: Any, management: Any,
                                                  alice: Any) -> None:
        notes = "Grüße aus Zürich 🤝 — bienvenue"
        sent = management.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE}, Notes=notes)
        handshake_id = sent["Handshake"]["Id"]
        described = alice.describe_handshake(HandshakeId=handshake_id)["Handshake"]
        assert [r["Value"] for r in described["Resources"] if r["Type"] == "NOTES"] == [notes]
        listed = [h for h in alice.list_handshakes_for_account()["Handshakes"] if h["Id"] == handshake_id]
        assert listed == [described]

    def test_an_answer_orjson_refuses_is_written_by_the_standard_library(self) -> None:
        """A lone surrogate (decision 2: the wire holds whatever arrives) must not make a 500."""
        at = datetime(2026, 11, 30, 9, 5, 10, 250000, tzinfo=timezone.utc)
        response = json_response(400, {"__type": "InvalidInputException", "Message": "bad \ud800", "At": at}, "r")
        assert (response.status, json.loads(response.body)) == (
            400, {"__type": "InvalidInputException", "Message": "bad \ud800", "At": at.timestamp()})


class TestRequestIds:
    def test_every_answer_has_its_own(self, server: Server) -> None:
        ids = [server.post("ListHandshakesForAccount", b"{}", account=NOBODY)[1].get("x-amzn-requestid")
               for _ in range(3)]
        assert all(map(is_request_id, ids)) and len(set(ids)) == 3

    def test_boto3_reads_it_on_success_and_error(self, server: Server, bob: Any) -> None:
        answer = bob.list_handshakes_for_account()
        assert is_request_id(answer["ResponseMetadata"]["RequestId"])
        with pytest.raises(bob.exceptions.AWSOrganizationsNotInUseException) as caught:
            bob.describe_organization()
        assert is_request_id(caught.value.response["ResponseMetadata"]["RequestId"])


class TestIdentity:
    def test_a_key_from_the_accounts_file_is_its_account(self, server: Server, organization: Any,
                                                         management: Any) -> None:
        answer = management.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE})
        as_alice = server.client(*ALICE_KEY)
        assert as_alice.describe_handshake(HandshakeId=answer["Handshake"]["Id"])["Handshake"]["State"] == "OPEN"

    def test_an_unknown_key_is_the_default_account(self, server: Server) -> None:
        stranger = server.client("AKIANOBODYKNOWSTHIS0")
        organization = stranger.create_organization(FeatureSet="CONSOLIDATED_BILLING")["Organization"]
        stranger.delete_organization()
        assert organization["MasterAccountId"] == "000000000000"


class TestRoutes:
    def test_health(self, server: Server) -> None:
        status, headers, raw = server.get("/_ledger/health")
        assert (status, json.loads(raw)) == (200, {"Status": "ok", "Pid": server.server_pid()})
        assert is_request_id({name.lower(): value for name, value in headers.items()}.get("x-amzn-requestid"))

    def test_other_paths_are_not_found(self, server: Server) -> None:
        status, _, raw = server.get("/nothing-here")
        assert (status, json.loads(raw)["__type"]) == (404, "UnknownOperationException")

    @pytest.mark.parametrize("method", ["PUT", "DELETE", "OPTIONS", "PATCH"])
    def test_other_methods_are_not_allowed(self, server: Server, method: str) -> None:
        status, headers, body = post(server.port, "ListHandshakesForAccount", b"{}", method=method)
        assert (status, body["__type"], headers["allow"]) == (405, "MethodNotAllowedException", "GET, HEAD, POST")
        assert is_request_id(headers.get("x-amzn-requestid"))


class ExplodingLedger:
    def call(self, operation: str, params: Any, caller: Any) -> Any:
        raise RuntimeError("the database password is hunter2")


@pytest.fixture
def exploding_server() -> Iterator[int]:
    """The real HTTP layer in this process (on a thread), over a ledger that fails unexpectedly; its port."""
    with listen("127.0.0.1", 0) as listening:
        http_server = server_for(AwsJsonService(ExplodingLedger(), Identity(Accounts())))
        serving = threading.Thread(target=http_server.run, kwargs={"sockets": [listening]})
        serving.start()
        while not http_server.started:
            time.sleep(0.01)  # the thread's event loop is starting
        yield listening.getsockname()[1]
        http_server.should_exit = True
        serving.join()


def test_unexpected_failure_is_a_generic_service_exception(exploding_server: int,
                                                           capfd: pytest.CaptureFixture[str]) -> None:
    status, headers, body = post(exploding_server, "ListHandshakesForAccount", b"{}")
    assert (status, body["__type"]) == (500, "ServiceException")
    assert "hunter2" not in json.dumps(body) and "Traceback" not in json.dumps(body)
    logged = capfd.readouterr().err
    assert "Traceback" in logged and "hunter2" in logged and headers["x-amzn-requestid"] in logged
