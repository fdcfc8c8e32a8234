"""What one client can hold of a server, and what it can't take from the others (decision 2):
idle keep-alive connections give way to a new client at the connection cap (oldest idle first, as
nginx does), and the request bodies in flight share one budget per process (``--max-body-memory``),
past which a request is answered 503 with Retry-After before its body is read, and nothing is stored.
The time and memory these cost are measured in ``scripts/connection_limits.py``, not here."""

from __future__ import annotations

import json
import socket
import time
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import MANAGEMENT
from tests.e2e.conftest import Server
from tests.e2e.test_http_edges import HEALTH, answers, read_until_closed

CAP = 4
BUDGET = 2 << 20  # --max-body-memory: two bodies of 1 MiB (beyond the 64 KiB of each that are free)
MIB = 1 << 20
FREE = 64 << 10  # the bytes of each body the budget does not count (http_protocol.FREE_BODY)
FULL = [MIB, MIB, 3 * FREE]  # bodies held that fill the budget exactly: (MIB - FREE) * 2 + 2 * FREE
TARGET = b"X-Amz-Target: AWSOrganizationsV20161128."
CREDENTIAL = (b"Authorization: AWS4-HMAC-SHA256 Credential=" + MANAGEMENT.encode() +
              b"/20260101/us-east-1/organizations/aws4_request, SignedHeaders=host, Signature=0\r\n")


def connect(server: Server) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


def one_answer(connection: socket.socket, request: bytes) -> bytes:
    """Send a keep-alive request and read exactly its answer (the connection stays open)."""
    connection.sendall(request)
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(1 << 16)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += connection.recv(1 << 16)
    return head.split(b" ")[1]


def is_closed_by_server(connection: socket.socket) -> bool:
    connection.settimeout(2)
    try:
        return connection.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    options = ("--max-connections", str(CAP), "--idle-timeout", "60", "--max-body-memory", str(BUDGET))
    running = Server(tmp_path_factory.mktemp("limits") / "data", options=options).start()
    yield running
    assert running.stop() == 0


class TestIdleConnectionsGiveWay:
    @pytest.mark.parametrize("served_first", [0, 1, CAP], ids=["none-asked", "one-asked", "all-asked"])
    def test_a_new_client_is_served_at_the_cap_and_the_longest_idle_is_closed(self, capped: Server,
                                                                              served_first: int) -> None:
        with ExitStack() as stack:
            held = [stack.enter_context(closing(connect(capped))) for _ in range(CAP)]
            for connection in held[:served_first]:  # keep-alive connections that were answered once
                assert one_answer(connection, HEALTH) == b"200"
            time.sleep(0.2)  # the server has accepted them all
            newcomer = stack.enter_context(closing(connect(capped)))
            assert one_answer(newcomer, HEALTH) == b"200"
            longest = 1 if served_first == 1 else 0  # held[0] fell idle again after its answer, the last
            closed = [is_closed_by_server(connection) for connection in held]
            assert closed == [n == longest for n in range(CAP)]  # the one idle longest, and only it
            assert one_answer(held[2], HEALTH) == b"200"  # the others still serve

    def test_busy_connections_are_not_closed(self, capped: Server) -> None:
        with ExitStack() as stack:
            held = [stack.enter_context(closing(connect(capped))) for _ in range(CAP)]
            for connection in held[1:]:
                connection.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # headers under way
            time.sleep(0.2)
            newcomer = stack.enter_context(closing(connect(capped)))
            assert one_answer(newcomer, HEALTH) == b"200"
            assert [is_closed_by_server(connection) for connection in held] == [True, False, False, False]
            refused = stack.enter_context(closing(connect(capped)))  # the newcomer is idle now: it gives way
            assert one_answer(refused, HEALTH) == b"200"
            assert is_closed_by_server(newcomer)

    def test_with_every_connection_busy_a_new_one_is_503_with_retry_after(self, capped: Server) -> None:
        with ExitStack() as stack:
            held = [stack.enter_context(closing(connect(capped))) for _ in range(CAP)]
            for connection in held:
                connection.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
            time.sleep(0.2)
            refused = stack.enter_context(closing(connect(capped)))
            refused.sendall(HEALTH)
            [answer] = answers(read_until_closed(refused))
            assert (answer.status, answer.type, answer.headers["retry-after"]) == (503, "ServiceUnavailableException", "1")


def command_head(length: int, operation: bytes = b"CreateOrganization") -> bytes:
    return (b"POST / HTTP/1.1\r\nHost: x\r\n" + TARGET + operation + b"\r\n" + CREDENTIAL +
            b"Content-Length: %d\r\n\r\n" % length)


def padded(params: dict[str, str], length: int) -> bytes:
    text = json.dumps(params).encode()
    return text + b" " * (length - len(text))


def organization_exists(server: Server) -> bool:
    status, _, body = server.post("DescribeOrganization", b"{}")
    assert status == 200 or body["__type"] == "AWSOrganizationsNotInUseException", body
    return status == 200


@pytest.fixture(scope="module")
def budgeted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    options = ("--max-body-memory", str(BUDGET),)
    running = Server(tmp_path_factory.mktemp("budget") / "data", options=options).start()
    yield running
    assert running.stop() == 0


class TestBodyBudget:
    @pytest.mark.parametrize("sizes", [(FULL, [MIB]), (FULL, [FREE + 1]), ([MIB, MIB // 2 + FREE, MIB // 2 + 2 * FREE], [FREE + 1])],
                             ids=["full-then-1-MiB", "full-then-one-byte-over-free", "full-of-mixed-sizes"])
    def test_a_body_over_the_budget_is_refused_before_it_is_read_and_nothing_is_stored(
            self, budgeted: Server, sizes: tuple[list[int], list[int]]) -> None:
        """Bodies held (all sent but one byte) fill the budget; the next body is 503, its command not run;
        small requests are served meanwhile."""
        held, [size] = sizes
        with ExitStack() as stack:
            holding = []
            for size_held in held:
                connection = stack.enter_context(closing(connect(budgeted)))
                connection.sendall(command_head(size_held, b"ListHandshakesForAccount") + b" " * (size_held - 1))
                holding.append(connection)
            time.sleep(0.3)  # the server holds them
            refused = stack.enter_context(closing(connect(budgeted)))
            refused.sendall(command_head(size) + padded({"FeatureSet": "ALL"}, size))
            [answer] = answers(read_until_closed(refused))
            assert (answer.status, answer.type) == (503, "ServiceUnavailableException")
            assert answer.headers["retry-after"] == "1" and answer.is_complete_aws_answer()
            assert not organization_exists(budgeted)
            for connection in holding:  # the bodies held are answered once they end (blank: {})
                assert one_answer(connection, b" ") == b"200"
        assert self._budget_is_free_again(budgeted)

    def _budget_is_free_again(self, server: Server) -> bool:
        """Once those are answered, a full body fits again (the budget was given back)."""
        with closing(connect(server)) as connection:
            body = padded({}, MIB)
            return one_answer(connection, command_head(MIB, b"ListHandshakesForAccount") + body) == b"200"

    def test_a_chunked_body_counts_as_it_grows(self, budgeted: Server) -> None:
        with ExitStack() as stack:
            holding = []
            for size in FULL:
                connection = stack.enter_context(closing(connect(budgeted)))
                connection.sendall(command_head(size, b"ListHandshakesForAccount") + b" " * (size - 1))
                holding.append(connection)
            time.sleep(0.3)
            chunked = stack.enter_context(closing(connect(budgeted)))
            chunked.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n" + TARGET + b"CreateOrganization\r\n" + CREDENTIAL +
                            b"Transfer-Encoding: chunked\r\n\r\n")
            try:
                for _ in range(FREE // 4096 + 1):
                    chunked.sendall(b"%x\r\n%s\r\n" % (4096, b" " * 4096))
                chunked.sendall(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            [answer] = answers(read_until_closed(chunked))
            assert (answer.status, answer.type) == (503, "ServiceUnavailableException")
            assert not organization_exists(budgeted)
