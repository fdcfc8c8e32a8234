"""Which HTTP server carries ``AwsJsonService``? Each candidate side by side, same data, same load.

    python scripts/http_server_choice.py [--rounds 3] [--reads 2000] [--writes 200] [--only stdlib uvicorn]

Every candidate serves the very same ``AwsJsonService.handle`` from its own copy of one prepared
ledger (SQLite), in its own process, one worker: the standard library's ThreadingHTTPServer (the
server the ledger used first), ``handshake-ledger serve`` itself (uvicorn, httptools, uvloop, raw ASGI),
granian (ASGI), hypercorn (ASGI, uvloop), gunicorn (WSGI, gthread) and waitress (WSGI). Keep-alive
http.client connections (``benchkit.http_load``, as ``scripts/bench.py``) drive DescribeHandshake and DeclineHandshake at
1 and 4 client threads; the turns are interleaved over ``--rounds`` rounds (the machine is shared)
and the median is printed: requests/second, and the server's CPU per request (utime + stime of the
server's processes from /proc/<pid>/stat, before and after the turn).

The candidates other than the standard library and uvicorn are needed only here:
``pip install granian hypercorn gunicorn waitress``; a missing one is reported and skipped.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from benchkit.http_load import ROOT, Request, free_port, load, request, tree_cpu_seconds
from benchkit.seeding import invitee, management
from ledger import open_ledger
from ledger.service_layer.application import Caller, Limits

ORGANIZATIONS = 4  # declines at 4 clients never race for one organization
CANDIDATES = ("stdlib", "uvicorn", "granian", "hypercorn", "gunicorn", "waitress")


def prepare(location: Path, per_org: int) -> dict[int, list[tuple[str, str]]]:
    """Organizations with ``per_org`` open invitations each: org -> [(handshake id, invitee)]."""
    limits = Limits(accounts_per_organization=per_org + 2, invitations_per_day=per_org + 2)
    invited: dict[int, list[tuple[str, str]]] = {}
    with open_ledger(location, limits=limits) as ledger:
        for org in range(ORGANIZATIONS):
            ledger.call(Caller(management(org)), "CreateOrganization", {"FeatureSet": "ALL"})
            invited[org] = [(ledger.call(Caller(management(org)), "InviteAccountToOrganization",
                                         {"Target": {"Type": "ACCOUNT", "Id": invitee(org, n)}})["Handshake"]["Id"],
                             invitee(org, n)) for n in range(per_org)]
    return invited


# -- the servers --------------------------------------------------------------------------------------

def service(location: str) -> Any:
    """The service every candidate carries, as ``serve`` builds it (views followed in the background)."""
    from ledger.entrypoints.accounts import Accounts
    from ledger.entrypoints.aws_json import AwsJsonService
    from ledger.entrypoints.identity import Identity

    ledger = open_ledger(location)
    ledger.follow(interval=0.2)
    return AwsJsonService(ledger, Identity(Accounts(), clock=ledger.clock))


def wsgi_app(location: str) -> Callable[..., Any]:
    from ledger.entrypoints.identity import SignedRequest

    answers = service(location)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        response = answers.handle(SignedRequest(environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/"), headers, body))
        start_response(f"{response.status} -", [*response.headers.items(), ("Content-Length", str(len(response.body)))])
        return [response.body]
    return app


def asgi_app() -> Any:
    """For granian (a factory it imports by name): the data location comes in the environment."""
    from ledger.entrypoints.http_server import asgi_app as make

    return make(service(os.environ["CHOICE_DATA"]))


def child(kind: str, location: str, port: int) -> None:
    """Serve as ``kind`` until SIGTERM."""
    if kind == "stdlib":
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        app = wsgi_app(location)

        class Handler(BaseHTTPRequestHandler):
            protocol_version, wbufsize, disable_nagle_algorithm = "HTTP/1.1", -1, True

            def do_POST(self) -> None:
                environ = {"wsgi.input": self.rfile, "REQUEST_METHOD": self.command, "PATH_INFO": self.path,
                           "CONTENT_LENGTH": self.headers.get("Content-Length"), "CONTENT_TYPE": self.headers.get("Content-Type"),
                           **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in self.headers.items()}}
                body = app(environ, lambda status, headers: (self.send_response(int(status.split()[0])),
                                                             [self.send_header(*h) for h in headers], self.end_headers()))
                self.wfile.write(b"".join(body))

            do_GET = do_POST

            def log_request(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.daemon_threads = True
        ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
    elif kind == "granian":
        from granian import Granian

        os.environ["CHOICE_DATA"] = location
        Granian("http_server_choice:asgi_app", address="127.0.0.1", port=port, interface="asgi", factory=True,
                workers=1, loop="uvloop", log_enabled=False, working_dir=Path(__file__).parent).serve()
    elif kind == "hypercorn":
        import uvloop
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        from ledger.entrypoints.http_server import asgi_app as make

        config = Config()
        config.bind, config.keep_alive_timeout, config.accesslog = [f"127.0.0.1:{port}"], 60, None
        uvloop.run(serve(make(service(location)), config))
    elif kind == "gunicorn":
        from gunicorn.app.base import BaseApplication

        class Gunicorn(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                for key, value in {"bind": f"127.0.0.1:{port}", "workers": 1, "worker_class": "gthread",
                                   "threads": 8, "keepalive": 60, "loglevel": "warning"}.items():
                    self.cfg.set(key, value)

            def load(self) -> Any:
                return wsgi_app(location)  # in the worker, after the fork

        Gunicorn().run()
    elif kind == "waitress":
        import waitress

        waitress.serve(wsgi_app(location), host="127.0.0.1", port=port, threads=8, _quiet=True)


def start(kind: str, location: Path, scratch: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    if kind == "uvicorn":  # the real thing
        command = [sys.executable, "-m", "ledger.entrypoints.cli", "serve", "--port", str(port), "--data", str(location)]
    else:
        command = [sys.executable, __file__, "--child", kind, "--port", str(port), "--data", str(location)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with open(scratch / f"{kind}.log", "ab") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/_ledger/health")
            if connection.getresponse().status == 200:
                return server, port
        except OSError:
            time.sleep(0.05)  # polling until the server listens
    os.killpg(server.pid, signal.SIGKILL)
    raise RuntimeError(f"{kind} did not start; see {scratch / f'{kind}.log'}")


# -- the load -----------------------------------------------------------------------------------------

def turns(invited: dict[int, list[tuple[str, str]]], reads: int, writes: int, rounds: int) -> list[dict[str, list[list[Request]]]]:
    """Per round: the four loads, each split among its clients (writes: one organization per client)."""
    describe = request("DescribeHandshake", {"HandshakeId": invited[0][0][0]}, management(0))
    unused = {org: iter(pairs) for org, pairs in invited.items()}

    def declines(clients: int) -> list[list[Request]]:
        return [[request("DeclineHandshake", {"HandshakeId": h}, who) for h, who in
                 (next(unused[org]) for _ in range(writes // clients))] for org in range(clients)]

    return [{"DescribeHandshake x1": [[describe] * reads], "DescribeHandshake x4": [[describe] * (reads // 4)] * 4,
             "DeclineHandshake x1": declines(1), "DeclineHandshake x4": declines(4)} for _ in range(rounds)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reads", type=int, default=2000, help="DescribeHandshake requests per turn")
    parser.add_argument("--writes", type=int, default=200, help="DeclineHandshake requests per turn")
    parser.add_argument("--only", nargs="+", choices=CANDIDATES, default=CANDIDATES, help="the candidates to measure")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.data, args.port)
    results: dict[str, dict[str, list[tuple[float, float]]]] = {}
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        invited = prepare(scratch / "prepared", args.rounds * 2 * args.writes)
        servers = {}
        try:
            for kind in args.only:
                shutil.copytree(scratch / "prepared", scratch / kind)
                try:
                    servers[kind] = start(kind, scratch / kind, scratch)
                except (RuntimeError, ImportError) as problem:
                    print(f"{kind}: not measured ({problem})", file=sys.stderr)
            plans = {kind: turns(invited, args.reads, args.writes, args.rounds) for kind in servers}
            for kind, (_, port) in servers.items():  # warm up
                load(port, [[plans[kind][0]["DescribeHandshake x1"][0][0]] * 200])
            for round_ in range(args.rounds):
                for name in plans[next(iter(plans))][round_]:
                    for kind, (server, port) in servers.items():
                        shares = plans[kind][round_][name]
                        cpu = tree_cpu_seconds(server.pid)
                        rate, failed = load(port, shares)
                        used = tree_cpu_seconds(server.pid) - cpu
                        if failed:
                            print(f"{kind} {name}: {failed} answers were not 200", file=sys.stderr)
                        results.setdefault(kind, {}).setdefault(name, []).append((rate, used / sum(map(len, shares))))
        finally:
            for server, _ in servers.values():
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
    names = list(next(iter(results.values())))
    print(f"{'server':10}" + "".join(f"{name:>22}" for name in names) + "    (req/s | server CPU µs/req, median of "
          f"{args.rounds} interleaved rounds)")
    for kind, measured in results.items():
        cells = [f"{statistics.median(r for r, _ in measured[name]):8,.0f} | {statistics.median(c for _, c in measured[name]) * 1e6:5.0f} µs"
                 for name in names]
        print(f"{kind:10}" + "".join(f"{cell:>22}" for cell in cells))


if __name__ == "__main__":
    main()
