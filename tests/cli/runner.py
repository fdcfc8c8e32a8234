"""Runs the command line as a user does: ``python -m ledger.entrypoints.cli`` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "ledger.entrypoints.cli"]


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HANDSHAKE_LEDGER_DATA"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)

    @property
    def error_lines(self) -> list[str]:
        return self.err.strip().splitlines()


def cli(*args: str, timeout: float = 60) -> Result:
    done = subprocess.run([*COMMAND, *args], capture_output=True, text=True, cwd=ROOT, env=environment(),
                          timeout=timeout)
    return Result(done.returncode, done.stdout, done.stderr)


def follow(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*COMMAND, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env=environment(), bufsize=1)
