"""The ClusterKopfPeering the replicas meet in: the operator makes it, or says why it cannot."""

from typing import Any

import pytest

from gwsync.testing.kube import CLUSTER_PEERINGS, KubeFault

from .conftest import World, eventually

NOT_SERVED = "the server could not find the requested resource"
CRD_MISSING = (
    "The ClusterKopfPeering gwsync cannot be created because its CRD is not installed: replicas of "
    "the operator will not see each other, so run one replica, or apply manifests/peering.yaml."
)
FORBIDDEN = (
    "The ClusterKopfPeering gwsync cannot be created (creating ClusterKopfPeering gwsync failed: "
    '403 clusterkopfpeerings.kopf.dev is forbidden: User "gwsync" cannot create resource '
    '"clusterkopfpeerings"): replicas of the operator will not see each other, so run one replica, '
    "or grant get and create on clusterkopfpeerings.kopf.dev as manifests/rbac.yaml does."
)


def peering(world: World) -> dict[str, Any] | None:
    return world.kube.read(CLUSTER_PEERINGS, None, "gwsync")


async def test_an_operator_creates_the_missing_peering_object_and_announces_itself(world: World) -> None:
    assert peering(world) is None
    await world.start(standalone=False, priority=300)
    found = await eventually(lambda: (peering(world) or {}).get("status") or None)
    assert [p["priority"] for p in found.values()] == [300]


@pytest.mark.parametrize(
    ("faults", "sentence"),
    [
        # What the API server answers for a resource it does not serve (the operator's own read
        # and create; Kopf's list of all peerings is not matched).
        ([KubeFault("GET", CLUSTER_PEERINGS, 404, NOT_SERVED, name_contains="gwsync"),
          KubeFault("POST", CLUSTER_PEERINGS, 404, NOT_SERVED)],
         CRD_MISSING),
        ([KubeFault("POST", CLUSTER_PEERINGS, 403, 'clusterkopfpeerings.kopf.dev is forbidden: User "gwsync" '
                    'cannot create resource "clusterkopfpeerings"')],
         FORBIDDEN),
    ],
    ids=["crd missing", "create forbidden"],
)  # fmt: skip
async def test_without_a_peering_object_the_operator_says_why_and_still_syncs(
    world: World, captured_logs: pytest.LogCaptureFixture, faults: list[KubeFault], sentence: str
) -> None:
    world.kube.faults.extend(faults)
    await world.start(standalone=False)
    await world.create(world.provisioning())
    await eventually(world.finished)
    warnings = [r.getMessage() for r in captured_logs.records if r.name == "gwsync.controller.peering"]
    assert warnings == [sentence]
