"""Who is calling: the account behind a request's SigV4 access key (decision 4).

Lenient (default): a 12-digit access key id is the account, other keys are looked up in the
accounts file, anything else is the default account. Strict, as AWS does it, refuses with 403:

- a key not in the accounts file, or no SigV4 Authorization: UnrecognizedClientException;
- a credential scoped to another service than the API's (``organizations``, ``cloudtrail``); SignedHeaders that leave out ``host``, ``x-amz-date``
  or any ``x-amz-*`` header the request carries (``x-amz-target`` above all: the operation must
  be what was signed); no ``X-Amz-Date``, or one more than ``MAX_SKEW`` (15 minutes) from the
  server's clock either way (a captured request can't be replayed later); a signature that is
  not the one botocore's own signer computes with the key's secret (a header named in SignedHeaders
  but absent, or one botocore can't canonicalize, such as ``Host: [::1``, can't be signed either):
  InvalidSignatureException, its message saying which. Whatever the headers, never a 5xx.

The time is the injected clock's (``ledger/domain/clock.py``), so ``faketime`` and freezegun move it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Mapping

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ledger.domain import errors
from ledger.domain.clock import Clock, system_clock
from ledger.service_layer.requests import is_valid
from ledger.entrypoints.accounts import Accounts

DEFAULT_ACCOUNT = "000000000000"
SERVICE = "organizations"
MAX_SKEW = timedelta(minutes=15)
AMZ_DATE = "%Y%m%dT%H%M%SZ"
ALWAYS_SIGNED = ("host", "x-amz-date")


@dataclass(frozen=True)
class SignedRequest:
    """An HTTP request as the service sees it, whatever carried it.

    ``path`` is the raw request target (query included); ``headers`` have lower-case names
    (repeated ones joined with ","); ``source_ip`` is the peer's address when a server knows it.
    """

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    source_ip: str | None = None


@dataclass(frozen=True)
class Credential:
    """The parts of ``Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…``."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str | None) -> Credential | None:
    """The credential of a SigV4 Authorization header; None when absent or not SigV4."""
    scheme, _, rest = (value or "").strip().partition(" ")
    if scheme != "AWS4-HMAC-SHA256":
        return None
    fields = {name.strip(): text.strip() for name, _, text in (part.partition("=") for part in rest.split(","))}
    scope = fields.get("Credential", "").split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not scope[0]:
        return None
    signed = tuple(name for name in fields.get("SignedHeaders", "").lower().split(";") if name)
    return Credential(scope[0], scope[1], scope[2], scope[3], signed, fields.get("Signature", ""))


class Identity:
    """Turns a request into the caller's account id, or refuses it (strict mode)."""

    def __init__(self, accounts: Accounts, *, strict: bool = False, clock: Clock = system_clock):
        self.accounts = accounts
        self.strict = strict
        self.clock = clock

    def account_of(self, request: SignedRequest, service: str = SERVICE) -> str:
        """The calling account; in strict mode, refused unless signed for ``service``."""
        credential = parse_authorization(request.headers.get("authorization"))
        if self.strict:
            return self._verified(request, credential, service)
        if credential is None:
            return DEFAULT_ACCOUNT
        if is_valid("AccountId", credential.access_key_id):
            return credential.access_key_id
        known = self.accounts.key(credential.access_key_id)
        return known[0] if known else DEFAULT_ACCOUNT

    def _verified(self, request: SignedRequest, credential: Credential | None, service: str) -> str:
        if credential is None:
            raise errors.UnrecognizedClientException("The request is not signed with AWS Signature Version 4.")
        known = self.accounts.key(credential.access_key_id)
        if known is None:
            raise errors.UnrecognizedClientException()
        account_id, key = known
        if credential.service != service:
            raise errors.InvalidSignatureException(f"Credential should be scoped to correct service: '{service}'.")
        unsigned = unsigned_headers(request, credential)
        if unsigned:
            raise errors.InvalidSignatureException(
                f"{', '.join(repr(name) for name in unsigned)} must be in SignedHeaders: host, x-amz-date and every "
                "x-amz-* header of the request are signed.")
        missing = [name for name in credential.signed_headers if name not in request.headers]
        if missing:
            raise errors.InvalidSignatureException(
                f"{', '.join(repr(name) for name in missing)} in SignedHeaders but not in the request.")
        self._check_date(request.headers.get("x-amz-date", ""))
        if not signature_matches(request, credential, key.secret_access_key):
            raise errors.InvalidSignatureException()
        return account_id

    def _check_date(self, stamp: str) -> None:
        """The signed X-Amz-Date within MAX_SKEW of the server's clock, either way (AWS's messages)."""
        try:
            signed_at = datetime.strptime(stamp, AMZ_DATE).replace(tzinfo=timezone.utc)
        except ValueError:
            raise errors.InvalidSignatureException(
                f"X-Amz-Date {stamp!r} is not an ISO 8601 basic timestamp such as 20260101T120000Z.") from None
        now = self.clock.now()
        minutes = int(MAX_SKEW.total_seconds() // 60)
        if signed_at < now - MAX_SKEW:
            raise errors.InvalidSignatureException(
                f"Signature expired: {stamp} is now earlier than {(now - MAX_SKEW).strftime(AMZ_DATE)} "
                f"({now.strftime(AMZ_DATE)} - {minutes} min.)")
        if signed_at > now + MAX_SKEW:
            raise errors.InvalidSignatureException(
                f"Signature not yet current: {stamp} is still later than {(now + MAX_SKEW).strftime(AMZ_DATE)} "
                f"({now.strftime(AMZ_DATE)} + {minutes} min.)")


def unsigned_headers(request: SignedRequest, credential: Credential) -> list[str]:
    """The headers that must be signed and are not: host, x-amz-date, and every x-amz-* present."""
    must = {*ALWAYS_SIGNED, *(name for name in request.headers if name.startswith("x-amz-"))}
    return sorted(must - set(credential.signed_headers))


def signature_matches(request: SignedRequest, credential: Credential, secret: str) -> bool:
    """Re-sign the request as botocore would, with the client's date, region and signed headers."""
    timestamp = request.headers.get("x-amz-date")
    claimed_payload = request.headers.get("x-amz-content-sha256")
    if not timestamp or claimed_payload not in (None, hashlib.sha256(request.body).hexdigest()):
        return False
    headers = {name: request.headers[name] for name in credential.signed_headers if name in request.headers}
    try:
        resigned = AWSRequest(method=request.method, url=f"http://{request.headers.get('host', '')}{request.path}",
                              headers=headers, data=request.body)
        resigned.context["timestamp"] = timestamp
        signer = SigV4Auth(Credentials(credential.access_key_id, secret), credential.service, credential.region)
        expected = signer.signature(signer.string_to_sign(resigned, signer.canonical_request(resigned)), resigned)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, UnicodeError):
        return False  # botocore can't canonicalize the request (e.g. ``Host: [::1``): no signature matches it
    return hmac.compare_digest(expected, credential.signature)
