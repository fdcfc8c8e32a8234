"""What a crowd of connections costs a ``serve`` process: the bench behind ``http_protocol.py``'s limits.

1. Idle connections: open ``--idle`` (default 256, the cap) keep-alive connections that send nothing,
   then time a new client's health request, retrying every 0.1 s for up to ``--patience`` seconds:
   how long it waits to be served, and what it was answered meanwhile.
2. Bodies in flight: open ``--bodies`` (default 200) connections, each sending a 1 MiB body but its
   last byte, and read the server's resident memory (VmRSS) before and after, and what they were answered.

    python scripts/connection_limits.py                      # the code of this checkout
    python scripts/connection_limits.py --code /work/main    # another checkout's, to compare
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(code: Path, data: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "ledger.entrypoints.cli", "serve", "--port", str(port), "--data", str(data),
               "--no-ui"]
    server = subprocess.Popen(command, cwd=code, env={**os.environ, "PYTHONPATH": str(code)},
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if health(port)[0] == 200:
                return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit("the server did not start")


def health(port: int) -> tuple[int, float]:
    began = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/_ledger/health")
        return connection.getresponse().status, time.perf_counter() - began
    finally:
        connection.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def idle_connections(port: int, count: int, patience: float) -> str:
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    time.sleep(0.5)  # accepted
    began, statuses = time.perf_counter(), []
    try:
        while time.perf_counter() - began < patience:
            try:
                status, _ = health(port)
            except OSError as problem:
                status = type(problem).__name__  # type: ignore[assignment]
            statuses.append(status)
            if status == 200:
                break
            time.sleep(0.1)
        waited = time.perf_counter() - began
        served = statuses[-1] == 200
        closed = sum(1 for connection in held if _closed(connection))
        return (f"{count} idle connections held: a new client {'served' if served else 'NOT served'} after "
                f"{waited * 1000:.1f} ms ({len(statuses)} tries: {sorted(set(map(str, statuses)))}); "
                f"held connections closed by the server: {closed}")
    finally:
        for connection in held:
            connection.close()


def _closed(connection: socket.socket) -> bool:
    connection.setblocking(False)
    try:
        return connection.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def bodies_in_flight(port: int, pid: int, count: int) -> str:
    head = (b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSOrganizationsV20161128.ListHandshakesForAccount\r\n"
            b"Content-Length: %d\r\n\r\n" % MIB)
    before = rss_mb(pid)
    held, refused = [], 0
    for _ in range(count):
        connection = socket.create_connection(("127.0.0.1", port))
        try:
            connection.sendall(head + b" " * (MIB - 1))
        except OSError:
            refused += 1
        held.append(connection)
    time.sleep(2.0)  # the server has read what it will
    after = rss_mb(pid)
    for connection in held:
        connection.setblocking(False)
        try:
            refused += b" 503 " in connection.recv(1 << 16)[:20]
        except (BlockingIOError, OSError):
            pass
        connection.close()
    return (f"{count} connections each holding a 1 MiB body but one byte: server RSS {before:.0f} MB -> "
            f"{after:.0f} MB (+{after - before:.0f} MB); answered 503 (or cut): {refused}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose server to run")
    parser.add_argument("--idle", type=int, default=256)
    parser.add_argument("--patience", type=float, default=10.0)
    parser.add_argument("--bodies", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        server = start(args.code.resolve(), Path(scratch) / "data", port)
        try:
            print(f"code: {args.code}")
            print(idle_connections(port, args.idle, args.patience), flush=True)
            time.sleep(1.0)
            print(bodies_in_flight(port, server.pid, args.bodies), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
