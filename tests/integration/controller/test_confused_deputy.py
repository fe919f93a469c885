"""A tenant who may create GoogleProvisionings, not read Secrets, tries to make the operator leak.

Each test is one attack of docs/security.md: the operator must refuse with a condition saying
exactly what to add, and nothing may reach the attacker's server (nor any Secret be read
when the spec alone is refused).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from tests.integration.controller.conftest import NS, World, eventually

from gwsync.testing.google import GoogleEmulator, google_emulator_in_thread
from gwsync.testing.kube import SECRETS
from gwsync.testing.scim import ScimServer, run_scim_server

OR_FLAG = "or have a cluster administrator run the operator with gwsync run --allow-endpoint-overrides."
BILLING_TOKEN = "billing-api-key-0123456789"


@pytest.fixture
def attacker_scim() -> Iterator[ScimServer]:
    """The tenant's own server, happy to accept any bearer token."""
    with run_scim_server("anything") as server:
        yield server


@pytest.fixture
def attacker_google(world: World) -> Iterator[GoogleEmulator]:
    """The tenant's own Directory API, hoping for another team's access token."""
    with google_emulator_in_thread(copy.deepcopy(world.google.org)) as google:
        yield google


async def refused(world: World, condition: str) -> dict[str, Any]:
    """The condition of the first, Failed, sync."""
    [report] = await eventually(world.finished)
    assert report["status"]["phase"] == "Failed"
    found = await eventually(lambda: world.condition_is(condition, "False"))
    assert report["status"]["message"] == found["message"]
    [event] = await eventually(lambda: world.events("SyncFailed") or None)
    assert event["type"] == "Warning" and event["message"].endswith(found["message"])
    return found


def secrets_read(world: World) -> int:
    return sum(world.kube.reads_of(SECRETS, NS, name) for name in ("google", "scim", "billing", "ca"))


async def test_an_unlabelled_secret_is_never_sent_anywhere(world: World, attacker_scim: ScimServer) -> None:
    world.seed_secret("billing", "api-key", BILLING_TOKEN, labelled=False)  # another team's token
    await world.start()
    spec = world.provisioning()
    spec["spec"]["target"]["scim"] = {
        "url": attacker_scim.url,
        "tokenSecretRef": {"name": "billing", "key": "api-key"},
    }
    await world.create(spec)

    condition = await refused(world, "TargetReachable")
    assert condition["reason"] == "SecretNotLabelled"
    assert condition["message"] == (
        f"Secret {NS}/billing is not labelled gwsync.io/credentials=true, so gwsync does not use it; if it "
        "holds the SCIM bearer token for this GoogleProvisioning, run: "
        f"kubectl label secret billing -n {NS} gwsync.io/credentials=true"
    )
    assert attacker_scim.request_log == []
    assert world.google.requests() == []  # every Secret is checked before anything is sent


async def test_an_api_endpoint_override_is_refused_without_the_flag(
    world: World, attacker_google: GoogleEmulator
) -> None:
    await world.start(allow_endpoint_overrides=False)
    spec = world.provisioning()
    spec["spec"]["google"]["apiEndpoint"] = attacker_google.url
    await world.create(spec)

    condition = await refused(world, "Connected")
    assert condition["reason"] == "EndpointOverrideRefused"
    assert condition["message"] == (
        "spec.google.apiEndpoint points away from https://admin.googleapis.com/, and this operator "
        f"refuses endpoint overrides: remove the field, {OR_FLAG}"
    )
    assert attacker_google.requests() == [] and world.google.requests() == []
    assert secrets_read(world) == 0


async def test_a_plain_http_target_is_refused_without_the_flag(
    world: World, attacker_scim: ScimServer
) -> None:
    await world.start(allow_endpoint_overrides=False)
    spec = world.provisioning()
    del spec["spec"]["google"]["apiEndpoint"]
    spec["spec"]["target"]["scim"]["url"] = attacker_scim.url
    await world.create(spec)

    condition = await refused(world, "TargetReachable")
    assert condition["reason"] == "EndpointOverrideRefused"
    assert condition["message"] == (
        "spec.target.scim.url uses plain http, and this operator refuses endpoint overrides: "
        f"use an https:// URL, {OR_FLAG}"
    )
    assert attacker_scim.request_log == []
    assert secrets_read(world) == 0


async def test_a_custom_ca_bundle_is_refused_without_the_flag(world: World) -> None:
    world.seed_secret("ca", "ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    await world.start(allow_endpoint_overrides=False)
    spec = world.provisioning()
    del spec["spec"]["google"]["apiEndpoint"]
    spec["spec"]["target"]["scim"]["url"] = "https://scim.attacker.example/v2"
    spec["spec"]["target"]["scim"]["caBundleSecretRef"] = {"name": "ca", "key": "ca.pem"}
    await world.create(spec)

    condition = await refused(world, "TargetReachable")
    assert condition["reason"] == "EndpointOverrideRefused"
    assert condition["message"] == (
        "spec.target.scim.caBundleSecretRef adds certificate authorities to TLS verification, and this "
        f"operator refuses endpoint overrides: remove the field, {OR_FLAG}"
    )
    assert secrets_read(world) == 0


async def test_a_key_whose_token_uri_is_not_googles_is_refused_without_the_flag(world: World) -> None:
    # The emulator's key sends the signed assertion to the emulator's own token endpoint.
    await world.start(allow_endpoint_overrides=False)
    spec = world.provisioning()
    del spec["spec"]["google"]["apiEndpoint"]
    spec["spec"]["target"]["scim"]["url"] = "https://scim.acme.example/v2"
    await world.create(spec)

    condition = await refused(world, "Connected")
    assert condition["reason"] == "EndpointOverrideRefused"
    assert condition["message"] == (
        f"The service-account key in Secret {NS}/google (spec.google.credentialsSecretRef) has a token_uri "
        "other than https://oauth2.googleapis.com/token, and this operator refuses endpoint overrides: "
        f"use the key file Google issued, {OR_FLAG}"
    )
    assert world.google.requests() == []  # no assertion was sent to it


def keyless(world: World, account: str) -> dict[str, Any]:
    spec = world.provisioning()
    google = spec["spec"]["google"]
    del google["credentialsSecretRef"]
    google["serviceAccountEmail"] = account
    return spec


OTHER_TEAM_ACCOUNT = "payroll-sync@other-team.iam.gserviceaccount.com"


async def test_a_keyless_account_not_bound_to_the_namespace_is_refused(world: World) -> None:
    # Bound to another namespace only: the tenant of NS may not borrow it.
    await world.start(keyless_accounts={"payroll": frozenset({OTHER_TEAM_ACCOUNT})})
    await world.create(keyless(world, OTHER_TEAM_ACCOUNT))

    condition = await refused(world, "Connected")
    assert condition["reason"] == "KeylessAccountRefused"
    assert condition["message"] == (
        f"spec.google.serviceAccountEmail {OTHER_TEAM_ACCOUNT} is signed for with the operator's own "
        f"Google identity, which this operator does for namespace {NS} only when told to: have a cluster "
        f"administrator run the operator with gwsync run --keyless-account {NS}={OTHER_TEAM_ACCOUNT}, "
        "or use credentialsSecretRef."
    )
    assert world.google.requests() == []
    assert secrets_read(world) == 0


async def test_a_keyless_account_bound_to_the_namespace_goes_on_to_sign(world: World) -> None:
    await world.start(keyless_accounts={NS: frozenset({OTHER_TEAM_ACCOUNT})})
    await world.create(keyless(world, OTHER_TEAM_ACCOUNT))

    condition = await refused(world, "Connected")  # past the binding: no Google identity here
    assert condition["reason"] == "GoogleAuthFailed"
    assert condition["message"].startswith("Keyless access needs the operator's own Google identity")
