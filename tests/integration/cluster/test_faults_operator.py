"""The fault matrix, operator rows (docs/reliability.md): the API server gone mid-sync, Secrets
rotated between syncs. Each ends with the "nothing lost" check on the real server.

The operator killed mid-apply is test_recovery.py's first test (same check)."""

from __future__ import annotations

import base64
import time
from collections import Counter

import pytest
from tests.integration.orgs import small_org

from gwsync.kube.blobs import Owner
from gwsync.kube.client import SECRETS
from gwsync.kube.ledger import LedgerStore
from gwsync.sync.ledger import Ledger
from gwsync.testing.google import new_key
from gwsync.testing.org import Org
from gwsync.testing.scim import Interleave

from .conftest import Cluster, eventually

ENDED = {"Succeeded", "PartiallySucceeded", "Failed", "Blocked", "Interrupted"}


def assert_nothing_lost(cluster: Cluster, org: Org) -> None:
    """Every report ended; the target holds the org once per Google id; the ledger is true."""
    phases = [(r["metadata"]["name"], (r.get("status") or {}).get("phase")) for r in cluster.reports()]
    assert all(phase in ENDED for _, phase in phases), phases  # none stuck Running
    users = cluster.scim.users()
    external = Counter(u.get("externalId") for u in users)
    assert [gid for gid, n in external.items() if n > 1] == []  # no duplicate per Google id
    assert {u["userName"]: u["externalId"] for u in users} == {u.primary_email: u.id for u in org.users}
    assert all(u["active"] for u in users)
    raw = LedgerStore(cluster.kube, Owner.of(cluster.gprov()), cluster.namespace).load()
    ledger = Ledger.from_json(raw or b"")
    by_id = {u["id"]: u for u in users}
    assert {google: by_id[target]["externalId"] for google, target in ledger.users.items()} == {
        u.id: u.id for u in org.users
    }


def replace_secret(cluster: Cluster, name: str, key: str, value: str) -> None:
    data = {key: base64.b64encode(value.encode()).decode()}
    cluster.kube.patch(SECRETS, cluster.namespace, name, {"data": data})


def last_report(cluster: Cluster, count: int) -> dict[str, object]:
    return cluster.wait_finished(count=count, seconds=120)[-1]


OUTAGE = 5


@pytest.mark.parametrize("org", [small_org(397)], ids=["400-users"])
def test_the_api_server_gone_mid_sync_loses_nothing(cluster: Cluster, org: Org) -> None:
    # The API server goes just before the target is sent its first create: the sync writes its
    # first batch (200 users) and stops at the checkpoint after it, whatever the machine's
    # speed (polling for "50 users created" let a fast sync checkpoint 200, then write the rest).
    went: list[float] = []

    def api_server_gone() -> None:
        cluster.plane.stop_apiserver()
        went.append(time.monotonic())

    cluster.scim.set_interleaves([Interleave(method="POST", path="/Users", action=api_server_gone)])
    cluster.start_operator("--retry-delay", "1")
    cluster.apply(cluster.provisioning())
    eventually(lambda: went or None, seconds=120, what="the first create")
    stopped = went[0]
    try:
        # Down until the sync has stopped at a ledger checkpoint and failed to end its report:
        # every write the operator makes to the cluster after that falls in the outage.
        eventually(
            lambda: "could not be completed" in cluster.operator_logs() or None,
            seconds=120,
            what="the sync stopped by the outage",
        )
        assert f"Sync of {cluster.namespace}/acme stopped:" in cluster.operator_logs()
        written = len(cluster.scim.users())
        assert written < len(org.users)  # stopped mid-apply: the rest waits for the next sync
        # The fault is an outage of OUTAGE seconds at least, however soon the sync found it out.
        eventually(lambda: time.monotonic() - stopped >= OUTAGE or None, what=f"{OUTAGE} s of outage")
    finally:
        cluster.plane.start_apiserver()  # etcd kept everything (and the next tests need it)
    outage = time.monotonic() - stopped

    cluster.request_sync()
    finished = eventually(
        lambda: [r for r in cluster.finished() or [] if r["status"]["phase"] == "Succeeded"] or None,
        seconds=180,
        what="a Succeeded sync after the outage",
    )
    assert outage >= OUTAGE, outage
    assert finished
    assert_nothing_lost(cluster, org)
    assert "Traceback" not in cluster.operator_logs()


def test_rotated_secrets_are_used_by_the_next_sync(cluster: Cluster, org: Org) -> None:
    cluster.start_operator()
    cluster.apply(cluster.provisioning())
    assert last_report(cluster, 1)["status"]["phase"] == "Succeeded"  # type: ignore[index]

    # The target's token is rotated: the old one is refused until the Secret holds the new one.
    new_token = "scim-token-rotated-n3w"
    cluster.scim.injector.app.bearer_tokens = {new_token}
    cluster.scim.token = new_token
    cluster.request_sync()
    refused = last_report(cluster, 2)
    assert refused["status"]["phase"] == "Failed"  # type: ignore[index]
    reachable = eventually(
        lambda: cluster.condition_is("TargetReachable", "False"), what="TargetReachable=False"
    )
    assert "spec.target.scim.tokenSecretRef" in reachable["message"]
    replace_secret(cluster, "scim", "token", new_token)
    cluster.request_sync()
    assert last_report(cluster, 3)["status"]["phase"] == "Succeeded"  # type: ignore[index]
    eventually(lambda: cluster.condition_is("TargetReachable", "True"), what="TargetReachable=True")

    # The Google key is rotated (the old key deleted in Google): the same, on the Google side.
    cluster.google.service_account().key = new_key()
    cluster.request_sync()
    assert last_report(cluster, 4)["status"]["phase"] == "Failed"  # type: ignore[index]
    connected = eventually(lambda: cluster.condition_is("Connected", "False"), what="Connected=False")
    assert "create a new JSON key" in connected["message"]
    replace_secret(cluster, "google", "key.json", cluster.google.service_account_key())
    cluster.request_sync()
    assert last_report(cluster, 5)["status"]["phase"] == "Succeeded"  # type: ignore[index]
    eventually(lambda: cluster.condition_is("Connected", "True"), what="Connected=True")
    assert_nothing_lost(cluster, org)
