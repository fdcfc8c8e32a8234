"""STS on the ledger's endpoint: GetCallerIdentity over the AWS Query protocol, as botocore's ``sts`` model says.

Every AWS tool's first call (the AWS CLI in scripts, Terraform's provider, CDK) asks STS who it is.
botocore sends it as a form-encoded ``POST /`` (``Content-Type: application/x-www-form-urlencoded``,
body ``Action=GetCallerIdentity&Version=2011-06-15``, no ``X-Amz-Target``), signed for the service
``sts``; ``AwsJsonService`` hands such requests here (``is_query``). The answer is the Query
protocol's XML::

    <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
      <GetCallerIdentityResult><Arn>…</Arn><UserId>…</UserId><Account>…</Account></GetCallerIdentityResult>
      <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
    </GetCallerIdentityResponse>

for the caller ``Identity`` finds (lenient or strict, the same SigV4 checks as the other APIs):
``arn:aws:iam::<account>:root`` with UserId the account id, or, for a key the accounts file gives a
``user``, ``arn:aws:iam::<account>:user/<user>`` with a UserId ``AIDA…`` derived from the account
and the user name (stable across restarts). Errors are the Query protocol's ``<ErrorResponse>``
with AWS's codes for STS: MissingAuthenticationToken, InvalidClientTokenId and
SignatureDoesNotMatch (403), MissingAction and InvalidAction (400), InternalFailure (500).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any, NamedTuple
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from ledger.domain import errors
from ledger.entrypoints.identity import Identity, SignedRequest, parse_authorization

SERVICE = "sts"
VERSION = "2011-06-15"
NAMESPACE = f"https://sts.amazonaws.com/doc/{VERSION}/"
FORM = "application/x-www-form-urlencoded"
XML = "text/xml"
OPERATIONS = ("GetCallerIdentity",)


class QueryError(Exception):
    """An STS error answer: its code, HTTP status, message and who is at fault (Sender/Receiver)."""

    def __init__(self, code: str, status: int, message: str, fault: str = "Sender"):
        super().__init__(f"{code}: {message}")
        self.code, self.status, self.message, self.fault = code, status, message, fault


def is_query(request: SignedRequest) -> bool:
    """Whether ``request`` is an AWS Query call: a form-encoded POST without ``X-Amz-Target``, or a GET
    whose query string names an ``Action``."""
    if "x-amz-target" in request.headers:
        return False
    if request.method == "POST":
        return request.headers.get("content-type", "").lower().startswith(FORM)
    return request.method == "GET" and "Action" in parse_qs(request.path.partition("?")[2])


class QueryAnswer(NamedTuple):
    """An HTTP answer to a Query call, with the caller identified (None: refused) and the action asked."""

    status: int
    headers: dict[str, str]
    body: bytes
    caller: str | None = None
    operation: str | None = None


def handle(request: SignedRequest, identity: Identity, request_id: str) -> QueryAnswer:
    """The answer to the Query call ``request``: GetCallerIdentity's XML, or an ``<ErrorResponse>``."""
    noted: dict[str, str] = {}
    try:
        status, body = 200, _answer(request, identity, request_id, noted)
    except QueryError as error:
        status, body = error.status, error_xml(error, request_id)
    return QueryAnswer(status, {"Content-Type": XML, "x-amzn-RequestId": request_id}, body,
                       noted.get("caller"), noted.get("operation"))


def _answer(request: SignedRequest, identity: Identity, request_id: str, noted: dict[str, str]) -> bytes:
    params = _params(request)
    action, version = params.get("Action"), params.get("Version")
    noted["operation"] = action or "-"
    account_id = _authenticated(request, identity)  # before the action is looked at, as AWS does
    noted["caller"] = account_id
    if not action:
        raise QueryError("MissingAction", 400, "The request must contain the parameter Action.")
    if action not in OPERATIONS or version != VERSION:
        raise QueryError("InvalidAction", 400, f"Could not find operation {action} for version {version}: this "
                                               f"endpoint's STS answers {', '.join(OPERATIONS)} ({VERSION}).")
    arn, user_id = principal(request, identity, account_id)
    result = f"<Arn>{escape(arn)}</Arn><UserId>{escape(user_id)}</UserId><Account>{account_id}</Account>"
    return (f'<GetCallerIdentityResponse xmlns="{NAMESPACE}"><GetCallerIdentityResult>{result}'
            f"</GetCallerIdentityResult><ResponseMetadata><RequestId>{request_id}</RequestId>"
            "</ResponseMetadata></GetCallerIdentityResponse>").encode()


def _params(request: SignedRequest) -> dict[str, str]:
    """The call's parameters: the form body of a POST, the query string of a GET (first value of each)."""
    text: Any = request.body if request.method == "POST" else request.path.partition("?")[2].encode()
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise QueryError("MalformedQueryString", 400, "The request's parameters are not UTF-8.") from None
    return {name: values[0] for name, values in parse_qs(decoded, keep_blank_values=True).items()}


def _authenticated(request: SignedRequest, identity: Identity) -> str:
    """The calling account, as the other APIs find it; the refusals as STS words them."""
    try:
        return identity.account_of(request, SERVICE)
    except errors.UnrecognizedClientException:
        if parse_authorization(request.headers.get("authorization")) is None:
            raise QueryError("MissingAuthenticationToken", 403, "Request is missing Authentication Token") from None
        raise QueryError("InvalidClientTokenId", 403, "The security token included in the request is invalid.") from None
    except errors.InvalidSignatureException as refusal:
        raise QueryError("SignatureDoesNotMatch", 403, refusal.message) from None


def principal(request: SignedRequest, identity: Identity, account_id: str) -> tuple[str, str]:
    """(Arn, UserId): the account's root, or the IAM user the accounts file gives the request's key."""
    credential = parse_authorization(request.headers.get("authorization"))
    known = identity.accounts.key(credential.access_key_id) if credential else None
    if known is None or known[0] != account_id or known[1].user is None:
        return f"arn:aws:iam::{account_id}:root", account_id
    user = known[1].user
    return f"arn:aws:iam::{account_id}:user/{user}", user_id(account_id, user)


def user_id(account_id: str, user: str) -> str:
    """An IAM user's unique id as AWS shapes them (``AIDA`` and 17 of A-Z2-7), derived from the pair."""
    digest = hashlib.sha256(f"{account_id}:{user}".encode()).digest()
    return "AIDA" + base64.b32encode(digest).decode()[:17]


def error_xml(error: QueryError, request_id: str) -> bytes:
    """The Query protocol's error document, which botocore's query parser reads."""
    return (f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{error.fault}</Type><Code>{error.code}</Code>'
            f"<Message>{escape(error.message)}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>").encode()


def internal_failure(request_id: str) -> QueryAnswer:
    """A 500 for a fault of ours, in the Query protocol's words."""
    error = QueryError("InternalFailure", 500, "The request processing has failed because of an unknown error.",
                       "Receiver")
    return QueryAnswer(error.status, {"Content-Type": XML, "x-amzn-RequestId": request_id}, error_xml(error, request_id))
