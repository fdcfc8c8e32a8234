"""Which HTTP server carries the AWS JSON service: stdlib ThreadingHTTPServer or uvicorn (ASGI)?

Both serve the very same ``AwsJsonService`` from a copy of the same prepared data, each in its own
process; one keep-alive http.client connection (plus, for reads, 8 concurrent ones) drives
DescribeHandshake and DeclineHandshake over loopback, and requests/second are printed.

    python scripts/http_server_choice.py [--invites 400] [--describes 2000]

uvicorn is needed only here (``pip install uvicorn``); the service keeps the faster server.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable from a checkout without installing

from ledger import open_ledger  # noqa: E402
from ledger.application import Caller, Limits  # noqa: E402

MANAGEMENT = "111111111111"
TARGET = "AWSOrganizationsV20161128."
Request = Callable[[http.client.HTTPConnection], None]


def invitee(n: int) -> str:
    return f"2{n:011d}"


def prepare(location: Path, invites: int) -> list[str]:
    """An organization with ``invites`` open invitations, one per invitee; their ids in order."""
    limits = Limits(accounts_per_organization=invites + 2, invitations_per_day=invites + 2)
    with open_ledger(location, limits=limits) as ledger:
        ledger.call("CreateOrganization", {"FeatureSet": "CONSOLIDATED_BILLING"}, Caller(MANAGEMENT))
        return [ledger.call("InviteAccountToOrganization", {"Target": {"Type": "ACCOUNT", "Id": invitee(n)}},
                            Caller(MANAGEMENT))["Handshake"]["Id"] for n in range(invites)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(kind: str, location: Path, port: int) -> subprocess.Popen[bytes]:
    if kind == "stdlib":
        command = [sys.executable, "-m", "ledger.entrypoints.cli", "serve", "--port", str(port), "--data", str(location)]
    else:
        command = [sys.executable, __file__, "--asgi-child", "--port", str(port), "--data", str(location)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    server = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/_ledger/health")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.05)  # polling the health endpoint
    server.kill()
    raise SystemExit(f"{kind} server did not start")


def call(connection: http.client.HTTPConnection, operation: str, params: dict[str, Any], account: str) -> None:
    headers = {"X-Amz-Target": TARGET + operation, "Content-Type": "application/x-amz-json-1.1",
               "Authorization": f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/organizations/aws4_request"}
    connection.request("POST", "/", body=json.dumps(params), headers=headers)
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise SystemExit(f"{operation} answered {response.status}")


def request(operation: str, handshake_id: str, account: str) -> Request:
    return lambda connection: call(connection, operation, {"HandshakeId": handshake_id}, account)


def rate(requests: list[Request], port: int, clients: int = 1) -> float:
    """Requests/second for ``requests`` shared among ``clients`` keep-alive connections."""
    shares = [requests[i::clients] for i in range(clients)]
    connections = [http.client.HTTPConnection("127.0.0.1", port) for _ in range(clients)]

    def run(share: list[Request], connection: http.client.HTTPConnection) -> None:
        for request in share:
            request(connection)

    threads = [threading.Thread(target=run, args=pair) for pair in zip(shares, connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for connection in connections:
        connection.close()
    return len(requests) / elapsed


def measure(kind: str, location: Path, handshakes: list[str], describes: int) -> dict[str, float]:
    port = free_port()
    server = start(kind, location, port)
    try:
        describe = request("DescribeHandshake", handshakes[0], MANAGEMENT)
        rate([describe] * 50, port)  # warm up
        declines = [request("DeclineHandshake", h, invitee(n)) for n, h in enumerate(handshakes)]
        return {
            "DescribeHandshake": rate([describe] * describes, port),
            "DescribeHandshake x8": rate([describe] * describes, port, clients=8),
            "DeclineHandshake": rate(declines, port),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def asgi_child(location: str, port: int) -> None:
    """The same service as an ASGI app under uvicorn; the blocking ledger runs in worker threads."""
    import uvicorn

    from ledger.entrypoints.accounts import Accounts
    from ledger.entrypoints.aws_json import AwsJsonService
    from ledger.entrypoints.identity import Identity, SignedRequest

    ledger = open_ledger(location)
    service = AwsJsonService(ledger, Identity(Accounts()))

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        request = SignedRequest(scope["method"], scope["path"], headers, body)
        response = await asyncio.to_thread(service.handle, request)
        raw = [(n.encode(), v.encode()) for n, v in response.headers.items()]
        await send({"type": "http.response.start", "status": response.status,
                    "headers": [*raw, (b"content-length", str(len(response.body)).encode())]})
        await send({"type": "http.response.body", "body": response.body})

    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")
    finally:
        ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invites", type=int, default=400)
    parser.add_argument("--describes", type=int, default=2000)
    parser.add_argument("--asgi-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.asgi_child:
        return asgi_child(args.data, args.port)
    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared"
        handshakes = prepare(prepared, args.invites)
        results = {}
        for kind in ("stdlib", "uvicorn"):
            shutil.copytree(prepared, Path(scratch) / kind)
            results[kind] = measure(kind, Path(scratch) / kind, handshakes, args.describes)
    print(f"{'requests/second':24}" + "".join(f"{kind:>12}" for kind in results))
    for operation in results["stdlib"]:
        print(f"{operation:24}" + "".join(f"{results[kind][operation]:12.0f}" for kind in results))


if __name__ == "__main__":
    main()
