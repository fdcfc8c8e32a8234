"""HandshakeLedger: the application behind every entry point, one method per AWS operation.

The handshake operations live in ``handshake_commands.py``, the organization around them in
``organization_commands.py``, its root, policy types and trusted access in ``root_commands.py``,
and what they share (caller, quotas, loading, taking turns, retrying a version conflict) in
``service.py``.
"""

from __future__ import annotations

from ledger.service_layer.handshakes import HandshakeCommands
from ledger.service_layer.organizations import OrganizationCommands
from ledger.service_layer.roots import RootCommands
from ledger.service_layer.service import Caller, Limits, command

__all__ = ["Caller", "HandshakeLedger", "Limits", "command"]


class HandshakeLedger(HandshakeCommands, OrganizationCommands, RootCommands):
    name = "Handshakes"
