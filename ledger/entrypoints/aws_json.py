"""``handshake-ledger serve``: the ledger's ``call()`` as AWS JSON 1.1 (decisions 1-4).

``POST /`` with ``X-Amz-Target: AWSOrganizationsV20161128.<Op>`` and a JSON object body answers
the operation, and ``com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`` the
audit as CloudTrail's event history (``APIS``: one row per API on the endpoint); a
form-encoded ``POST /`` (the AWS Query protocol) STS GetCallerIdentity, in XML (``sts.py``);
``POST /as-of/<instant>`` (or ``/as-of/position/<N>``) answers it as the ledger stood
then: every read as it answered, every command refused (the past is read-only);
``GET /_ledger/health`` answers 200 and the answering process's pid when the server
is ready; another path is 404, another method than GET, HEAD (as GET, no body) or POST 405. ``AwsJsonService.handle`` is a pure function
from a ``SignedRequest`` to a ``Response``: it knows no server, so the in-process boto3 client and
the HTTP server (``http_server.py``) call the very same code. It adds no business rule: it finds
the caller, hands the operation to the ledger, and is the one place where domain errors become
wire errors. Every answer carries ``x-amzn-RequestId``; that id is also the ``request_id`` of the
events the request records.

``serve`` runs it on uvicorn (``http_server.py``, chosen by ``scripts/http_server_choice.py``):
SIGTERM or SIGINT stops accepting, lets requests in flight finish, closes idle connections,
closes the ledger, and ``serve`` returns 0.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Callable, Mapping, Protocol
from urllib.parse import unquote

import orjson

from ledger.domain import errors
from ledger.service_layer.audit import Caller
from ledger.entrypoints import cloudtrail, sts
from ledger.entrypoints.dispatch import OPERATIONS, QUERIES
from ledger.entrypoints.identity import SERVICE, Identity, SignedRequest, parse_authorization

TARGET_PREFIX = "AWSOrganizationsV20161128."
CONTENT_TYPE = "application/x-amz-json-1.1"
HEALTH_PATH = "/_ledger/health"
AS_OF_PREFIX = "/as-of/"
METHODS = ("GET", "HEAD", "POST")  # HEAD: as GET, the server sends no body


@dataclass(frozen=True)
class Response:
    """An HTTP answer; ``caller`` (the account identified) and ``operation`` are for the access log."""

    status: int
    headers: dict[str, str]
    body: bytes
    caller: str | None = None
    operation: str | None = None


def json_response(status: int, answer: Mapping[str, Any], request_id: str) -> Response:
    """The answer as compact JSON, datetimes as epoch seconds: orjson (a List page's 20 handshakes
    encode in a tenth of the standard library's time); the standard library for what orjson refuses
    (a lone surrogate echoed in a message: decision 2), which it writes as an escape."""
    try:
        body = orjson.dumps(answer, default=_as_epoch_seconds, option=orjson.OPT_PASSTHROUGH_DATETIME)
    except TypeError:  # orjson.JSONEncodeError is one
        body = json.dumps(answer, default=_as_epoch_seconds, separators=(",", ":")).encode()
    return Response(status, {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id}, body)


def error_response(error: errors.OrganizationsError, request_id: str | None = None) -> Response:
    """An AWS error answer: ``{"__type", "Message"[, "Reason"]}`` with the error's status."""
    return json_response(error.status, error.to_wire(), request_id or str(uuid.uuid4()))


def _as_epoch_seconds(value: Any) -> float:
    """The wire's timestamps: epoch seconds, fractions allowed (shapes keep datetimes)."""
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class Answers(Protocol):
    """What the service needs of the ledger: its one dispatch, and the ledger as of a moment."""

    def call(self, caller: Caller, operation: str, params: dict[str, Any] | None = None) -> dict[str, Any]: ...

    def record_refusal(self, caller: Caller, operation: str, params: dict[str, Any] | None,
                       error: errors.OrganizationsError) -> None: ...

    def at(self, instant: str | None = None, *, position: int | None = None) -> Answers: ...


@dataclass(frozen=True)
class Api:
    """One AWS API on the endpoint: the service its SigV4 credentials are scoped to, the dispatch
    of its operations, and which of them are reads of the views (answered on the event loop)."""

    service: str
    dispatch: Callable[[Any, Caller, str, dict[str, Any]], dict[str, Any]]  # (ledger, caller, operation, params)
    reads: frozenset[str]
    operations: frozenset[str]
    audited: bool  # its calls other than reads are the audit log's (Organizations'; not CloudTrail's own)


def _organizations(ledger: Answers, caller: Caller, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    return ledger.call(caller, operation, params)


APIS = {  # X-Amz-Target prefix -> its API
    TARGET_PREFIX: Api(SERVICE, _organizations, frozenset(QUERIES), frozenset(OPERATIONS), audited=True),
    # LookupEvents reads the audit table: an index seek, but a page of records is encoded: off the loop
    cloudtrail.TARGET_PREFIX: Api(cloudtrail.SERVICE, cloudtrail.dispatch, frozenset(),
                                  frozenset(cloudtrail.OPERATIONS), audited=False),
}
MAX_EVENT_NAME = 128  # what a record keeps of an operation name nobody knows


def api_of(target: str) -> tuple[Api | None, str]:
    """The API an X-Amz-Target names, and the operation; (None, target) for no API of ours."""
    for prefix, api in APIS.items():
        if target.startswith(prefix):
            return api, target[len(prefix):]
    return None, target


class AwsJsonService:
    """An HTTP request in, an HTTP response out; knows nothing of the server carrying it."""

    def __init__(self, ledger: Answers, identity: Identity):
        self.ledger = ledger
        self.identity = identity

    def handle(self, request: SignedRequest) -> Response:
        request_id = str(uuid.uuid4())
        if request.method == "HEAD":
            request = replace(request, method="GET")
        if request.method not in METHODS:
            refusal = error_response(errors.MethodNotAllowedException(f"Method {request.method} is not allowed."),
                                     request_id)
            refusal.headers["Allow"] = ", ".join(METHODS)
            return refusal
        if request.method == "GET" and request.path == HEALTH_PATH:
            return json_response(200, {"Status": "ok", "Pid": os.getpid()}, request_id)  # which worker
        path = request.path.partition("?")[0]
        if (path == "/" or path.startswith(AS_OF_PREFIX)) and sts.is_query(request):
            return self._sts(request, request_id)
        if request.method != "POST" or not (path == "/" or path.startswith(AS_OF_PREFIX)):
            return json_response(404, {"__type": "UnknownOperationException",
                                       "Message": f"No route for {request.method} {request.path!r}."}, request_id)
        noted: dict[str, str] = {}  # the caller and the operation, as far as the request got
        try:
            response = json_response(200, self._answer(request, request_id, path, noted), request_id)
        except errors.OrganizationsError as error:
            response = error_response(error, request_id)
        except Exception:
            print(f"handshake-ledger: request {request_id} failed\n{traceback.format_exc()}", file=sys.stderr, flush=True)
            response = error_response(errors.ServiceException(), request_id)
        return replace(response, caller=noted.get("caller"), operation=noted.get("operation"))

    def _sts(self, request: SignedRequest, request_id: str) -> Response:
        """An AWS Query call (STS GetCallerIdentity, ``sts.py``): who the caller is, at any moment alike."""
        try:
            answer = sts.handle(request, self.identity, request_id)
        except Exception:
            print(f"handshake-ledger: request {request_id} failed\n{traceback.format_exc()}", file=sys.stderr, flush=True)
            answer = sts.internal_failure(request_id)
        return Response(*answer)

    def answers_at_once(self, request: SignedRequest) -> bool:
        """Whether ``handle`` is quick enough for a server's event loop: the health check and the
        reads of the views (sub-millisecond). Commands wait for the disk; anything else may be slow."""
        if request.path == HEALTH_PATH:
            return True
        api, operation = api_of(request.headers.get("x-amz-target", ""))
        path = request.path.partition("?")[0]
        return (path == "/" or path.startswith(AS_OF_PREFIX)) and api is not None and operation in api.reads

    def _as_of(self, path: str) -> Answers:
        """``/as-of/<instant>`` (ISO 8601, ``now``, ``-3d``) or ``/as-of/position/<N>``: the ledger as it
        stood then, read-only; a 400 InvalidInputException for anything else. In strict
        mode a position is 403 AccessDeniedException: the log's positions count (and its instants
        date) other accounts' events, which a caller may not see; an instant reveals only what the
        caller's own answers hold, and no refusal names the log's length."""
        when = unquote(path[len(AS_OF_PREFIX):]).rstrip("/")
        try:
            if when.startswith("position/"):
                if self.identity.strict:  # a position counts every account's events (docs/strict-mode.md)
                    raise errors.AccessDeniedException(
                        f"Log positions are not served in strict mode: they count every account's events. Ask "
                        f"as of an instant with {AS_OF_PREFIX}<ISO 8601 instant>.")
                number = when[len("position/"):]
                if not (number.isascii() and number.isdigit()):
                    raise ValueError(f"invalid position {number!r}: a whole number of the log")
                return self.ledger.at(position=int(number))
            return self.ledger.at(when)
        except ValueError as problem:
            raise errors.InvalidInputException(
                f"{problem}. Ask as of an instant with {AS_OF_PREFIX}<ISO 8601 instant> or of a log position "
                f"with {AS_OF_PREFIX}position/<N>.", reason="INVALID_PATTERN"
            ) from None

    def _answer(self, request: SignedRequest, request_id: str, path: str, noted: dict[str, str]) -> dict[str, Any]:
        """Authenticate the caller, then (and only then) open the moment the path asks for, then answer
        (``noted`` gets the operation and, once authenticated, the caller).

        Every authenticated call but a read is audited, refused or not, as AWS records it: a command
        refused for what the ledger judges is recorded by the ledger (``Ledger.command``, and
        ``LedgerAt.command`` for one sent to the past); one refused before it gets there (an
        unknown operation, a body that is not a JSON object, a moment that can't be read) is
        recorded here, with the error's ``__type`` as its errorCode and what was sent, if JSON."""
        target = request.headers.get("x-amz-target", "")
        api, operation = api_of(target)
        noted["operation"] = operation if api else target or "-"
        account_id = self.identity.account_of(request, api.service if api else SERVICE)
        noted["caller"] = account_id
        credential = parse_authorization(request.headers.get("authorization"))
        caller = Caller(account_id, request_id, access_key_id=credential.access_key_id if credential else None,
                        source_ip=request.source_ip, user_agent=request.headers.get("user-agent"))
        params: dict[str, Any] | None = None
        try:
            if api is None:
                raise errors.UnknownOperationException(f"Unknown operation target {target!r}.")
            if api.audited and operation not in api.operations:
                raise errors.UnknownOperationException(f"Unknown operation {operation}.")
            try:
                params, unreadable = _json_object(request.body), None
            except errors.OrganizationsError as problem:
                unreadable = problem
            answers = self._as_of(path) if path != "/" else self.ledger  # the moment's fault first
            if unreadable is not None:
                raise unreadable
        except errors.OrganizationsError as refused:
            if api is None or (api.audited and operation not in api.reads):
                name = (operation.rpartition(".")[2] or operation or "(none)")[:MAX_EVENT_NAME]
                self.ledger.record_refusal(caller, name, params, refused)
            raise
        return api.dispatch(answers, caller, operation, params or {})


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
