"""``handshake-ledger serve`` on uvicorn: a raw ASGI shell around ``AwsJsonService.handle``.

uvicorn with its httptools protocol and uvloop was the fastest of the servers measured by
``scripts/http_server_choice.py`` (stdlib, uvicorn, granian, gunicorn, waitress, hypercorn), and
its CPU per request stays flat as clients grow (one event loop, no thread per connection).

- No framework: ``asgi_app`` turns the ASGI scope into a ``SignedRequest`` and the ``Response``
  back into two ASGI messages. Requests under ``/ui/`` go to the web UI (``webui/``, unless
  ``serve --no-ui``), which has the service's shape; everything else to ``AwsJsonService``. Reads
  of the views (``answers_at_once``: sub-millisecond) run on the event loop; commands, which wait
  for the disk, UI pages and anything else run on a thread pool. ``HEAD`` is answered as ``GET``
  without a body; a browser's ``GET /`` (``Accept: text/html``) is redirected (303) to ``/ui/``.
- ``serve --access-log``: one line per request on stderr, ``<UTC time> <caller> <operation> <status>
  <duration>ms`` (the caller the service identified, ``-`` if none; the operation, or method and path).
- ``AwsJsonProtocol`` (``http_protocol.py``) holds the limits (``ServerLimits``): deadlines, the
  connection cap, the body and header sizes, and the answers to bytes that are not HTTP/1.1.
- SIGTERM/SIGINT: stop accepting, finish the requests in flight (at most ``graceful_timeout``
  seconds), close idle connections; ``serve`` then closes the ledger and returns 0 (uvicorn
  itself would re-raise the signal after its shutdown, ending the process with it).
- ``serve --workers N``: each worker runs ``run_server`` on the listening socket it inherited
  from the supervisor (``workers.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import uvicorn

from ledger.domain import errors
from ledger.domain.clock import system_clock
from ledger.entrypoints.accounts import AccountsFileError
from ledger.entrypoints.aws_json import AwsJsonService, Response
from ledger.entrypoints.bootstrap import open_ledger
from ledger.entrypoints.cli_format import one_line, printable
from ledger.entrypoints.http_protocol import AwsJsonProtocol, ServerLimits
from ledger.entrypoints.identity import SignedRequest
from ledger.entrypoints.settings import Settings, compose_service, load_settings, register_accounts
from ledger.entrypoints.webui import WebUI

UI_HOME = "/ui/"
BACKLOG = 1024  # connections the kernel queues before accept()
# Commands wait for their group's transaction (ledger/service_layer/group_commit.py) on threads of their own: as
# many as may arrive together, so that they can share one commit (the GIL runs one at a time).
COMMAND_THREADS = 64
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def asgi_app(service: AwsJsonService, ui: WebUI | None = None, access_log: bool = False) -> Any:
    """The ASGI application: one request in, one answer out (the UI's under ``/ui/``, else the API's).

    ``HEAD`` is answered as ``GET`` without the body; a browser's ``GET /`` (``Accept: text/html``) is
    sent to the UI (303); ``access_log``: one line per request on stderr (``access_line``)."""
    commands = ThreadPoolExecutor(COMMAND_THREADS, thread_name_prefix="command")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = time.perf_counter()
        headers = _headers(scope["headers"])
        body = await _body(receive)
        if body is None:  # the client went away, or the protocol answered for it
            return None
        target = scope["raw_path"].decode("latin-1") + (f"?{scope['query_string'].decode('latin-1')}"
                                                        if scope["query_string"] else "")
        client = scope.get("client")
        head = scope["method"] == "HEAD"
        request = SignedRequest("GET" if head else scope["method"], target, headers, body,
                                source_ip=client[0] if client else None)
        answering: AwsJsonService | WebUI = ui if ui is not None and ui.serves(request.path) else service
        if ui is not None and wants_the_ui(request):
            response = Response(303, {"Location": UI_HOME, "Content-Type": "text/plain; charset=utf-8"},
                                f"See {UI_HOME}\n".encode())
        elif answering.answers_at_once(request):
            response = answering.handle(request)
        else:
            response = await asyncio.get_running_loop().run_in_executor(commands, answering.handle, request)
        await _send(send, response, head)
        if access_log:
            print(access_line(request, response, time.perf_counter() - started), file=sys.stderr, flush=True)

    return app


def wants_the_ui(request: SignedRequest) -> bool:
    """A browser asking for the endpoint's root: ``GET /`` accepting HTML (API clients send no such Accept)."""
    return (request.method == "GET" and request.path.partition("?")[0] == "/"
            and "text/html" in request.headers.get("accept", "").lower())


def access_line(request: SignedRequest, response: Response, seconds: float) -> str:
    """``<UTC time> <caller account or -> <operation, or method and path> <status> <duration> ms``."""
    when = system_clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    what = response.operation or f"{request.method} {request.path}"
    return " ".join([when, response.caller or "-", printable(" ".join(what.split())), str(response.status),
                     f"{seconds * 1000:.1f}ms"])


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-case names; a repeated header's values joined with "," (as SigV4 canonicalizes them)."""
    headers: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode("latin-1"), value.decode("latin-1")
        headers[key] = f"{headers[key]},{text}" if key in headers else text
    return headers


async def _body(receive: Any) -> bytes | None:
    """The whole body (the protocol cut it at ``max_body``); None when the client is gone."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)  # one chunk, as most bodies come: that very object, no copy


async def _send(send: Any, response: Response, head: bool = False) -> None:
    """The answer; to a HEAD, its headers (the GET's Content-Length) and no body."""
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers.items()]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else response.body})


class LedgerServer(uvicorn.Server):
    """uvicorn's server, ending with a return instead of the signal that stopped it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def server_for(service: AwsJsonService, limits: ServerLimits = ServerLimits(), ui: WebUI | None = None,
               access_log: bool = False) -> LedgerServer:
    config = uvicorn.Config(
        asgi_app(service, ui, access_log), http=AwsJsonProtocol.with_limits(limits), loop="uvloop", ws="none",
        lifespan="off", log_config=None, log_level="error", access_log=False, server_header=False,
        date_header=False, backlog=BACKLOG,
        # X-Forwarded-For is no signed header: believed only from the proxies ``serve --forwarded-allow-ips`` names
        proxy_headers=limits.forwarded_allow_ips is not None, forwarded_allow_ips=limits.forwarded_allow_ips or "",
        timeout_keep_alive=limits.idle_timeout,  # type: ignore[arg-type]  # seconds: asyncio takes fractions
        timeout_graceful_shutdown=limits.graceful_timeout,  # type: ignore[arg-type]
    )
    return LedgerServer(config)


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound once (``serve --workers`` shares it among its workers)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.create_server((host, port), family=family, backlog=BACKLOG)
    listening.setblocking(False)
    return listening


def run_server(service: AwsJsonService, listening: socket.socket, limits: ServerLimits = ServerLimits(),
               ui: WebUI | None = None, access_log: bool = False) -> None:
    """Serve on ``listening`` until SIGTERM/SIGINT (or ``should_exit``), then finish what is in flight."""
    host, port = listening.getsockname()[:2]
    server = server_for(service, limits, ui, access_log)
    if ui is not None:
        ui.listening_on(host, port)
    web_ui = f" (web UI: http://{host}:{port}/ui/)" if ui else ""
    print(f"handshake-ledger: serving on http://{host}:{port}/{web_ui}", file=sys.stderr, flush=True)
    server.run(sockets=[listening])


def serve(location: str | None, *, host: str, port: int, accounts_file: str | None, strict: bool,
          limits: ServerLimits = ServerLimits(), ui: bool = True, allowed_hosts: tuple[str, ...] = (),
          access_log: bool = False) -> int:
    """Serve until SIGTERM/SIGINT: 0 after a clean stop, 2 for unusable settings, 1 when refused."""
    try:
        accounts, ledger_limits = load_settings(accounts_file, strict)
    except (AccountsFileError, ValueError) as problem:
        print(f"handshake-ledger: {one_line(problem)}", file=sys.stderr)
        return 2
    with open_ledger(location, limits=ledger_limits) as ledger:
        ledger.follow(interval=0.2)
        try:
            register_accounts(ledger, accounts)
            listening = listen(host, port)
        except (errors.OrganizationsError, OSError) as problem:  # e.g. an email taken, the port in use
            print(f"handshake-ledger: {one_line(problem)}", file=sys.stderr)
            return 1
        with listening:
            service, web_ui = compose_service(ledger, Settings(location, accounts, ledger_limits, strict, limits, ui,
                                                                  allowed_hosts, access_log))
            run_server(service, listening, limits, web_ui, access_log)
    return 0
