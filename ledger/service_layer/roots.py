"""The root and what the management account enables: policy types in the root and trusted access
for AWS services (what Terraform's ``aws_organizations_organization`` changes; ListRoots and
ListAWSServiceAccessForOrganization are answered by the read model, ``projections/aws_reads.py``).

Only the management account calls these (there are no delegated administrators here): a member
gets AccessDeniedException, an account in no organization AWSOrganizationsNotInUseException.
"""

from __future__ import annotations

from typing import Any, Callable

from ledger.domain.organization import Organization
from ledger.service_layer.service import Caller, LedgerService, command


class RootCommands(LedgerService):
    @command
    def enable_policy_type(self, caller: Caller, root_id: str, policy_type: str) -> Organization:
        return self._change(caller, Organization.enable_policy_type, root_id, policy_type)

    @command
    def disable_policy_type(self, caller: Caller, root_id: str, policy_type: str) -> Organization:
        return self._change(caller, Organization.disable_policy_type, root_id, policy_type)

    @command
    def enable_aws_service_access(self, caller: Caller, service_principal: str) -> Organization:
        return self._change(caller, Organization.enable_service_access, service_principal)

    @command
    def disable_aws_service_access(self, caller: Caller, service_principal: str) -> Organization:
        return self._change(caller, Organization.disable_service_access, service_principal)

    def _change(self, caller: Caller, change: Callable[..., None], *args: Any) -> Organization:
        """Load the caller's organization, let it check and record the change, save it."""
        now = self.clock.now()
        organization = self._managed_organization(caller)
        change(organization, *args, **self._by(caller, now))
        self.save(organization)
        return organization
