"""Who is calling: the account behind a request's SigV4 access key (decision 4).

Lenient (default): a 12-digit access key id is the account, other keys are looked up in the
accounts file, anything else is the default account. Strict: every key must be in the accounts
file and the signature must be the one botocore's own signer computes with that key's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Mapping

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ledger import errors
from ledger.entrypoints.accounts import Accounts

DEFAULT_ACCOUNT = "000000000000"
SERVICE = "organizations"
_ACCOUNT_ID = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class SignedRequest:
    """What a signature covers. ``headers`` have lower-case names."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes


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

    def __init__(self, accounts: Accounts, *, strict: bool = False):
        self.accounts = accounts
        self.strict = strict

    def account_of(self, request: SignedRequest) -> str:
        credential = parse_authorization(request.headers.get("authorization"))
        if self.strict:
            return self._verified(request, credential)
        if credential is None:
            return DEFAULT_ACCOUNT
        if _ACCOUNT_ID.match(credential.access_key_id):
            return credential.access_key_id
        known = self.accounts.key(credential.access_key_id)
        return known[0] if known else DEFAULT_ACCOUNT

    def _verified(self, request: SignedRequest, credential: Credential | None) -> str:
        if credential is None:
            raise errors.UnrecognizedClientException("The request is not signed with AWS Signature Version 4.")
        known = self.accounts.key(credential.access_key_id)
        if known is None:
            raise errors.UnrecognizedClientException()
        account_id, key = known
        if credential.service != SERVICE:
            raise errors.InvalidSignatureException(f"Credential should be scoped to correct service: '{SERVICE}'.")
        if not signature_matches(request, credential, key.secret_access_key):
            raise errors.InvalidSignatureException()
        return account_id


def signature_matches(request: SignedRequest, credential: Credential, secret: str) -> bool:
    """Re-sign the request as botocore would, with the client's date, region and signed headers."""
    timestamp = request.headers.get("x-amz-date")
    claimed_payload = request.headers.get("x-amz-content-sha256")
    if not timestamp or claimed_payload not in (None, hashlib.sha256(request.body).hexdigest()):
        return False
    headers = {name: request.headers[name] for name in credential.signed_headers if name in request.headers}
    resigned = AWSRequest(method=request.method, url=f"http://{request.headers.get('host', '')}{request.path}",
                          headers=headers, data=request.body)
    resigned.context["timestamp"] = timestamp
    signer = SigV4Auth(Credentials(credential.access_key_id, secret), credential.service, credential.region)
    expected = signer.signature(signer.string_to_sign(resigned, signer.canonical_request(resigned)), resigned)
    return hmac.compare_digest(expected, credential.signature)
