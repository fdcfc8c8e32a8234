"""Model-derived fuzzing of the real server (decision 2): whatever a client sends, no 5xx, a complete
AWS answer, and a refused request records no event. CloudTrail's LookupEvents too, from
botocore's ``cloudtrail`` model.

Requests are drawn by hypothesis from botocore's Organizations model, for every operation the
server dispatches: each member of the input shape is left out, given a value its shape admits
(enum values, the model's pattern read in ASCII, ids the ledger really holds), a near miss (the
same with a trailing newline, Unicode digits, control characters), or any JSON at all. Some
requests name no operation or an unknown one, carry broken JSON, or come from odd access keys.
"""

from __future__ import annotations

import http.client
import json
import re
import uuid
from contextlib import nullcontext
from typing import Any, Iterator

import boto3
import pytest
from botocore.model import Shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import open_ledger
from ledger.service_layer.requests import service_model
from ledger.entrypoints.cloudtrail import TARGET_PREFIX as CLOUDTRAIL
from ledger.entrypoints.dispatch import OPERATIONS
from tests.conftest import ALICE, BOB, MANAGEMENT, store_kind
from tests.e2e.conftest import TARGET, Server

EXAMPLES = {"sqlite": 4000, "postgres": 3000}  # about 20-25 s each on 2 shared cores
LOOKUPS = 400
MISSING = object()
ACCOUNTS = [MANAGEMENT, ALICE, BOB, "444444444444", "000000000000"]
KEYS = [*ACCOUNTS, "AKIANOBODYKNOWSTHIS0", "２２２２２２２２２２２２", "222222222222\n", "", "a/b", "\x00"]
NEAR_MISSES = ["", " ", "\n", "\x00", "\x1b[2J", "\x7f", "\u202e", "\ud800", "é", "２", "٢", "x" * 200, "a" * 100_001]
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A lenient server with room for many invitations, on the store under test."""
    limits = {"HANDSHAKE_LEDGER_ACCOUNT_LIMIT": "100000", "HANDSHAKE_LEDGER_INVITE_RATE_LIMIT": "100000"}
    if store_kind() == "postgres":
        from tests.pg import fresh_database

        where: Any = fresh_database()
    else:
        where = nullcontext(str(tmp_path_factory.mktemp("fuzz") / "data"))
    with where as data:
        running = Server(data, env=limits).start()
        yield running
        assert running.stop() == 0


@pytest.fixture(scope="module")
def known(server: Server) -> dict[str, list[str]]:
    """Values the ledger really holds, by shape name: requests that get past validation."""
    management, alice = server.client(MANAGEMENT), server.client(ALICE)
    management.create_organization(FeatureSet="ALL")
    ids = [management.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": account})["Handshake"]["Id"]
           for account in (ALICE, BOB)]
    ids.append(management.invite_account_to_organization(Target={"Type": "EMAIL", "Id": "carol@example.com"})
               ["Handshake"]["Id"])
    token = management.list_handshakes_for_organization(MaxResults=1)["NextToken"]
    alice.accept_handshake(HandshakeId=ids[0])
    trail = boto3.client("cloudtrail", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=MANAGEMENT,
                         aws_secret_access_key="x")
    lookup_token = trail.lookup_events(MaxResults=1)["NextToken"]
    return {"HandshakeId": ids, "AccountId": ACCOUNTS, "NextToken": [token, lookup_token],
            "HandshakePartyId": [*ACCOUNTS, "carol@example.com", "dave@example.com"],
            "LookupAttributeValue": [*ids, MANAGEMENT, "AcceptHandshake", "root", "true", "false",
                                     "organizations.amazonaws.com", "AWS::Organizations::Handshake"]}


def text_of(shape: Shape, known: dict[str, list[str]]) -> st.SearchStrategy[str]:
    """Strings for a string shape: admitted by its pattern (when Python can read it), held by the
    ledger, near misses of those, and any text."""
    choices: list[st.SearchStrategy[str]] = [st.text(max_size=40)]
    pattern = shape.metadata.get("pattern")
    if pattern and "\\p" not in pattern:
        ascii_pattern = pattern.replace("\\d", "[0-9]").removeprefix("^").removesuffix("$")
        choices.append(st.from_regex(re.compile(ascii_pattern, re.ASCII), fullmatch=True))
    good = known.get(shape.name, [])
    if good:
        choices += [st.sampled_from(good)] * 2
        choices.append(st.builds(lambda value, miss, front: miss + value if front else value + miss,
                                 st.sampled_from(good), st.sampled_from(NEAR_MISSES), st.booleans()))
        choices.append(st.sampled_from(good).map(lambda value: value.translate(str.maketrans("0123456789",
                                                                                             "０１２３４５６７８９"))))
    choices.append(st.sampled_from(NEAR_MISSES))
    return st.one_of(choices)


def value_of(shape: Shape, known: dict[str, list[str]], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values for a shape of the model, with a share of anything-goes JSON."""
    kind = shape.type_name
    if kind == "string":
        admitted = st.sampled_from(shape.enum) if shape.enum else text_of(shape, known)
    elif kind in ("integer", "long"):
        low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 100)
        admitted = st.integers(low - 2, high + 2) | st.integers()
    elif kind == "boolean":
        admitted = st.booleans()
    elif kind == "timestamp":
        admitted = st.integers(-(2**40), 2**40) | st.floats()
    elif kind == "list":
        admitted = st.lists(value_of(shape.member, known, depth + 1), max_size=shape.metadata.get("max", 4) + 2)
    elif kind == "structure":
        admitted = structure_of(shape, known, depth + 1)
    else:
        admitted = JSON
    return st.one_of([admitted] * 7 + [JSON])  # one value in eight is any JSON at all


def structure_of(shape: Shape, known: dict[str, list[str]], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Each member drawn or left out; a required one left out one time in five."""
    members = {name: st.one_of([value_of(member, known, depth)] * (4 if name in shape.required_members else 1)
                               + [st.just(MISSING)]) for name, member in shape.members.items()}
    return st.fixed_dictionaries(members).map(lambda drawn: {k: v for k, v in drawn.items() if v is not MISSING})


@st.composite
def requests(draw: st.DrawFn, known: dict[str, list[str]]) -> tuple[str | None, bytes, str]:
    """(X-Amz-Target or None, body, access key id)."""
    model = service_model()
    unknown = draw(st.integers(0, 9)) == 0
    operation = draw(st.sampled_from(["FlyToTheMoon", "", "ListRoots"] if unknown else sorted(OPERATIONS)))
    target: str | None = TARGET + operation
    if operation in OPERATIONS:
        shape = model.operation_model(operation).input_shape
        params = draw(structure_of(shape, known)) if shape is not None else {}
        body = json.dumps(params).encode()
    else:
        body = draw(st.sampled_from([b"{}", b""]))
    if draw(st.integers(0, 19)) == 0:
        target = draw(st.none() | st.text(max_size=30))
    if draw(st.integers(0, 19)) == 0:
        body = draw(st.binary(max_size=40) | st.sampled_from([b"[]", b'"x"', b"{", b"\xff{}", b"null"]))
    return target, body, draw(st.sampled_from(KEYS))


class Wire:
    """One keep-alive connection to the server (a new one when the server closed it)."""

    def __init__(self, port: int):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, target: str | None, body: bytes, key: str) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "application/x-amz-json-1.1",
                   "Authorization": f"AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/organizations/aws4_request, "
                                    "SignedHeaders=host, Signature=0"}
        if target is not None:
            headers["X-Amz-Target"] = target
        # As bytes on the wire: UTF-8, without the line breaks that would end the header early.
        sent = {name: value.encode("utf-8", "surrogatepass").translate(None, b"\r\n") for name, value in headers.items()}
        self.connection.request("POST", "/", body=body, headers=sent)
        response = self.connection.getresponse()
        answer = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        if response.will_close:
            self.connection.close()
        return answer


@st.composite
def lookups(draw: st.DrawFn, known: dict[str, list[str]]) -> tuple[str | None, bytes, str]:
    """LookupEvents requests drawn from botocore's cloudtrail model, now and then not JSON at all."""
    params = draw(structure_of(service_model("cloudtrail").operation_model("LookupEvents").input_shape, known))
    body = json.dumps(params).encode() if draw(st.integers(0, 19)) else draw(st.binary(max_size=20))
    return CLOUDTRAIL + "LookupEvents", body, draw(st.sampled_from(KEYS))


def test_no_lookup_gets_a_5xx_or_an_incomplete_answer(server: Server, known: dict[str, list[str]]) -> None:
    wire = Wire(server.port)

    @settings(max_examples=LOOKUPS, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(lookups(known))
    def check(request: tuple[str | None, bytes, str]) -> None:
        status, headers, raw = wire.post(*request)
        assert status < 500, (request, status, raw)
        answer = json.loads(raw)
        assert ("Events" in answer) if status == 200 else ({"__type", "Message"} <= set(answer)), (request, answer)

    check()


def test_no_request_gets_a_5xx_an_incomplete_answer_or_records_when_refused(
        server: Server, known: dict[str, list[str]]) -> None:
    wire = Wire(server.port)
    with open_ledger(server.data) as ledger:
        head = ledger.app.recorder.max_notification_id

        @settings(max_examples=EXAMPLES[store_kind()], deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(requests(known))
        def check(request: tuple[str | None, bytes, str]) -> None:
            before = head()
            status, headers, raw = wire.post(*request)
            after = head()
            assert status < 500, (request, status, raw)
            request_id = headers.get("x-amzn-requestid", "")
            assert str(uuid.UUID(request_id)) == request_id and headers["content-type"] == "application/x-amz-json-1.1"
            answer = json.loads(raw)
            if status != 200:
                assert {"__type", "Message"} <= set(answer) and answer["Message"], (request, answer)
                assert after == before, (request, answer)

        check()
