"""``serve --strict`` as an attacker tries it (docs/strict-mode.md): an account learns nothing of the log
beyond its own answers (not its length, not when other accounts' events happened), whatever headers a
signed request carries the answer is a 403 and never a 5xx, and an accounts file whose secret anybody
knows (an empty one) is refused at start."""

from __future__ import annotations

import base64
import json
import socket
from contextlib import closing
from pathlib import Path
from typing import Iterator

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import open_ledger
from tests.conftest import ALICE, BOB, MANAGEMENT
from tests.e2e.conftest import TARGET, Server, write_accounts
from tests.e2e.test_http_edges import Answer, answers, read_until_closed

MANAGEMENT_KEY = ("AKIAMANAGEMENT000001", "management-secret")
ALICE_KEY = (ALICE, "alice-secret")
BOB_KEY = ("AKIABOBEXAMPLE000001", "bob-secret")


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A strict server where MANAGEMENT and BOB have made events (organizations, an invitation) Alice can't see."""
    base = tmp_path_factory.mktemp("strict-hardening")
    accounts = write_accounts(base / "accounts.toml",
                              {MANAGEMENT: [MANAGEMENT_KEY], ALICE: [ALICE_KEY], BOB: [BOB_KEY]})
    running = Server(base / "data", accounts=accounts, strict=True).start()
    management = running.client(*MANAGEMENT_KEY)
    management.create_organization(FeatureSet="ALL")
    management.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": "444444444444"})
    running.client(*BOB_KEY).list_handshakes_for_account()
    yield running
    assert running.stop() == 0


def signed_request(server: Server, key: tuple[str, str] | None, path: str, operation: str, body: bytes = b"{}",
                   target: str = TARGET) -> tuple[bytes, dict[str, str]]:
    """(request line, headers) of a POST of ``operation`` to ``path``, signed by botocore with ``key`` (None: unsigned)."""
    request = AWSRequest(method="POST", url=server.url + path, data=body,
                         headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target + operation})
    if key is not None:
        SigV4Auth(Credentials(*key), "organizations", "us-east-1").add_auth(request)
    headers = dict(request.headers.items())
    headers.setdefault("Host", f"127.0.0.1:{server.port}")
    return f"POST {path} HTTP/1.1".encode(), headers


def send(server: Server, line: bytes, headers: dict[str, str], body: bytes = b"{}") -> Answer:
    """One request on a raw socket, exactly these headers (no Host added), answered then closed."""
    head = b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers.items())
    data = line + b"\r\n" + head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
    with closing(socket.create_connection(("127.0.0.1", server.port), timeout=10)) as connection:
        connection.sendall(data)
        [answer] = answers(read_until_closed(connection))
    return answer


def ask(server: Server, key: tuple[str, str] | None, path: str, operation: str = "ListHandshakesForAccount",
        body: bytes = b"{}") -> Answer:
    line, headers = signed_request(server, key, path, operation, body)
    return send(server, line, headers, body)


def the_log(server: Server) -> tuple[int, list[str]]:
    """The log's head and every event's instant, as ISO 8601 and as epoch seconds (how answers spell them)."""
    with open_ledger(server.data) as ledger:
        head = ledger.app.recorder.max_notification_id() or 0
        instants = [ledger.queries.instant_of(p) for p in range(1, head + 1)]
    spellings = [spelling for when in instants if when is not None
                 for spelling in (when.isoformat(), when.strftime("%Y-%m-%dT%H:%M:%S"), str(when.timestamp()))]
    return head, spellings


def reveals_nothing(answer: Answer, head: int, instants: list[str]) -> None:
    text = json.dumps(answer.body)
    assert f"position {head}" not in text and f"0 to {head}" not in text and f"{head})" not in text, text
    assert not [when for when in instants if when in text], text


class TestMoments:
    """/as-of/ authenticates first, and a moment reveals no more than the caller's own answers."""

    @pytest.mark.parametrize("path", ["/as-of/position/999999999", "/as-of/position/1", "/as-of/now",
                                      "/as-of/9999-12-31", "/as-of/garbage"])
    def test_an_unsigned_moment_is_unrecognized_before_it_is_read(self, strict: Server, path: str) -> None:
        head, instants = the_log(strict)
        answer = ask(strict, None, path)
        assert (answer.status, answer.type) == (403, "UnrecognizedClientException")
        reveals_nothing(answer, head, instants)

    @pytest.mark.parametrize("position", ["0", "1", "2", "HEAD", "HEAD+1", "999999999", "-1", "x"])
    def test_a_position_is_refused_to_every_account(self, strict: Server, position: str) -> None:
        """A position counts (and its instant dates) every account's events: not served in strict mode."""
        head, instants = the_log(strict)
        number = position.replace("HEAD+1", str(head + 1)).replace("HEAD", str(head))
        for operation in ("ListHandshakesForAccount", "DeclineHandshake"):
            answer = ask(strict, ALICE_KEY, f"/as-of/position/{number}", operation)
            assert (answer.status, answer.type) == (400, "AccessDeniedException")  # Organizations' status for it
            reveals_nothing(answer, head, instants)

    @pytest.mark.parametrize("when", ["now", "-1s", "-3d", "%2B1d", "2026-01-01", "1970-01-01T00:00:00Z"])
    def test_a_command_as_of_an_instant_names_only_the_instant_asked(self, strict: Server, when: str) -> None:
        head, instants = the_log(strict)
        answer = ask(strict, ALICE_KEY, f"/as-of/{when}", "DeclineHandshake",
                     json.dumps({"HandshakeId": "h-" + "a" * 10}).encode())
        assert (answer.status, answer.type) == (400, "AccessDeniedException")
        assert "read-only" in answer.body["Message"] and "position" not in answer.body["Message"]
        reveals_nothing(answer, head, instants)

    def test_an_instant_out_of_range_is_invalid_input_and_names_only_the_range(self, strict: Server) -> None:
        head, instants = the_log(strict)
        answer = ask(strict, ALICE_KEY, "/as-of/9999-12-31", "DeclineHandshake",
                     json.dumps({"HandshakeId": "h-" + "a" * 10}).encode())
        assert (answer.status, answer.type, answer.body.get("Reason")) == (400, "InvalidInputException", "INVALID_PATTERN")
        assert "out of range" in answer.body["Message"]
        reveals_nothing(answer, head, instants)

    @given(when=st.one_of(st.integers(min_value=-1, max_value=10**30).map(str),
                          st.text(st.characters(codec="ascii", exclude_characters="/?#%\r\n "), max_size=30),
                          st.datetimes().map(lambda d: d.isoformat())))
    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    def test_no_moment_answers_with_the_log_or_others_times(self, strict: Server, when: str) -> None:
        head, instants = the_log(strict)
        for path in (f"/as-of/{when}", f"/as-of/position/{when}"):
            for operation in ("ListHandshakesForAccount", "DescribeOrganization", "DeclineHandshake"):
                answer = ask(strict, ALICE_KEY, path, operation)
                assert answer.status < 500 and answer.is_complete_aws_answer()
                reveals_nothing(answer, head, instants)


    def test_a_next_token_carries_no_position_of_the_log(self, strict: Server) -> None:
        """A token pins its moment and keys (log and audit positions): sealed, not base64 JSON to read."""
        management = strict.client(*MANAGEMENT_KEY, endpoint=strict.url + "/as-of/now")
        strict.client(*MANAGEMENT_KEY).invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": "555555555555"})
        listed = management.list_handshakes_for_organization(MaxResults=1)
        trail = boto3.client("cloudtrail", endpoint_url=strict.url, region_name="us-east-1",
                             aws_access_key_id=MANAGEMENT_KEY[0], aws_secret_access_key=MANAGEMENT_KEY[1])
        looked_up = trail.lookup_events(MaxResults=1)
        for token in (listed["NextToken"], looked_up["NextToken"]):
            body = token.partition(".")[2]
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            assert b'"s"' not in raw and b'"k"' not in raw and b'"m"' not in raw
        assert len(management.list_handshakes_for_organization(MaxResults=1, NextToken=listed["NextToken"])
                   ["Handshakes"]) == 1  # and it still pages
        assert trail.lookup_events(MaxResults=1, NextToken=looked_up["NextToken"])["Events"]


class TestSignedHeaders:
    """A signed request however its headers are mangled: 403 InvalidSignatureException, never a 5xx."""

    def test_a_known_key_without_a_host_header_is_an_invalid_signature(self, strict: Server) -> None:
        line, headers = signed_request(strict, MANAGEMENT_KEY, "/", "ListHandshakesForAccount")
        del headers["Host"]
        answer = send(strict, line, headers)
        assert (answer.status, answer.type) == (403, "InvalidSignatureException")
        assert "'host'" in answer.body["Message"]

    @pytest.mark.parametrize("host", ["[::1", "[", "a b", "h:99999", "ÿ", ":", "x" * 4000])
    def test_a_host_botocore_cant_canonicalize_is_an_invalid_signature(self, strict: Server, host: str) -> None:
        line, headers = signed_request(strict, MANAGEMENT_KEY, "/", "ListHandshakesForAccount")
        answer = send(strict, line, {**headers, "Host": host})
        assert (answer.status, answer.type) == (403, "InvalidSignatureException")

    header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40)

    @given(drop=st.sets(st.sampled_from(["Host", "X-Amz-Date", "X-Amz-Target", "Content-Type", "Authorization"])),
           changed=st.dictionaries(st.sampled_from(["Host", "X-Amz-Date", "X-Amz-Target", "Authorization",
                                                     "X-Amz-Content-Sha256", "X-Amz-Security-Token"]), header_text,
                                   max_size=3),
           signed_names=st.none() | st.lists(st.sampled_from(["host", "x-amz-date", "x-amz-target", "content-type",
                                                              "x-amz-missing", "", ";"]), max_size=6))
    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    def test_mangled_headers_of_a_signed_request_are_refused_never_a_5xx(
            self, strict: Server, drop: set[str], changed: dict[str, str], signed_names: list[str] | None) -> None:
        line, headers = signed_request(strict, MANAGEMENT_KEY, "/", "ListHandshakesForAccount")
        if signed_names is not None:
            headers["Authorization"] = headers["Authorization"].replace(
                headers["Authorization"].split("SignedHeaders=")[1].split(",")[0], ";".join(signed_names))
        headers = {name: value for name, value in {**headers, **changed}.items() if name not in drop}
        answer = send(strict, line, headers)
        assert answer.status < 500, answer
        assert answer.is_complete_aws_answer()
        if answer.status != 200:  # the untouched request (nothing dropped or changed) passes
            assert answer.status in (400, 403), answer


@pytest.mark.parametrize(("secret", "key_id"), [("", "AKIAEMPTYSECRET00001"), ("   ", "AKIABLANKSECRET00001"),
                                                ("s3cr3t", ""), ("s3cr3t", " ")],
                         ids=["empty-secret", "blank-secret", "empty-key-id", "blank-key-id"])
@pytest.mark.parametrize("strict", [True, False], ids=["strict", "lenient"])
def test_an_accounts_file_with_an_empty_secret_or_key_refuses_to_start(tmp_path: Path, secret: str, key_id: str,
                                                                       strict: bool) -> None:
    (tmp_path / "accounts.toml").write_text(
        f'[[accounts]]\nid = "111111111111"\n[[accounts.keys]]\naccess_key_id = "{key_id}"\n'
        f'secret_access_key = "{secret}"\n')
    log = tmp_path / "stderr"
    with pytest.raises(RuntimeError, match="exited with 2"):
        Server(tmp_path / "data", accounts=tmp_path / "accounts.toml", strict=strict, log=log).start()
    [line] = log.read_text().splitlines()
    assert "must not be empty" in line and "Traceback" not in line

