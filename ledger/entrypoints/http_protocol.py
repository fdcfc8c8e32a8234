"""uvicorn's httptools protocol, held to decision 2: whatever bytes arrive, a complete AWS-style answer.

``AwsJsonProtocol`` subclasses ``uvicorn.protocols.http.httptools_impl.HttpToolsProtocol`` (uvicorn
takes a protocol class for ``http=``) and changes only what happens at the edges of a request:

- bytes that are not an HTTP/1.0 or 1.1 request (``GARBAGE``, ``POST / HTTP/2.0``, a bare LF, two
  Content-Lengths) are answered 400 SerializationException; a request line with a method the parser
  doesn't know (``FOO / HTTP/1.1``) 405. Blank lines between pipelined requests are skipped;
- deadlines, each cutting the connection with 408 RequestTimeoutException: the headers must
  arrive within ``header_timeout`` seconds of the request's first byte, the body within
  ``body_timeout`` seconds of the headers. A connection with no request under way is closed
  after ``idle_timeout`` seconds, and stray blank lines do not keep it open;
- past ``max_connections`` open connections (per process), a new one is answered 503
  ServiceUnavailableException and closed: the cap bounds memory (each holds at most a 1 MiB body);
- a request asking to upgrade (WebSocket, h2c) is answered as HTTP/1.1 and its connection closed.

Every refusal is JSON with ``x-amzn-RequestId`` and ``Connection: close``, written after the answers
still owed to earlier pipelined requests, never before them.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any, Callable

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from ledger import errors
from ledger.entrypoints.aws_json import Response, error_response

HTTP_VERSIONS = ("1.0", "1.1")
# A request line that parses but for its method: answered 405 rather than 400 (RFC 9110 token).
_REQUEST_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [^ \r\n]+ HTTP/1\.[01]\r\n")


@dataclass(frozen=True)
class ServerLimits:
    """What one server process holds per connection and in all (decision 2). Seconds, bytes, counts."""

    max_connections: int = 1000
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 60.0
    max_body: int = 1 << 20
    graceful_timeout: float = 20.0  # in-flight requests at SIGTERM; workers.STOP_GRACE is longer


def _last_message(data: bytes) -> bytes:
    """The last request begun in ``data`` (the one the parser failed on), from its request line."""
    messages = [part for part in data.split(b"\r\n\r\n") if part.strip(b"\r\n")]
    return messages[-1].lstrip(b"\r\n") + b"\r\n" if messages else b""


def wire_bytes(response: Response, *, close: bool) -> bytes:
    """A complete HTTP/1.1 response."""
    lines = [STATUS_LINE[response.status]]
    headers = {**response.headers, "Content-Length": str(len(response.body))}
    if close:
        headers["Connection"] = "close"
    lines += [f"{name}: {value}\r\n".encode("latin-1") for name, value in headers.items()]
    return b"".join([*lines, b"\r\n", response.body])


class AwsJsonProtocol(HttpToolsProtocol):
    """One connection; see the module's docstring. ``limits`` is set by ``with_limits``."""

    limits = ServerLimits()

    @classmethod
    def with_limits(cls, limits: ServerLimits) -> type[AwsJsonProtocol]:
        return type(cls.__name__, (cls,), {"limits": limits})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline: asyncio.TimerHandle | None = None
        self.owed: errors.OrganizationsError | None = None  # a refusal waiting for earlier answers
        self.unserved: errors.OrganizationsError | None = None  # why a parser callback stopped the parser

    # -- the connection's life: idle, headers, body, answered ----------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self.refuse(errors.ServiceUnavailableException())
            return
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """As uvicorn's, but a byte that begins no request (a blank line) doesn't end idleness."""
        if self.owed is not None:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserInvalidMethodError:
            well_formed = _REQUEST_LINE.match(_last_message(data))
            self.refuse(errors.MethodNotAllowedException("The method is not allowed.") if well_formed else
                        errors.SerializationException("The request line is not HTTP/1.1."))
        except httptools.HttpParserUpgrade:
            if self.cycle is not None:
                self.cycle.keep_alive = False  # the request is answered; nothing after it is read
        except httptools.HttpParserError as problem:
            self.refuse(self.unserved or errors.SerializationException(f"The request is not valid HTTP/1.1: {problem}."))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._unset_keepalive_if_required()
        self._arm(self.limits.header_timeout, "headers")

    def on_headers_complete(self) -> None:
        version = self.parser.get_http_version()
        if version not in HTTP_VERSIONS:
            self.unserved = errors.SerializationException(f"HTTP/{version} is not served here; use HTTP/1.1.")
            raise httptools.HttpParserCallbackError("refused")  # the parser stops; data_received answers
        super().on_headers_complete()
        self._arm(self.limits.body_timeout, "body")

    def on_message_complete(self) -> None:
        self._cancel_deadline()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        done = not self.pipeline and self.cycle.response_complete
        if self.owed is not None and done and not self.transport.is_closing():
            self._write_refusal(self.owed)

    # -- refusals and deadlines -----------------------------------------------------------------------

    def refuse(self, error: errors.OrganizationsError) -> None:
        """Answer ``error`` and close, after the answers owed to earlier complete requests."""
        self._cancel_deadline()
        self._unset_keepalive_if_required()
        self.owed = error
        cycle = self.cycle
        if cycle is not None and cycle.more_body and not cycle.response_started:  # a request half received
            if self.pipeline and self.pipeline[0][0] is cycle:
                self.pipeline.popleft()  # queued behind another: dropped, that one is answered first
            else:
                return self._write_refusal(error)  # its app waits for a body that won't come
        if cycle is None or cycle.response_complete:
            self._write_refusal(error)
        else:
            self.flow.pause_reading()  # on_response_complete writes it once the pipeline is empty

    def _write_refusal(self, error: errors.OrganizationsError) -> None:
        if self.cycle is not None:
            self.cycle.response_complete = True  # an app still reading the body sees a disconnect
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.write(wire_bytes(error_response(error), close=True))
        self.transport.close()

    def _arm(self, seconds: float, what: str) -> None:
        self._cancel_deadline()
        self.deadline = self.loop.call_later(seconds, self._expired(what))

    def _expired(self, what: str) -> Callable[[], None]:
        def cut() -> None:
            self.deadline = None
            if not self.transport.is_closing():
                self.refuse(errors.RequestTimeoutException(f"The request's {what} did not arrive in time."))
        return cut

    def _arm_idle(self) -> None:
        """uvicorn arms its keep-alive timer after each answer; a new connection gets one too."""
        self._unset_keepalive_if_required()
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def _cancel_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
