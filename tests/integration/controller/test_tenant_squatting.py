"""A tenant cannot block another namespace's GoogleProvisioning by claiming its SCIM URL first (issue 23).

The squatter is older, points at the same target, carries a forged
`status.target` in its manifest and has the right token, but in a Secret that does not opt in:
it never authenticates, so it holds nothing, with or without `--cluster-wide-exclusivity`.
"""

import base64
from datetime import timedelta
from typing import Any

import pytest
from tests.integration.orgs import provisioning_manifest

from gwsync.api.constants import CREDENTIALS_LABEL, CREDENTIALS_LABEL_VALUE
from gwsync.controller.exclusivity import target_digest
from gwsync.testing.kube import PROVISIONINGS, REPORTS, SECRETS

from .conftest import NS, SCIM_TOKEN, World, eventually

THEIRS = "attacker"  # sorts before "default": under the old rule it won even a tie on creation time


def seed_secret(world: World, name: str, key: str, value: str, *, labelled: bool) -> None:
    labels = {CREDENTIALS_LABEL: CREDENTIALS_LABEL_VALUE} if labelled else {}
    world.kube.seed(
        SECRETS,
        {
            "metadata": {"name": name, "namespace": THEIRS, "labels": labels},
            "data": {key: base64.b64encode(value.encode()).decode()},
        },
    )


def squatter_condition_is(world: World, type_: str, state: str) -> dict[str, Any] | None:
    """The squatter's condition once it has this status (None before)."""
    found = world.kube.read(PROVISIONINGS, THEIRS, "squatter") or {}
    conditions = (found.get("status") or {}).get("conditions") or []
    return next((x for x in conditions if x["type"] == type_ and x["status"] == state), None)


def squatter_failed(world: World) -> list[dict[str, Any]] | None:
    reports = world.kube.list_objects(REPORTS, THEIRS, labels="gwsync.io/provisioning=squatter")
    return [r for r in reports if (r.get("status") or {}).get("phase") == "Failed"] or None


@pytest.mark.parametrize("cluster_wide", [False, True], ids=["per-namespace", "cluster-wide"])
async def test_a_squatter_in_another_namespace_does_not_block_a_tenant(
    world: World, cluster_wide: bool
) -> None:
    seed_secret(world, "google", "key.json", world.google.service_account_key(), labelled=True)
    seed_secret(world, "scim", "token", SCIM_TOKEN, labelled=False)
    await world.start(cluster_wide_exclusivity=cluster_wide)
    squatter = provisioning_manifest("squatter", THEIRS, world.google.url, world.scim.url)
    # Tenants cannot write status: the API server drops it on create, so this claims nothing.
    squatter["status"] = {
        "target": {"digest": target_digest(world.scim.url), "authenticatedAt": "2020-01-01T00:00:00Z"}
    }
    path = f"/apis/provisioning.gwsync.io/v1alpha1/namespaces/{THEIRS}/googleprovisionings"
    async with world.kube.post(path, json=squatter) as response:
        assert response.status in (200, 201), await response.text()
    [failed] = await eventually(lambda: squatter_failed(world))
    assert "is not labelled gwsync.io/credentials=true" in failed["status"]["message"]

    await world.create(world.provisioning())  # default/acme, the same target

    [report] = await eventually(world.finished)
    assert report["status"]["phase"] == "Succeeded", report["status"]
    active = await eventually(lambda: world.condition_is("Active", "True"))
    assert active["message"] == "This provisioning is the active one for its target."
    if cluster_wide:
        # acme authenticated; the squatter never did: it is the one left inactive, told nothing of acme.
        inactive = await eventually(lambda: squatter_condition_is(world, "Active", "False"))
        assert inactive["reason"] == "AnotherProvisioningActive"
        assert inactive["message"] == (
            f"Another GoogleProvisioning, in another namespace, is already active for "
            f"{world.scim.url}; the operator allows one active integration per target in "
            "the whole cluster (gwsync run --cluster-wide-exclusivity). If they provision different "
            "accounts served at the same URL, set a distinct spec.target.scim.accountId; otherwise ask "
            "a cluster administrator."
        )
    else:
        assert squatter_condition_is(world, "Active", "True")  # alone in its namespace


async def test_a_holder_whose_token_is_refused_gives_the_target_up(world: World) -> None:
    world.seed_secret("revoked", "token", "a-token-the-target-refuses")
    await world.start()
    await world.create(world.provisioning("first"))
    await eventually(lambda: world.finished("first"))
    recorded = world.status("first")["target"]
    assert recorded == {"digest": target_digest(world.scim.url), "authenticatedAt": "2026-11-25T06:00:00Z"}
    world.clock.now += timedelta(minutes=1)
    await world.create(world.provisioning("second"))
    await eventually(lambda: world.condition_is("Active", "False", "second"))

    # The first one's token is revoked: its next read of the target is refused (401).
    revoked = {"tokenSecretRef": {"name": "revoked", "key": "token"}}
    request = {"gwsync.io/sync-requested-at": "2026-11-25T06:01:00Z"}
    await world.patch("first", {"metadata": {"annotations": request}, "spec": {"target": {"scim": revoked}}})
    await eventually(lambda: world.finished("first", count=2))
    assert "target" not in world.status("first")

    # Nobody holds the target now: the second goes ahead, authenticates, and holds it.
    [report] = await eventually(lambda: world.finished("second"))
    assert report["status"]["phase"] == "Succeeded", report["status"]
    assert world.status("second")["target"]["authenticatedAt"] == "2026-11-25T06:01:00Z"
    inactive = await eventually(lambda: world.condition_is("Active", "False", "first"))
    assert inactive["message"].startswith(f"GoogleProvisioning {NS}/second is already active for ")
