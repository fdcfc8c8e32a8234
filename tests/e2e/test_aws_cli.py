"""The AWS CLI, unchanged, against the server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ALICE
from tests.e2e.conftest import Server


def aws(server: Server, account: str, *args: str, secret: str = "x") -> subprocess.CompletedProcess[str]:
    """Run ``aws`` as ``account`` (an access key id), with no profile or config of the machine involved."""
    executable = Path(sys.executable).with_name("aws")
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=account, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    command = [str(executable) if executable.exists() else shutil.which("aws") or "aws", *args,
               "--endpoint-url", server.url]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def test_decline_handshake_prints_the_declined_handshake(server: Server, organization: Any, management: Any) -> None:
    handshake_id = management.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE})["Handshake"]["Id"]
    declined = aws(server, ALICE, "organizations", "decline-handshake", "--handshake-id", handshake_id)
    assert declined.returncode == 0, declined.stderr
    assert '"State": "DECLINED"' in declined.stdout
    assert json.loads(declined.stdout)["Handshake"]["Id"] == handshake_id

    again = aws(server, ALICE, "organizations", "decline-handshake", "--handshake-id", handshake_id)
    assert again.returncode != 0 and "HandshakeAlreadyInStateException" in again.stderr
