"""Who may see what: the whole ledger, or one account's share of it.

Without ``--strict`` the UI is a local tool and shows the whole ledger. With ``--strict`` a browser
signs in with HTTP Basic: the user name is an access key id of the accounts file, the password its
secret access key; the UI then shows what that account may see through the API (the same
``projections/aws_reads.py`` answers, the same ``Scope`` rules). Basic keeps every page a plain GET
with no session to keep; the secret crosses the wire as SigV4's never does, so strict mode
belongs on the loopback interface or behind TLS.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Mapping

from ledger.entrypoints.accounts import Accounts
from ledger.entrypoints.webui.errors import Unauthorized
from projections.browse import Scope

REALM = 'Basic realm="Handshake Ledger: access key id and secret access key", charset="UTF-8"'


def scope_of(headers: Mapping[str, str], accounts: Accounts, *, strict: bool) -> Scope:
    """The viewer's scope; Unauthorized (401) in strict mode without a known key and its secret."""
    if not strict:
        return Scope()
    scheme, _, encoded = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise Unauthorized("Sign in with an access key id and its secret access key from the accounts file.")
    try:
        key_id, _, secret = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("The credentials are not HTTP Basic (base64 of access-key-id:secret).") from None
    known = accounts.key(key_id)
    if known is None or not hmac.compare_digest(known[1].secret_access_key.encode(), secret.encode()):
        raise Unauthorized("Unknown access key id, or a wrong secret access key.")
    return Scope(known[0])
