"""HandshakeLedger: the application behind every entry point, one method per AWS operation.

The handshake operations live in ``handshakes.py``, the organization around them in
``organizations.py``, its root, policy types and trusted access in ``roots.py``, and what they
share (quotas, loading, the shared checks, ``execute``: the one way a command runs, through the
group committer it holds) in ``service.py``.
"""

from __future__ import annotations

from ledger.service_layer.handshakes import HandshakeCommands
from ledger.service_layer.organizations import OrganizationCommands
from ledger.service_layer.roots import RootCommands
from ledger.service_layer.service import Caller, Limits, command

__all__ = ["Caller", "HandshakeLedger", "Limits", "command"]


class HandshakeLedger(HandshakeCommands, OrganizationCommands, RootCommands):
    name = "Handshakes"
