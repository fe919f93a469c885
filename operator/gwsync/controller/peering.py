"""The ClusterKopfPeering that replicas of the operator meet in, made by the operator at start.

It cannot ship in manifests/: kubectl maps every object of an apply to a resource before it
sends any, and on a fresh cluster the kind of an object whose CRD is in the same apply has no
mapping yet, so the whole `kubectl apply -k manifests/` failed (issue 23).

Kopf only patches its keep-alives into a peering object that exists: when it is missing, the
patch is a quiet 404 and the next keep-alive comes about a minute later, a minute in which the
replicas would not see each other. Kopf runs startup handlers before it starts any watcher or
keep-alive, so a startup handler that creates the object (when missing) lets Kopf's first
keep-alive land in it.
"""

import asyncio
import logging
from typing import Any, Final

import kopf

from gwsync.kube.client import Kube, KubeApiError, KubeConflict, KubeNotFound, Resource

PEERING_NAME: Final = "gwsync"
CLUSTER_PEERINGS: Final = Resource("kopf.dev", "v1", "clusterkopfpeerings", "ClusterKopfPeering")
log = logging.getLogger(__name__)


def ensure_peering(kube: Kube, name: str = PEERING_NAME) -> bool:
    """Create the ClusterKopfPeering `name` unless it exists; True when this call created it.

    Replicas starting together may both find it missing: the second create is a conflict,
    which means another replica made it, and that is as good.
    """
    try:
        kube.get_cluster_scoped(CLUSTER_PEERINGS, name)
        return False
    except KubeNotFound:
        pass
    body = {
        "apiVersion": CLUSTER_PEERINGS.api_version,
        "kind": CLUSTER_PEERINGS.kind,
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "gwsync"}},
    }
    try:
        kube.create_cluster_scoped(CLUSTER_PEERINGS, body)
    except KubeConflict:
        return False
    return True


def peering_problem(exc: KubeApiError, name: str = PEERING_NAME) -> str:
    """Why the peering object could not be made, and what to do, in one sentence."""
    consequence = "replicas of the operator will not see each other, so run one replica"
    if isinstance(exc, KubeNotFound):
        return (
            f"The ClusterKopfPeering {name} cannot be created because its CRD is not installed: "
            f"{consequence}, or apply manifests/peering.yaml."
        )
    return (
        f"The ClusterKopfPeering {name} cannot be created ({exc}): {consequence}, or grant "
        "get and create on clusterkopfpeerings.kopf.dev as manifests/rbac.yaml does."
    )


def register_peering_handler(registry: kopf.OperatorRegistry, *, kube: Kube) -> None:
    """At start, make the ClusterKopfPeering Kopf is about to peer in (when it peers cluster-wide)."""

    @kopf.on.startup(id="peering", registry=registry)
    async def create_peering(settings: kopf.OperatorSettings, **_: Any) -> None:
        peering = settings.peering
        if peering.standalone or not peering.clusterwide:
            return
        try:
            created = await asyncio.to_thread(ensure_peering, kube, peering.name)
        except KubeApiError as exc:
            # Not fatal: without the object the operator still works, as a single replica.
            log.warning(peering_problem(exc, peering.name))
            return
        if created:
            log.info(f"Created the ClusterKopfPeering {peering.name}, where replicas of the operator peer.")
