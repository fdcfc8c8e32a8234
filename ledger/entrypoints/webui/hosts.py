"""Which ``Host`` the UI answers (DNS rebinding): without ``--strict`` the UI shows the whole ledger
to whoever reaches it, so a page on another site whose name an attacker points at 127.0.0.1 must
not read it. A browser always names the site it thinks it talks to in ``Host``; the UI answers
only the server's own names (``127.0.0.1``, ``localhost``, ``[::1]``, the host it is bound to) at
its own port, and the names ``serve --allowed-hosts`` adds (``name`` at any port, ``name:port``,
or ``*`` for any). Any other gets 421 Misdirected Request. A request without ``Host`` (HTTP/1.0,
no browser) is answered.
"""

from __future__ import annotations

from dataclasses import dataclass

LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARDS = ("", "0.0.0.0", "::")  # bound to every interface: no name of its own


@dataclass(frozen=True)
class Hosts:
    """The server's own names (lower case), its port (None: any) and the extra allowed names."""

    names: frozenset[str] = frozenset(LOOPBACK)
    port: int | None = None
    allowed: tuple[str, ...] = ()

    @classmethod
    def of(cls, host: str | None, port: int | None, allowed: tuple[str, ...] = ()) -> Hosts:
        names = set(LOOPBACK)
        if host is not None and host.strip("[]") not in WILDCARDS:
            names.add(host.strip("[]").lower())
        extra = (a.strip().lower() for a in allowed if a.strip())  # its own names stay bound to its port
        return cls(frozenset(names), port, tuple(a for a in extra if a.strip("[]") not in names))

    def answers(self, host_header: str | None) -> bool:
        """Whether a request naming ``host_header`` is for this server."""
        if host_header is None or "*" in self.allowed:
            return True
        header = host_header.strip().lower()
        if header in self.allowed:
            return True
        name, port = split(header)
        if name is None:
            return False
        if name in self.allowed:
            return True
        return name in self.names and (port is None or self.port is None or port == self.port)


def split(header: str) -> tuple[str | None, int | None]:
    """(name, port) of a Host header (``name``, ``name:port``, ``[v6]``, ``[v6]:port``); (None, None)
    for one that is none of these."""
    if header.startswith("["):
        name, bracket, rest = header[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None, None
        port_text = rest[1:] if rest else None
    else:
        name, colon, port_text = header.partition(":")
        port_text = port_text if colon else None
    if port_text is None:
        return name, None
    if not (port_text.isascii() and port_text.isdigit() and len(port_text) <= 5):
        return None, None
    return name, int(port_text)
