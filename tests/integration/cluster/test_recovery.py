"""Crash safety on the real server: SIGKILL mid-sync, and an API server restart while idle."""

from __future__ import annotations

from collections import Counter

import pytest
from tests.integration.orgs import small_org

from gwsync.kube.blobs import Owner
from gwsync.kube.ledger import LedgerStore
from gwsync.sync.ledger import Ledger
from gwsync.testing.org import Org
from gwsync.testing.scim import Interleave

from .conftest import Cluster, eventually

USERS = 300


@pytest.mark.parametrize("org", [small_org(USERS - 3)], ids=["300-users"])
def test_a_sync_killed_midway_is_interrupted_then_retried_to_the_same_end(cluster: Cluster, org: Org) -> None:
    cluster.scim.set_faults([], delay=0.004)  # a target slow enough to be caught mid-sync
    # Priority 1: the killed process stays in the peering list for a minute; no later
    # operator (random priority above 1) may pause for it.
    lease = ("--sync-lease", "10")  # the killed process's lock lapses 10 s after its last renewal
    first = cluster.start_operator("--priority", "1", "--retry-delay", "1", *lease)
    killed: list[int] = []

    def kill_at_the_hundredth_user() -> None:  # before a write is served: never after the last one
        if not killed and len(cluster.scim.users()) >= 100:
            first.kill()
            killed.append(len(cluster.scim.users()))

    cluster.scim.set_interleaves([Interleave(method="POST", action=kill_at_the_hundredth_user, times=None)])
    cluster.apply(cluster.provisioning())
    eventually(lambda: killed or None, seconds=120, what="100 users created")
    cluster.scim.set_interleaves([])
    [running] = cluster.reports()
    assert running["status"]["phase"] == "Running"
    assert len(cluster.scim.users()) < USERS

    # Priority 2, above the dead replica's: it does not pause for it (an equal one would wait out
    # its peering lifetime, a minute), and its sync waits for the lock to lapse.
    cluster.start_operator("--priority", "2", "--retry-delay", "1", *lease)
    interrupted = eventually(
        lambda: next((r for r in cluster.reports() if r["status"].get("phase") == "Interrupted"), None),
        what="the killed sync marked Interrupted",
    )
    assert interrupted["metadata"]["name"] == running["metadata"]["name"]
    retry = cluster.wait_finished(count=2, seconds=180)[-1]
    assert retry["spec"]["trigger"] == "Retry"
    assert retry["status"]["phase"] == "Succeeded", retry["status"]

    users = cluster.scim.users()
    names = Counter(u["userName"] for u in users)
    assert [name for name, count in names.items() if count > 1] == []  # no duplicate user
    assert set(names) == {u.primary_email for u in org.users}
    assert {u["externalId"] for u in users} == {u.id for u in org.users}
    assert all(u["active"] for u in users)
    raw = LedgerStore(cluster.kube, Owner.of(cluster.gprov()), cluster.namespace).load()
    ledger = Ledger.from_json(raw or b"")
    by_id = {u["id"]: u for u in users}
    assert len(ledger.users) == USERS
    assert all(by_id[target]["externalId"] == google for google, target in ledger.users.items())


def test_the_operator_recovers_by_itself_from_an_api_server_restart(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.apply(cluster.provisioning())
    cluster.wait_finished()

    cluster.plane.stop_apiserver()
    cluster.plane.start_apiserver()  # etcd kept everything

    cluster.request_sync()
    second = cluster.wait_finished(count=2, seconds=120)[-1]
    assert second["spec"]["trigger"] == "Manual"
    assert second["status"]["phase"] == "Succeeded"
    assert "Traceback" not in cluster.operator_logs()
