"""In-process boto3 clients: botocore's own client, answered by the ledger without a socket.

``ledger.client(account_id)`` is a real botocore ``Organizations`` client (what
``boto3.client("organizations")`` returns): botocore serializes, validates, signs with the
account id as access key (decision 4), pages and raises ``ClientError``. Only the send is
replaced: botocore's ``before-send`` event hands the prepared request to the same
``AwsJsonService`` that answers HTTP, and its answer goes back as the HTTP response would
(the way moto intercepts boto3). So ``except client.exceptions.HandshakeNotFoundException``,
``e.response["Error"]["Code"]`` and paginators behave exactly as against the server.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any, Iterator
from urllib.parse import urlsplit

import botocore.session
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config

from ledger.entrypoints.aws_json import Answers, AwsJsonService
from ledger.entrypoints.accounts import Accounts
from ledger.entrypoints.identity import Identity, SignedRequest

ENDPOINT = "http://handshake-ledger.in-process"
REGION = "us-east-1"
# Commands are not idempotent: a client never sends one twice (botocore would retry a 5xx).
NO_RETRIES = Config(retries={"total_max_attempts": 1})


@cache
def _session() -> botocore.session.Session:
    """One botocore session per process: its loader caches the service models."""
    return botocore.session.get_session()


class _Body:
    """The raw HTTP body botocore reads an answer from."""

    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class InProcessSender:
    """botocore's ``before-send`` handler: the prepared request, answered by ``service``."""

    def __init__(self, service: AwsJsonService):
        self.service = service

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        path = request.url[len(ENDPOINT):] or "/"
        headers = {name.lower(): value.decode() if isinstance(value, bytes) else str(value)
                   for name, value in request.headers.items()}
        headers.setdefault("host", urlsplit(request.url).netloc)  # as an HTTP transport sends it (SigV4 signs it)
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        answer = self.service.handle(SignedRequest(request.method, path, headers, body))
        return AWSResponse(request.url, answer.status, answer.headers, _Body(answer.body))


class Clients:
    """Boto3 clients of one ledger, one per (service, account), created once and shared by threads."""

    def __init__(self, ledger: Answers, endpoint: str = ENDPOINT):
        self._sender = InProcessSender(AwsJsonService(ledger, Identity(Accounts())))
        self._endpoint = endpoint
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def get(self, account_id: str, service: str = "organizations") -> Any:
        with self._lock:
            client = self._clients.get((service, account_id))
            if client is None:
                client = _session().create_client(
                    service, region_name=REGION, endpoint_url=self._endpoint, aws_access_key_id=account_id,
                    aws_secret_access_key="in-process", config=NO_RETRIES,
                )
                client.meta.events.register(f"before-send.{client.meta.service_model.service_id.hyphenize()}",
                                            self._sender)
                self._clients[(service, account_id)] = client
            return client
