"""Big reports and the ledger within the real server's limits; the garbage collector cleans up."""

from __future__ import annotations

import csv
import io

import pytest
from tests.integration.orgs import small_org

from gwsync.kube.blobs import Owner
from gwsync.kube.client import CONFIG_MAPS, REPORTS
from gwsync.kube.ledger import LedgerStore
from gwsync.sync.ledger import Ledger
from gwsync.testing.org import Org

from .conftest import Cluster, eventually, gwsync, kubectl

BIG = 50_000


@pytest.mark.parametrize("org", [small_org(BIG - 3)], ids=["50k-users"])
def test_a_50k_user_dry_run_report_and_ledger_are_stored_and_read_back(cluster: Cluster, org: Org) -> None:
    cluster.start_operator()
    cluster.apply(cluster.provisioning(dryRun=True))
    [report] = cluster.wait_finished(seconds=240)
    status = report["status"]
    assert status["phase"] == "Succeeded", status
    assert status["itemCount"] == BIG
    assert len(status["items"]) <= 200
    parts = status["itemStore"]["configMaps"]
    for name in parts:
        stored = cluster.kube.get(CONFIG_MAPS, cluster.namespace, name)
        assert len(stored["binaryData"]["data.gz"]) < 900 * 1024
    assert cluster.scim.users() == []  # a dry run writes nothing

    exported = gwsync(
        "report", "export", report["metadata"]["name"], "-o", "-",
        "-n", cluster.namespace, "--kubeconfig", str(cluster.admin),
    ).stdout  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert len(rows) == BIG
    assert {row["key"] for row in rows} == {user.primary_email for user in org.users}

    # A ledger of the same size, stored in chunks under the ConfigMap limit and read back whole.
    ledger = Ledger({user.id: f"target-{i}" for i, user in enumerate(org.users)}, {"Engineering": "g-1"})
    store = LedgerStore(cluster.kube, Owner.of(cluster.gprov()), cluster.namespace)
    names = store.save(ledger.to_json())
    assert names
    assert Ledger.from_json(store.load() or b"") == ledger


def test_deleting_a_provisioning_removes_its_reports_and_config_maps(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.apply(cluster.provisioning())
    cluster.wait_finished()
    cluster.request_sync()
    cluster.wait_finished(count=2)
    assert len([cm for cm in cluster.config_maps() if cm["metadata"]["name"] != "kube-root-ca.crt"]) >= 3

    kubectl(cluster.admin, "delete", "gprov/acme", "-n", cluster.namespace, "--wait=true", "--timeout=60s")
    # The real garbage collector follows the ownerReferences (it rediscovers types every 30 s).
    eventually(
        lambda: cluster.kube.list(REPORTS, cluster.namespace) == [] or None, seconds=120, what="reports gone"
    )
    eventually(
        lambda: (
            not [cm for cm in cluster.config_maps() if cm["metadata"]["name"] != "kube-root-ca.crt"] or None
        ),
        seconds=120,
        what="item and ledger ConfigMaps gone",
    )
    # Disconnecting removes nothing from the target.
    assert len(cluster.scim.users()) == 3


def test_deleting_the_namespace_completes(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.apply(cluster.provisioning())
    cluster.wait_finished()
    kubectl(cluster.admin, "delete", "namespace", cluster.namespace, "--wait=true", "--timeout=120s")
    gone = kubectl(cluster.admin, "get", "namespace", cluster.namespace, check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
