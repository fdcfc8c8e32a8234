"""``handshake-ledger serve``: the ledger's ``call()`` over HTTP, as AWS JSON 1.1 (decisions 1-4).

``POST /`` with ``X-Amz-Target: AWSOrganizationsV20161128.<Op>`` and a JSON object body answers
the operation; ``GET /_ledger/health`` answers 200 and the answering process's pid when the server
is ready. This module adds no business rule: it finds the caller, hands the operation to the
ledger, and is the one place where domain errors become wire errors. Every answer carries
``x-amzn-RequestId``; that id is also the ``request_id`` of the events the request records.

The server is the standard library's threading HTTP/1.1 server (one thread per connection,
keep-alive): ``scripts/http_server_choice.py`` measured it against uvicorn. SIGTERM or SIGINT
stops accepting, lets requests in flight finish, closes idle connections, closes the ledger, and
``serve`` returns 0.

Hidden settings, read from the environment at startup (positive integers):

- ``HANDSHAKE_LEDGER_ACCOUNT_LIMIT``: accounts per organization, open invitations included (10).
- ``HANDSHAKE_LEDGER_INVITE_RATE_LIMIT``: invitations per organization in any 24 hours (20).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import traceback
import uuid
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any, Mapping, Protocol

from ledger import errors
from ledger.application import Caller, Limits
from ledger.entrypoints.accounts import Accounts, AccountsFileError, load_accounts
from ledger.entrypoints.bootstrap import Ledger, open_ledger
from ledger.entrypoints.identity import Identity, SignedRequest, parse_authorization

TARGET_PREFIX = "AWSOrganizationsV20161128."
CONTENT_TYPE = "application/x-amz-json-1.1"
HEALTH_PATH = "/_ledger/health"
MAX_BODY = 1 << 20
IDLE_TIMEOUT = 120.0
LIMIT_SETTINGS = {
    "HANDSHAKE_LEDGER_ACCOUNT_LIMIT": "accounts_per_organization",
    "HANDSHAKE_LEDGER_INVITE_RATE_LIMIT": "invitations_per_day",
}


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def json_response(status: int, answer: Mapping[str, Any], request_id: str) -> Response:
    body = json.dumps(answer, default=_epoch_seconds, separators=(",", ":")).encode()
    return Response(status, {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id}, body)


def _epoch_seconds(value: Any) -> float:
    """The wire's timestamps: epoch seconds, fractions allowed (shapes keep datetimes)."""
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class Answers(Protocol):
    """What the service needs of the ledger: its one dispatch."""

    def call(self, operation: str, params: dict[str, Any] | None, caller: Caller) -> dict[str, Any]: ...


class AwsJsonService:
    """An HTTP request in, an HTTP response out; knows nothing of the server carrying it."""

    def __init__(self, ledger: Answers, identity: Identity):
        self.ledger = ledger
        self.identity = identity

    def handle(self, request: SignedRequest) -> Response:
        request_id = str(uuid.uuid4())
        if request.method == "GET" and request.path == HEALTH_PATH:
            return json_response(200, {"Status": "ok", "Pid": os.getpid()}, request_id)  # which worker
        if request.method != "POST" or request.path.partition("?")[0] != "/":
            return json_response(404, {"__type": "UnknownOperationException",
                                       "Message": f"No route for {request.method} {request.path}."}, request_id)
        try:
            return json_response(200, self._answer(request, request_id), request_id)
        except errors.OrganizationsError as error:
            return json_response(error.status, error.to_wire(), request_id)
        except Exception:
            print(f"handshake-ledger: request {request_id} failed\n{traceback.format_exc()}", file=sys.stderr, flush=True)
            failure = errors.ServiceException()
            return json_response(failure.status, failure.to_wire(), request_id)

    def _answer(self, request: SignedRequest, request_id: str) -> dict[str, Any]:
        account_id = self.identity.account_of(request)
        target = request.headers.get("x-amz-target", "")
        if not target.startswith(TARGET_PREFIX):
            raise errors.UnknownOperationException(f"Unknown operation target {target!r}.")
        credential = parse_authorization(request.headers.get("authorization"))
        caller = Caller(account_id, request_id, access_key_id=credential.access_key_id if credential else None,
                        source_ip=getattr(request, "source_ip", None), user_agent=request.headers.get("user-agent"))
        return self.ledger.call(target[len(TARGET_PREFIX):], _json_object(request.body), caller)


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        params = json.loads(body)
    except (ValueError, RecursionError):
        raise errors.SerializationException("The request body is not valid JSON.") from None
    if not isinstance(params, dict):
        raise errors.SerializationException("The request body must be a JSON object.")
    return params


class LedgerRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "HandshakeLedger"
    wbufsize = -1  # headers and body leave in one write
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT
    server: LedgerHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        if self.headers.get("Transfer-Encoding"):
            return self.send_error(411, "Send the body with a Content-Length.")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            return self.send_error(413 if length > MAX_BODY else 400, "Bad Content-Length.")
        body = self.rfile.read(length)
        if len(body) < length:  # the client went away (or shutdown cut it): nothing was done
            self.close_connection = True
            return None
        headers = {name.lower(): value for name, value in self.headers.items()}
        self._send(self.server.service.handle(SignedRequest(self.command, self.path, headers, body)))

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.server.stopping:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level refusals, as JSON like every other answer."""
        self.close_connection = True
        shape = "UnknownOperationException" if code == 501 else "SerializationException"
        self._send(json_response(code, {"__type": shape, "Message": message or "Bad request."}, str(uuid.uuid4())))

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # no access log; protocol errors still go to stderr through log_message


class LedgerHTTPServer(ThreadingHTTPServer):
    """Threads per connection; ``stop`` finishes the requests in flight and drops idle connections."""

    daemon_threads = False  # server_close() joins the handler threads
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], service: AwsJsonService, *, listening: socket.socket | None = None):
        """Bind ``address``, or accept on ``listening``: a bound, listening, non-blocking socket
        shared with other worker processes (``serve --workers``)."""
        self.service = service
        self.stopping = False
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, LedgerRequestHandler, bind_and_activate=listening is None)
        if listening is not None:
            self.socket.close()
            self.socket = listening
            self.server_address = listening.getsockname()[:2]
            self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def server_bind(self) -> None:
        TCPServer.server_bind(self)  # skip HTTPServer's reverse DNS lookup
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)
            if self.stopping:
                _stop_reading(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def stop(self) -> None:
        """Call from another thread than ``serve_forever``'s."""
        self.shutdown()
        with self._lock:
            self.stopping = True
            for connection in self._connections:
                _stop_reading(connection)  # idle keep-alive reads see EOF; answers still go out
        self.server_close()


def _stop_reading(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RD)
    except OSError:
        pass


def limits_from_env(environ: Mapping[str, str]) -> Limits:
    values: dict[str, int] = {}
    for name, field in LIMIT_SETTINGS.items():
        if environ.get(name):
            if not environ[name].isdigit() or int(environ[name]) < 1:
                raise ValueError(f"{name} must be a positive integer, not {environ[name]!r}")
            values[field] = int(environ[name])
    return Limits(**values)


def register_accounts(ledger: Ledger, accounts: Accounts) -> None:
    """Names and emails of the accounts file feed MASTER_NAME/MASTER_EMAIL and EMAIL targets."""
    for entry in accounts.entries:
        if entry.email or entry.name:
            ledger.register_account(entry.id, entry.email, entry.name)


def load_settings(accounts_file: str | None, strict: bool) -> tuple[Accounts, Limits]:
    """The accounts file and the limits; AccountsFileError or ValueError when unusable."""
    accounts = load_accounts(accounts_file)
    limits = limits_from_env(os.environ)
    if strict and not accounts_file:
        raise ValueError("--strict needs --accounts: the secrets to verify signatures against")
    return accounts, limits


def serve(location: str | None, *, host: str, port: int, accounts_file: str | None, strict: bool) -> int:
    """Serve until SIGTERM/SIGINT: 0 after a clean stop, 2 for unusable settings, 1 when refused."""
    try:
        accounts, limits = load_settings(accounts_file, strict)
    except (AccountsFileError, ValueError) as problem:
        print(f"handshake-ledger: {problem}", file=sys.stderr)
        return 2
    with open_ledger(location, limits=limits) as ledger:
        ledger.follow(interval=0.2)
        try:
            register_accounts(ledger, accounts)
            server = LedgerHTTPServer((host, port), AwsJsonService(ledger, Identity(accounts, strict=strict)))
        except (errors.OrganizationsError, OSError) as problem:  # e.g. an email taken, the port in use
            print(f"handshake-ledger: {problem}", file=sys.stderr)
            return 1
        run_until_signalled(server)
    return 0


def run_until_signalled(server: LedgerHTTPServer) -> None:
    stop = threading.Event()
    handlers = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    accepting = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="accept")
    accepting.start()
    print(f"handshake-ledger: serving on http://{server.server_name}:{server.server_port}/", file=sys.stderr, flush=True)
    try:
        stop.wait()
    finally:
        server.stop()
        accepting.join()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
