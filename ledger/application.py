"""HandshakeLedger: the application behind every entry point, one method per AWS operation.

The handshake operations live in ``handshake_commands.py``, the organization around them in
``organization_commands.py``, its root, policy types and trusted access in ``root_commands.py``,
and what they share (caller, quotas, loading, taking turns, retrying a version conflict) in
``service.py``.
"""

from __future__ import annotations

from ledger.handshake_commands import HandshakeCommands
from ledger.organization_commands import OrganizationCommands
from ledger.root_commands import RootCommands
from ledger.service import Caller, Limits, command

__all__ = ["Caller", "HandshakeLedger", "Limits", "command"]


class HandshakeLedger(HandshakeCommands, OrganizationCommands, RootCommands):
    name = "Handshakes"
