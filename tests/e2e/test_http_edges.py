"""Whatever bytes arrive on a raw socket, a complete HTTP/1.1 answer or a bounded close (decision 2).

The server runs with short deadlines (``--header-timeout 0.5`` and so on) so the slow clients
are cut within a second or two.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.e2e.conftest import Server, post

HEADER_TIMEOUT, BODY_TIMEOUT, IDLE_TIMEOUT, MAX_CONNECTIONS = 0.5, 0.5, 1.0, 8
SLACK = 2.0  # seconds a cut may come after its deadline on a busy machine
HEALTH = b"GET /_ledger/health HTTP/1.1\r\nHost: x\r\n\r\n"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.body.get("__type", ""))

    def is_complete_aws_answer(self) -> bool:
        request_id = self.headers.get("x-amzn-requestid", "")
        return str(uuid.UUID(request_id)) == request_id and bool(self.body) and (
            self.status == 200 or {"__type", "Message"} <= set(self.body))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    options = ("--header-timeout", str(HEADER_TIMEOUT), "--body-timeout", str(BODY_TIMEOUT),
               "--idle-timeout", str(IDLE_TIMEOUT), "--max-connections", str(MAX_CONNECTIONS))
    running = Server(tmp_path_factory.mktemp("edges") / "data", options=options).start()
    yield running
    assert running.stop() == 0


def connect(server: Server) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=IDLE_TIMEOUT + SLACK + 5)
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


def read_until_closed(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(1 << 16):
        received += chunk
    return received


def answers(raw: bytes) -> list[Answer]:
    """Every complete response in ``raw``, in order; fails on a partial one."""
    found = []
    while raw:
        head, separator, rest = raw.partition(b"\r\n\r\n")
        assert separator, f"no end of headers in {raw[:200]!r}"
        status_line, *lines = head.decode("latin-1").split("\r\n")
        version, status, _ = status_line.split(" ", 2)
        assert version == "HTTP/1.1", status_line
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        length = int(headers["content-length"])
        assert len(rest) >= length, "body cut short"
        found.append(Answer(int(status), headers, json.loads(rest[:length]) if length else {}))
        raw = rest[length:]
    return found


def exchange(server: Server, data: bytes) -> list[Answer]:
    """Send ``data`` at once, read until the server closes (a refusal closes), parse the answers."""
    with closing(connect(server)) as connection:
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)
        return answers(read_until_closed(connection))


def slow(server: Server, first: bytes, dribble: bytes = b"") -> tuple[list[Answer], float]:
    """Send ``first``, then ``dribble`` a byte every 0.1 s until the server answers or closes."""
    with closing(connect(server)) as connection:
        began = time.monotonic()
        connection.sendall(first)
        connection.settimeout(0.1)
        received = b""
        for byte in dribble:
            try:
                received += connection.recv(1 << 16)
                break
            except socket.timeout:
                connection.sendall(bytes([byte]))
        connection.settimeout(HEADER_TIMEOUT + BODY_TIMEOUT + IDLE_TIMEOUT + SLACK)
        try:
            received += read_until_closed(connection)
        except ConnectionResetError:
            pass
        return answers(received), time.monotonic() - began


class TestBrokenRequests:
    @pytest.mark.parametrize("data", [
        b"GARBAGE\r\n\r\n",
        b"POST / HTTP/2.0\r\nHost: x\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET / HTTP/0.9\r\n\r\n",
        b"\x00\x01\x02\xff\r\n\r\n",
        b"GET / HTTP/1.1\nHost: x\n\n",
        b"POST / HTTP/1.1\r\nHost: x\0y\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        b"POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
        b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    ], ids=["garbage", "http-2", "h2-preface", "http-0.9", "binary", "bare-lf", "nul-in-header",
            "two-lengths", "length-and-chunked", "negative-length"])
    def test_a_broken_request_is_400(self, server: Server, data: bytes) -> None:
        [answer] = exchange(server, data)
        assert (answer.status, answer.type) == (400, "SerializationException")
        assert answer.is_complete_aws_answer() and answer.headers["connection"] == "close"

    @pytest.mark.parametrize("line", [b"FOO / HTTP/1.1", b"PUT / HTTP/1.1", b"OPTIONS * HTTP/1.1",
                                      b"DELETE /_ledger/health HTTP/1.1"])
    def test_an_unsupported_method_is_405_never_501(self, server: Server, line: bytes) -> None:
        [answer] = exchange(server, line + b"\r\nHost: x\r\n\r\n")
        assert (answer.status, answer.type) == (405, "MethodNotAllowedException")
        assert answer.is_complete_aws_answer()

    def test_a_broken_request_after_a_good_one_is_answered_after_it(self, server: Server) -> None:
        first, second = exchange(server, HEALTH + b"GARBAGE\r\n\r\n")
        assert (first.status, second.status, second.type) == (200, 400, "SerializationException")

    def test_an_upgrade_is_answered_as_http_1_1_and_closed(self, server: Server) -> None:
        [answer] = exchange(server, b"GET /_ledger/health HTTP/1.1\r\nConnection: Upgrade\r\n"
                                    b"Upgrade: websocket\r\n\r\n" + HEALTH)
        assert answer.status == 200 and answer.headers["connection"] == "close"


class TestPipelining:
    def test_a_stray_blank_line_between_requests_loses_nothing(self, server: Server) -> None:
        replies = exchange(server, HEALTH + b"\r\n" + HEALTH + b"\r\n\r\n" + HEALTH)
        assert [a.status for a in replies] == [200, 200, 200]
        assert all(a.is_complete_aws_answer() for a in replies)

    def test_pipelined_operations_are_answered_in_order(self, server: Server) -> None:
        list_accounts = (b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSOrganizationsV20161128.ListHandshakesForAccount"
                         b"\r\nContent-Length: 2\r\n\r\n{}")
        replies = exchange(server, list_accounts + HEALTH + list_accounts)
        assert [(a.status, sorted(a.body)) for a in replies] == [
            (200, ["Handshakes"]), (200, ["Pid", "Status"]), (200, ["Handshakes"])]


class TestSizes:
    def test_a_body_over_1_mib_is_413_before_it_is_read(self, server: Server) -> None:
        with closing(connect(server)) as connection:
            connection.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n" + b"{" * 1000)
            [answer] = answers(read_until_closed(connection))
        assert (answer.status, answer.type) == (413, "RequestEntityTooLargeException")
        assert answer.is_complete_aws_answer()

    def test_a_client_that_sends_a_2_mib_body_reads_the_413(self, server: Server) -> None:
        status, headers, body = post(server.port, "ListHandshakesForAccount", b" " * (2 << 20))
        assert (status, body["__type"]) == (413, "RequestEntityTooLargeException")

    def test_a_chunked_body_is_cut_at_1_mib(self, server: Server) -> None:
        chunk = b"%x\r\n%s\r\n" % (1 << 16, b" " * (1 << 16))
        with closing(connect(server)) as connection:
            connection.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            try:
                for _ in range(17):
                    connection.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # cut while sending: the answer is already waiting
            [answer] = answers(read_until_closed(connection))
        assert (answer.status, answer.type) == (413, "RequestEntityTooLargeException")

    def test_a_body_of_exactly_1_mib_is_read(self, server: Server) -> None:
        body = b"{" + b" " * ((1 << 20) - 2) + b"}"
        [answer] = exchange(server, b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSOrganizationsV20161128."
                                    b"ListHandshakesForAccount\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
                                    % len(body) + body)
        assert (answer.status, answer.body) == (200, {"Handshakes": []})

    def test_headers_over_64_kib_are_431(self, server: Server) -> None:
        [answer] = exchange(server, b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (70 << 10) + b"\r\n\r\n")
        assert (answer.status, answer.type) == (431, "RequestHeaderFieldsTooLargeException")


class TestSlowClients:
    def test_headers_that_never_end_are_cut_with_408(self, server: Server) -> None:
        [answer], took = slow(server, b"POST / HTTP/1.1\r\nHost: x\r\n")
        assert (answer.status, answer.type) == (408, "RequestTimeoutException")
        assert HEADER_TIMEOUT - 0.1 <= took < HEADER_TIMEOUT + SLACK

    def test_dribbled_headers_are_cut_at_the_deadline_not_per_read(self, server: Server) -> None:
        [answer], took = slow(server, b"POST / HTTP/1.1\r\n", dribble=b"X-Slow: " + b"a" * 100)
        assert answer.status == 408 and took < HEADER_TIMEOUT + SLACK

    def test_a_body_that_never_ends_is_cut_with_408(self, server: Server) -> None:
        [answer], took = slow(server, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\"",
                              dribble=b" " * 50)
        assert (answer.status, answer.type) == (408, "RequestTimeoutException")
        assert BODY_TIMEOUT - 0.1 <= took < BODY_TIMEOUT + SLACK

    def test_a_silent_connection_is_closed_after_the_idle_timeout(self, server: Server) -> None:
        replies, took = slow(server, b"")
        assert replies == [] and IDLE_TIMEOUT - 0.1 <= took < IDLE_TIMEOUT + SLACK

    def test_blank_lines_do_not_keep_a_connection_open(self, server: Server) -> None:
        replies, took = slow(server, b"\r\n", dribble=b"\r\n" * 30)
        assert replies == [] and took < IDLE_TIMEOUT + SLACK

    def test_a_keep_alive_connection_is_closed_after_the_idle_timeout(self, server: Server) -> None:
        [answer], took = slow(server, HEALTH)
        assert answer.status == 200 and IDLE_TIMEOUT - 0.1 <= took < IDLE_TIMEOUT + SLACK


def test_connections_past_the_cap_are_503_when_none_is_idle(tmp_path: Path) -> None:
    """Idle ones are closed to make room (tests/e2e/test_connection_limits.py); busy ones are not."""
    options = ("--max-connections", "3", "--idle-timeout", "30")
    server = Server(tmp_path / "data", options=options).start()
    try:
        held = [connect(server) for _ in range(3)]
        for connection in held:
            connection.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # headers under way: busy
        time.sleep(0.2)  # the server has accepted them
        [refused] = exchange(server, HEALTH)
        assert (refused.status, refused.type) == (503, "ServiceUnavailableException")
        assert refused.is_complete_aws_answer()
        for connection in held:
            connection.close()
        time.sleep(0.2)  # the server has seen them go
        assert exchange(server, HEALTH.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))[0].status == 200
    finally:
        assert server.stop() == 0
