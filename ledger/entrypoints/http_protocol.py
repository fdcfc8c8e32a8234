"""uvicorn's httptools protocol, held to decision 2: whatever bytes arrive, a complete AWS-style answer.

``AwsJsonProtocol`` subclasses ``uvicorn.protocols.http.httptools_impl.HttpToolsProtocol`` (uvicorn
takes a protocol class for ``http=``) and changes only what happens at the edges of a request:

- bytes that are not an HTTP/1.0 or 1.1 request (``GARBAGE``, ``POST / HTTP/2.0``, a bare LF, two
  Content-Lengths) are answered 400 SerializationException; a request line with a method the parser
  doesn't know (``FOO / HTTP/1.1``) 405. Blank lines between pipelined requests are skipped;
- a body over ``max_body`` (1 MiB; by its Content-Length, or as a chunked body passes it) is
  answered 413 without being read, a request line and headers over ``max_header_bytes`` (64 KiB) 431;
- deadlines, each cutting the connection with 408 RequestTimeoutException: the headers must
  arrive within ``header_timeout`` seconds of the request's first byte, the body within
  ``body_timeout`` seconds of the headers. A connection with no request under way is closed
  after ``idle_timeout`` seconds, and stray blank lines do not keep it open;
- past ``max_connections`` open connections (per process), the idle keep-alive connection idle the
  longest is closed to make room, as nginx does (its client, had it sent a request at that very
  moment, sees the connection closed and retries, as on an idle timeout): idle connections can't
  lock new clients out. With none idle, the new one is answered 503 ServiceUnavailableException and
  closed: the cap bounds memory, as each connection holds at most one body and its headers;
- the bodies of all requests in flight in the process together hold at most ``max_body_memory``
  bytes beyond ``FREE_BODY`` (64 KiB) each (a request reserves its Content-Length when its headers
  end, a chunked one as it grows, until its answer is written): a request that does not fit is
  answered 503 ServiceUnavailableException with ``Retry-After`` before its body is read, so many
  connections each sending a large body can't grow the server past the budget, and small requests
  are still served meanwhile (their bodies are bounded by the connection cap, as headers are);
- a request asking to upgrade (WebSocket, h2c) is answered as HTTP/1.1 and its connection closed.

Every refusal is JSON with ``x-amzn-RequestId`` and ``Connection: close``, written after the answers
still owed to earlier pipelined requests, never before them.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from dataclasses import dataclass
from typing import Any, Callable

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from ledger.domain import errors
from ledger.entrypoints.aws_json import Response, error_response

HTTP_VERSIONS = ("1.0", "1.1")
FREE_BODY = 64 << 10  # bytes of each request's body not counted against the body budget
LINGER = 2.0
IDLE_ORDER = itertools.count()  # when each connection fell idle, in order (loop times can tie)  # seconds a refused client may go on sending (and we reading) before the close
# A request line that parses but for its method: answered 405 rather than 400 (RFC 9110 token).
_REQUEST_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [^ \r\n]+ HTTP/1\.[01]\r\n")


@dataclass(frozen=True)
class ServerLimits:
    """What one server process holds per connection and in all (decision 2). Seconds, bytes, counts."""

    max_connections: int = 256
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 60.0
    max_body: int = 1 << 20
    max_header_bytes: int = 64 << 10  # request line and headers; more is 431
    graceful_timeout: float = 20.0  # in-flight requests at SIGTERM; workers.STOP_GRACE is longer
    max_body_memory: int = 32 << 20  # bytes of request bodies held at once by the whole process
    # Proxies whose X-Forwarded-For/-Proto are believed (uvicorn's forwarded_allow_ips: addresses,
    # networks or "*"); None: none, the peer's address is the caller's (``serve --forwarded-allow-ips``).
    forwarded_allow_ips: str | None = None


def _last_message(data: bytes) -> bytes:
    """The last request begun in ``data`` (the one the parser failed on), from its request line."""
    messages = [part for part in data.split(b"\r\n\r\n") if part.strip(b"\r\n")]
    return messages[-1].lstrip(b"\r\n") + b"\r\n" if messages else b""


def closing_bytes(response: Response) -> bytes:
    """A complete HTTP/1.1 response, the connection's last."""
    lines = [STATUS_LINE[response.status]]
    headers = {**response.headers, "Content-Length": str(len(response.body)), "Connection": "close"}
    lines += [f"{name}: {value}\r\n".encode("latin-1") for name, value in headers.items()]
    return b"".join([*lines, b"\r\n", response.body])


class BodyBudget:
    """The bytes of request bodies a process holds at once, against ``ServerLimits.max_body_memory``."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.held = 0

    def reserve(self, size: int) -> bool:
        """Take ``size`` bytes if they fit; False (nothing taken) when they don't."""
        if self.held + size > self.capacity:
            return False
        self.held += size
        return True

    def release(self, size: int) -> None:
        self.held -= size


class AwsJsonProtocol(HttpToolsProtocol):
    """One connection; see the module's docstring. ``limits`` and ``budget`` are set by ``with_limits``."""

    limits = ServerLimits()
    budget = BodyBudget(limits.max_body_memory)

    @classmethod
    def with_limits(cls, limits: ServerLimits) -> type[AwsJsonProtocol]:
        """The protocol class of one server: its limits, and one body budget shared by its connections."""
        return type(cls.__name__, (cls,), {"limits": limits, "budget": BodyBudget(limits.max_body_memory)})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline: asyncio.TimerHandle | None = None
        self.owed: errors.OrganizationsError | None = None  # a refusal, once owed no byte more is parsed
        self.unserved: errors.OrganizationsError | None = None  # why a parser callback stopped the parser
        self.header_bytes: int | None = None  # received since the request began, until its headers end
        self.body_bytes = 0
        self.over_cap = False
        self.idle_mark = 0  # IDLE_ORDER when it last fell idle
        self.reserved = 0  # of ``budget``: bodies of this connection's requests not answered yet
        self.message_reserved = 0  # of which for the request being read

    # -- the connection's life: idle, headers, body, answered ----------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_idle()
        open_ = [c for c in self.connections if c.transport is not None and not c.transport.is_closing()]
        if len(open_) > self.limits.max_connections:
            self.over_cap = not self._close_longest_idle(open_)  # answered 503 once it asks

    def idle_since(self) -> int | None:
        """The order in which this connection fell idle (smallest: idle longest), None when busy: a
        request under way, an answer owed or being written."""
        if self.timeout_keep_alive_task is None or self.owed is not None or self.pipeline or self.transport.is_closing():
            return None
        return self.idle_mark

    def _close_longest_idle(self, open_: list[Any]) -> bool:
        """Close the connection idle the longest, other than this one; False when none is idle."""
        idle = [(when, connection) for connection in open_ if connection is not self
                and isinstance(connection, AwsJsonProtocol) and (when := connection.idle_since()) is not None]
        if not idle:
            return False
        _, longest = min(idle, key=lambda pair: pair[0])
        longest.timeout_keep_alive_handler()  # as its idle timeout would have
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        self._release()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """As uvicorn's, but a byte that begins no request (a blank line) doesn't end idleness."""
        if self.owed is not None:
            return  # read and dropped: the client gets its answer before the close (no reset)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserInvalidMethodError:
            well_formed = _REQUEST_LINE.match(_last_message(data))
            return self.refuse(errors.MethodNotAllowedException("The method is not allowed.") if well_formed else
                               errors.SerializationException("The request line is not HTTP/1.1."))
        except httptools.HttpParserUpgrade:
            if self.cycle is not None:
                self.cycle.keep_alive = False  # the request is answered; nothing after it is read
        except httptools.HttpParserError as problem:
            return self.refuse(self.unserved or errors.SerializationException(
                f"The request is not valid HTTP/1.1: {problem}."))
        if self.header_bytes is not None:  # headers still under way after this chunk
            self.header_bytes += len(data)
            if self.header_bytes > self.limits.max_header_bytes:
                self.refuse(self._headers_too_large())

    # asyncio.Protocol.eof_received may return True (the protocol closes the transport itself);
    # uvicorn's protocol annotates its own as returning None.
    def eof_received(self) -> bool:  # type: ignore[override]
        """The client sent all it will (a half-close): answer what it asked, then close."""
        if self.owed is None and self.cycle is not None and not self.cycle.response_complete:
            if self.cycle.more_body:
                self.refuse(errors.SerializationException("The connection ended in the middle of a request body."))
            else:
                self.cycle.keep_alive = False  # closes after the last answer
            return True
        return False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.header_bytes, self.body_bytes = 0, 0
        self._unset_keepalive_if_required()
        self._arm(self.limits.header_timeout, "headers")

    def on_headers_complete(self) -> None:
        self.header_bytes = None
        if len(self.url) + sum(len(name) + len(value) for name, value in self.headers) > self.limits.max_header_bytes:
            self._stop(self._headers_too_large())
        version = self.parser.get_http_version()
        if version not in HTTP_VERSIONS:
            self._stop(errors.SerializationException(f"HTTP/{version} is not served here; use HTTP/1.1."))
        if self.over_cap:
            self._stop(errors.ServiceUnavailableException())
        length = next((value for name, value in self.headers if name == b"content-length"), b"0")
        if int(length) > self.limits.max_body:  # the parser refused a Content-Length that is not a number
            self._stop(self._too_large())
        self.message_reserved = 0
        self._reserve_up_to(int(length))
        super().on_headers_complete()
        self._arm(self.limits.body_timeout, "body")

    def on_body(self, body: bytes) -> None:
        self.body_bytes += len(body)
        if self.body_bytes > self.limits.max_body:
            self._stop(self._too_large())
        self._reserve_up_to(self.body_bytes)  # chunked: the budget counts it as it grows
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._cancel_deadline()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        if not self.pipeline and self.cycle is not None and self.cycle.response_complete:
            self._release()  # every request read is answered: their bodies are gone
        super().on_response_complete()
        self.idle_mark = next(IDLE_ORDER)  # idle from now, if no pipelined request follows
        if self.owed is not None and not self.pipeline and self.cycle.response_complete:
            self._write_refusal(self.owed)

    # -- the body budget ------------------------------------------------------------------------------

    def _reserve_up_to(self, body_bytes: int) -> None:
        """From a parser callback: hold ``body_bytes`` of this request's body, or 503 when over budget.
        The first ``FREE_BODY`` bytes are not counted: bounded by the connection cap as headers are,
        so that small requests are served while large bodies fill the budget."""
        size = max(0, body_bytes - FREE_BODY) - self.message_reserved
        if size <= 0:
            return
        if not self.budget.reserve(size):
            self._stop(errors.ServiceUnavailableException(
                "The server holds as many request bodies as it may; retry after a second."))
        self.reserved += size
        self.message_reserved += size

    def _release(self) -> None:
        self.budget.release(self.reserved)
        self.reserved = self.message_reserved = 0

    # -- refusals and deadlines -----------------------------------------------------------------------

    def _stop(self, error: errors.OrganizationsError) -> None:
        """From a parser callback: stop parsing; ``data_received`` answers ``error``."""
        self.unserved = error
        raise httptools.HttpParserCallbackError(error.message)

    def _headers_too_large(self) -> errors.OrganizationsError:
        return errors.RequestHeaderFieldsTooLargeException(
            f"The request line and headers are over {self.limits.max_header_bytes} bytes.")

    def _too_large(self) -> errors.OrganizationsError:
        return errors.RequestEntityTooLargeException(f"The request body is over {self.limits.max_body} bytes.")

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

    def _write_refusal(self, error: errors.OrganizationsError) -> None:
        """Write the answer, stop writing, and close once the client is done sending (at most LINGER s)."""
        if self.cycle is not None:
            self.cycle.response_complete = True  # an app still reading the body sees a disconnect
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        response = error_response(error)
        if isinstance(error, errors.ServiceUnavailableException):
            response.headers["Retry-After"] = "1"
        self.transport.write(closing_bytes(response))
        self.flow.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER, self.transport.close)
        else:
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
        self.idle_mark = next(IDLE_ORDER)

    def _cancel_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
