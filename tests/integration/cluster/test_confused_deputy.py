"""The confused-deputy attacks of docs/security.md against the real API server, as the Deployment runs.

A tenant creates a GoogleProvisioning naming a Secret they cannot read, or their own endpoint;
the operator (the manifests' ServiceAccount, a subprocess) must refuse with the exact condition
and send nothing to the attacker.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from gwsync.testing.google import GoogleEmulator, google_emulator_in_thread
from gwsync.testing.scim import ScimServer, run_scim_server

from .conftest import Cluster, eventually

OR_FLAG = "or have a cluster administrator run the operator with gwsync run --allow-endpoint-overrides."


@pytest.fixture
def attacker_scim() -> Iterator[ScimServer]:
    with run_scim_server("anything") as server:
        yield server


@pytest.fixture
def attacker_google(cluster: Cluster) -> Iterator[GoogleEmulator]:
    with google_emulator_in_thread(copy.deepcopy(cluster.google.org)) as google:
        yield google


def refusal(cluster: Cluster, condition: str) -> dict[str, Any]:
    [report] = cluster.wait_finished()
    assert report["status"]["phase"] == "Failed", report["status"]
    found = eventually(lambda: cluster.condition_is(condition, "False"), what=f"{condition}=False")
    [event] = eventually(lambda: cluster.events("SyncFailed") or None, what="a SyncFailed Event")
    assert event["type"] == "Warning" and event["message"].endswith(found["message"])
    return found


def test_an_unlabelled_secret_is_not_sent_to_the_tenants_target(
    cluster: Cluster, attacker_scim: ScimServer
) -> None:
    cluster.seed_secret("billing", "api-key", "billing-api-key-0123456789", labelled=False)
    cluster.start_operator()
    provisioning = cluster.provisioning()
    provisioning["spec"]["target"]["scim"] = {
        "url": attacker_scim.url,
        "tokenSecretRef": {"name": "billing", "key": "api-key"},
    }
    cluster.apply(provisioning)

    found = refusal(cluster, "TargetReachable")
    assert found["reason"] == "SecretNotLabelled"
    assert found["message"] == (
        f"Secret {cluster.namespace}/billing is not labelled gwsync.io/credentials=true, so gwsync does "
        "not use it; if it holds the SCIM bearer token for this GoogleProvisioning, run: "
        f"kubectl label secret billing -n {cluster.namespace} gwsync.io/credentials=true"
    )
    assert attacker_scim.request_log == []
    assert cluster.google.requests() == []


def test_the_manifests_operator_refuses_an_api_endpoint_override(
    cluster: Cluster, attacker_google: GoogleEmulator
) -> None:
    cluster.start_operator(allow_endpoint_overrides=False)  # the args of manifests/deployment.yaml
    provisioning = cluster.provisioning()
    provisioning["spec"]["google"]["apiEndpoint"] = attacker_google.url
    cluster.apply(provisioning)

    found = refusal(cluster, "Connected")
    assert found["reason"] == "EndpointOverrideRefused"
    assert found["message"] == (
        "spec.google.apiEndpoint points away from https://admin.googleapis.com/, and this operator "
        f"refuses endpoint overrides: remove the field, {OR_FLAG}"
    )
    assert attacker_google.requests() == [] and cluster.google.requests() == []
    assert cluster.scim.request_log == []
