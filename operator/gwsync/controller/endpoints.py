"""Which endpoints a GoogleProvisioning may send credentials to, unless the operator allows overrides.

The operator holds credentials that the author of a GoogleProvisioning cannot read. Were the
author free to choose where they go, they could point `google.apiEndpoint` at their own
server and receive the access token minted from another team's key, or read the SCIM token
off plain http. So, unless a cluster administrator started the operator with
`--allow-endpoint-overrides` (the demo, the tests, a Private Service Connect set-up), the
Google endpoints must be Google's own, the target must be https, and TLS must be verified
against the system's CAs only. These checks run before any Secret is read.
"""

import json
from collections.abc import Mapping

from gwsync.api import constants as c
from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.text import address_key

FLAG = c.ALLOW_ENDPOINT_OVERRIDES_FLAG
OR_ALLOW = f"or have a cluster administrator run the operator with gwsync run {FLAG}"


class EndpointOverrideRefused(Exception):
    """A field sends credentials somewhere other than the default; the message names it and the flag."""

    def __init__(self, message: str, *, condition: str) -> None:
        super().__init__(message)
        self.condition = condition


def check_spec_endpoints(spec: GoogleProvisioningSpec) -> None:
    """Refuse the first endpoint override of the spec (none is refused when overrides are allowed)."""
    endpoint = spec.google.api_endpoint.rstrip("/") + "/"
    if endpoint != c.DEFAULT_GOOGLE_ENDPOINT:
        raise EndpointOverrideRefused(
            f"spec.google.apiEndpoint points away from {c.DEFAULT_GOOGLE_ENDPOINT}, and this operator "
            f"refuses endpoint overrides: remove the field, {OR_ALLOW}.",
            condition=c.CONNECTED,
        )
    scim = spec.target.scim
    if not scim.url.startswith("https://"):
        raise EndpointOverrideRefused(
            f"spec.target.scim.url uses plain http, and this operator refuses endpoint overrides: "
            f"use an https:// URL, {OR_ALLOW}.",
            condition=c.TARGET_REACHABLE,
        )
    if scim.ca_bundle_secret_ref is not None:
        raise EndpointOverrideRefused(
            "spec.target.scim.caBundleSecretRef adds certificate authorities to TLS verification, and "
            f"this operator refuses endpoint overrides: remove the field, {OR_ALLOW}.",
            condition=c.TARGET_REACHABLE,
        )


def check_keyless_account(
    spec: GoogleProvisioningSpec, namespace: str, accounts: Mapping[str, frozenset[str]]
) -> None:
    """Refuse keyless delegation through a service account not bound to this namespace.

    Keyless delegation signs with the operator's own Google identity, shared by every
    namespace: unbound, any tenant could name another team's service account and sync that
    organization's people into a target of their choosing. A cluster administrator binds each
    account to the namespaces that may use it (`gwsync run --keyless-account NS=EMAIL`; `*`
    for every namespace); this is checked whether or not endpoint overrides are allowed.
    """
    email = spec.google.service_account_email
    if email is None:
        return
    bound = accounts.get(namespace, frozenset()) | accounts.get("*", frozenset())
    if address_key(email) not in bound:
        raise EndpointOverrideRefused(
            f"spec.google.serviceAccountEmail {email} is signed for with the operator's own Google "
            f"identity, which this operator does for namespace {namespace} only when told to: have a "
            f"cluster administrator run the operator with gwsync run {c.KEYLESS_ACCOUNT_FLAG} "
            f"{namespace}={email}, or use credentialsSecretRef.",
            condition=c.CONNECTED,
        )


def parse_keyless_accounts(values: list[str]) -> dict[str, frozenset[str]]:
    """`NAMESPACE=EMAIL` bindings (`*=EMAIL` for every namespace), as `gwsync run` takes them."""
    accounts: dict[str, set[str]] = {}
    for value in values:
        namespace, sep, email = value.partition("=")
        if not sep or not namespace.strip() or "@" not in email:
            raise ValueError(
                f"{c.KEYLESS_ACCOUNT_FLAG} {value!r} is not NAMESPACE=EMAIL "
                "(e.g. team-a=sync@proj.iam.gserviceaccount.com)"
            )
        accounts.setdefault(namespace.strip(), set()).add(address_key(email.strip()))
    return {namespace: frozenset(emails) for namespace, emails in accounts.items()}


def check_key_token_uri(key: str, where: str) -> None:
    """Refuse a service-account key whose token_uri is not Google's (the assertion would go there).

    A key that is not JSON is left to the Google reader, which names that problem.
    """
    try:
        token_uri = json.loads(key).get("token_uri")
    except (ValueError, AttributeError):
        return
    if token_uri is not None and token_uri != c.DEFAULT_GOOGLE_TOKEN_URI:
        raise EndpointOverrideRefused(
            f"The service-account key in {where} (spec.google.credentialsSecretRef) has a token_uri other "
            f"than {c.DEFAULT_GOOGLE_TOKEN_URI}, and this operator refuses endpoint overrides: use the "
            f"key file Google issued, {OR_ALLOW}.",
            condition=c.CONNECTED,
        )
