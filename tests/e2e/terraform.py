"""Terraform for the e2e test: the CLI on PATH and a filesystem mirror that holds hashicorp/aws,
so ``terraform init`` installs the provider without the network.

``python -m tests.e2e.terraform`` prints whether the Terraform e2e test can run here (``.ci/run``
does); the test skips with the same words when it can't.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PROVIDER = "registry.terraform.io/hashicorp/aws"
MIRROR_SETTING = "HANDSHAKE_LEDGER_TF_MIRROR"
# Where this image keeps its mirror, then Terraform's own implied local mirror directories (Linux).
MIRRORS = ("/opt/tf-plugins", "~/.terraform.d/plugins", "~/.local/share/terraform/plugins",
           "/usr/local/share/terraform/plugins", "/usr/share/terraform/plugins")
COMMAND_TIMEOUT = 120.0


@dataclass(frozen=True)
class Terraform:
    executable: str
    mirror: Path

    def version(self) -> str:
        answer = subprocess.run([self.executable, "version", "-json"], capture_output=True, text=True, check=True,
                                env={**os.environ, "CHECKPOINT_DISABLE": "1"})
        return f"Terraform v{json.loads(answer.stdout)['terraform_version']}"


def find_terraform() -> Terraform | str:
    """The CLI and the mirror, or why the Terraform e2e test can't run here."""
    executable = shutil.which("terraform")
    if executable is None:
        return "the terraform CLI is not on PATH"
    candidates = [os.environ[MIRROR_SETTING]] if os.environ.get(MIRROR_SETTING) else list(MIRRORS)
    for candidate in candidates:
        mirror = Path(candidate).expanduser()
        if (mirror / PROVIDER).is_dir():
            return Terraform(executable, mirror)
    return f"no filesystem mirror holding {PROVIDER} (looked in {', '.join(candidates)}; set {MIRROR_SETTING})"


class Workspace:
    """A Terraform working directory whose AWS provider talks to ``endpoint`` as ``account``: Organizations
    and STS (the provider asks STS for the account at start, so no ``skip_*`` flag is needed)."""

    def __init__(self, terraform: Terraform, directory: Path, endpoint: str, account: str):
        self.terraform, self.directory = terraform, directory
        config = directory / "terraform.rc"
        config.write_text(
            "provider_installation {\n"
            f'  filesystem_mirror {{\n    path    = "{terraform.mirror}"\n    include = ["{PROVIDER}"]\n  }}\n'
            "}\n"
        )
        self.env = {**os.environ, "TF_CLI_CONFIG_FILE": str(config), "CHECKPOINT_DISABLE": "1",
                    "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
        (directory / "provider.tf").write_text(f"""\
provider "aws" {{
  region     = "us-east-1"
  access_key = "{account}"
  secret_key = "anything"
  endpoints {{
    organizations = "{endpoint}"
    sts           = "{endpoint}"
  }}
}}
""")

    def configure(self, organization: str) -> None:
        """main.tf: ``organization`` as the body of the organization resource."""
        resource = f'resource "aws_organizations_organization" "org" {{\n{organization}\n}}\n'
        caller = ('data "aws_caller_identity" "current" {}\n'  # STS GetCallerIdentity, as the provider asks it
                  'output "caller_arn" {\n  value = data.aws_caller_identity.current.arn\n}\n')
        (self.directory / "main.tf").write_text(resource + caller)

    def run(self, *args: str) -> str:
        """``terraform <args>``; its output, once it exited 0."""
        done = subprocess.run([self.terraform.executable, *args, "-no-color"], cwd=self.directory, env=self.env,
                              capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
        assert done.returncode == 0, f"terraform {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr


if __name__ == "__main__":
    found = find_terraform()
    if isinstance(found, str):
        print(f"Terraform e2e test: skipped, {found}")
    else:
        print(f"Terraform e2e test: runs with {found.version()} and {PROVIDER} from the mirror {found.mirror}")
