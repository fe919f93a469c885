"""The SCIM target a GoogleProvisioning's spec describes: one factory for the operator and for
`gwsync sync`, so both connect alike (the CLI used to build its own and drop caBundleSecretRef).

The secrets are parameters: the controller reads them from the cluster's Secrets, the CLI from
files the person names.
"""

from __future__ import annotations

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.targets.scim.target import ScimTarget


def target_for(spec: GoogleProvisioningSpec, token: str, ca_bundle: str | None = None) -> ScimTarget:
    """`spec.target.scim` as a ScimTarget, with the bearer token and the optional PEM CA bundle
    (spec.target.scim.caBundleSecretRef's content) added to the system's trust."""
    scim = spec.target.scim
    return ScimTarget(
        scim.url,
        token.strip(),
        ca_bundle=ca_bundle,
        max_concurrency=scim.max_concurrency,
        profile=scim.adapter_profile,
        bulk=scim.bulk,
        teams=spec.mapped_teams,
        list_limits=scim.list_limits,
    )
