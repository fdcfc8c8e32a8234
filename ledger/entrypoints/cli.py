"""The ``handshake-ledger`` command line: a thin shell over the ledger."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="handshake-ledger")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the AWS Organizations JSON 1.1 API over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=4566)
    serve.add_argument("--data", default=None, help="data location (default: $HANDSHAKE_LEDGER_DATA or ./handshake-ledger-data)")
    serve.add_argument("--accounts", default=None, help="accounts file (TOML)")
    serve.add_argument("--strict", action="store_true", help="verify SigV4 signatures against the accounts file")
    args = parser.parse_args(argv)
    if args.command == "serve":
        from ledger.entrypoints.aws_json import serve as run_server

        return run_server(args.data, host=args.host, port=args.port, accounts_file=args.accounts, strict=args.strict)
    return 0


if __name__ == "__main__":
    sys.exit(main())
