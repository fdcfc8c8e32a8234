"""The one load client of every script: servers started and stopped, AWS JSON requests, keep-alive
connections driving them, and what a server process costs (CPU, peak RSS)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchkit.figures import ROUNDS

ROOT = Path(__file__).resolve().parents[2]
TARGET = "AWSOrganizationsV20161128."


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(command: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with open(log, "ab") as errors:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=errors, stderr=errors)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}; see {log}:\n{log.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/_ledger/health")
            if connection.getresponse().status == 200:
                connection.close()
                return server
        except OSError:
            time.sleep(0.05)  # polling until the server listens
    stop_server(server)
    raise SystemExit(f"server did not answer within 60 s; see {log}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/<pid>/status")


Request = tuple[str, bytes, dict[str, str]]  # path, body, headers


def request(operation: str, params: dict[str, Any], account: str, path: str = "/") -> Request:
    headers = {
        "X-Amz-Target": TARGET + operation, "Content-Type": "application/x-amz-json-1.1",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/organizations/aws4_request, "
                         "SignedHeaders=host, Signature=x",
    }
    return path, json.dumps(params).encode(), headers


def load(port: int, shares: list[list[Request]]) -> tuple[float, int]:
    """(requests/s, non-200 answers): one keep-alive connection and thread per share."""
    failures = [0] * len(shares)
    ready = threading.Barrier(len(shares) + 1)

    def run(index: int, share: list[Request]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port)
        connection.connect()
        ready.wait()
        for path, body, headers in share:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            failures[index] += response.status != 200
        connection.close()

    threads = [threading.Thread(target=run, args=(n, share)) for n, share in enumerate(shares)]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return sum(map(len, shares)) / (time.perf_counter() - began), sum(failures)


def split(requests: list[Request], clients: int) -> list[list[Request]]:
    return [requests[n::clients] for n in range(clients)]


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process and all its descendants (a supervisor and its workers); one that exits
    while it is read counts for what was read of it."""
    total = 0.0
    try:
        total = cpu_seconds(pid)
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += tree_cpu_seconds(int(child))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Turn:
    port: int
    pid: int
    shares: list[list[Request]]


def http_rates(turns: dict[str, Turn]) -> dict[str, dict[str, Any]]:
    """Best rate of ROUNDS turns per load, the turns interleaved; server CPU per request over all of them."""
    best: dict[str, dict[str, Any]] = {}
    for turn in range(ROUNDS):
        for name, (port, pid, shares) in ((n, (t.port, t.pid, t.shares)) for n, t in turns.items()):
            part = [share[turn::ROUNDS] for share in shares]
            cpu = cpu_seconds(pid)
            rate, failed = load(port, part)
            mine = best.setdefault(name, {"rate": 0.0, "requests": 0, "non_200": 0, "cpu": 0.0})
            mine["cpu"] += cpu_seconds(pid) - cpu
            mine["rate"] = max(mine["rate"], rate)
            mine["requests"] += sum(map(len, part))
            mine["non_200"] += failed
    for mine in best.values():
        mine["cpu_us"] = mine.pop("cpu") / mine["requests"] * 1e6
    return best


def find_ministack(command: str | None) -> list[str] | None:
    """How to run ministack: ``--ministack CMD``, a ``ministack`` on PATH, or its module here."""
    if command:
        return [str(Path(command).resolve()) if Path(command).exists() else command]
    if shutil.which("ministack"):
        return [str(shutil.which("ministack"))]
    import importlib.util

    return [sys.executable, "-m", "ministack"] if importlib.util.find_spec("ministack") else None


def start_ministack(command: list[str], scratch: Path) -> tuple[subprocess.Popen[bytes], int]:
    """ministack with its defaults, but on 127.0.0.1 and a free port; ready when it describes its organization."""
    port = free_port()
    env = {**os.environ, "GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1"}
    with open(scratch / "ministack.log", "ab") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=scratch)
    _, body, headers = request("DescribeOrganization", {}, "000000000000")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("POST", "/", body=body, headers=headers)
            if connection.getresponse().status == 200:
                return server, port
        except OSError:
            time.sleep(0.1)  # polling until ministack listens
    stop_server(server)
    raise SystemExit(f"ministack did not answer DescribeOrganization; see {scratch / 'ministack.log'}")


def fixed_200_server(port: int) -> None:
    """The ceiling: the standard library's threading HTTP/1.1 server answering a fixed 200, no ledger."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = json.dumps({"Handshake": {"Id": "h-0000000000000000", "State": "OPEN"}}).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version, wbufsize, disable_nagle_algorithm = "HTTP/1.1", -1, True

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_request(self, *args: Any) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever(poll_interval=0.1)
