"""New AWS-style identifiers (patterns from botocore's model)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits


def _random(length: int) -> str:
    """``length`` characters of ``_ALPHABET``, uniformly: one draw of the OS's randomness for them
    all (a draw per character was a system call each: 16 per handshake id)."""
    number, characters = secrets.randbelow(len(_ALPHABET) ** length), []
    for _ in range(length):
        number, digit = divmod(number, len(_ALPHABET))
        characters.append(_ALPHABET[digit])
    return "".join(characters)


def new_handshake_id() -> str:
    return f"h-{_random(16)}"


def new_transfer_id() -> str:
    """``rt-`` and 16 of the 8-32 lower-case letters or digits the model allows."""
    return f"rt-{_random(16)}"


def transfer_arn(management_account_id: str, organization_id: str, transfer_type: str, direction: str,
                 transfer_id: str) -> str:
    """The ARN of one side of a transfer (``direction``: inbound for the inviter, outbound for the invitee)."""
    return (f"arn:aws:organizations::{management_account_id}:transfer/{organization_id}/"
            f"{transfer_type.lower()}/{direction}/{transfer_id}")


def new_organization_id() -> str:
    return f"o-{_random(10)}"


def new_root_id() -> str:
    return f"r-{_random(4)}"


def handshake_arn(management_account_id: str, organization_id: str, action: str, handshake_id: str) -> str:
    return f"arn:aws:organizations::{management_account_id}:handshake/{organization_id}/{action.lower()}/{handshake_id}"


def organization_arn(management_account_id: str, organization_id: str) -> str:
    return f"arn:aws:organizations::{management_account_id}:organization/{organization_id}"


def account_arn(management_account_id: str, organization_id: str, account_id: str) -> str:
    return f"arn:aws:organizations::{management_account_id}:account/{organization_id}/{account_id}"


def root_arn(management_account_id: str, organization_id: str, root_id: str) -> str:
    return f"arn:aws:organizations::{management_account_id}:root/{organization_id}/{root_id}"
