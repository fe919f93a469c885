"""The grace period for leavers across an operator restart, on the real server (issue 14, point 3).

Held removals live in the ledger ConfigMap: a new operator process reads them back, keeps the
date each user left (not the restart's), cancels a hold with nothing written when the user
returns, and applies it at the first sync after the period.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tests.integration.orgs import small_org

from gwsync.kube.blobs import Owner
from gwsync.kube.ledger import LedgerStore
from gwsync.sync.ledger import Ledger
from gwsync.testing.org import Org

from .conftest import Cluster, eventually

BJORN, AMELIE = "bjorn@acme.example", "amelie@acme.example"
DUE = re.compile(r"by the first sync after (\S+) unless")


def without(*emails: str) -> Org:
    """The sample organization with these people suspended."""
    org = small_org()
    users = [u.model_copy(update={"suspended": True}) if u.primary_email in emails else u for u in org.users]
    return org.model_copy(update={"users": users})


def synced(cluster: Cluster, count: int) -> dict[str, Any]:
    report = cluster.wait_finished(count=count)[-1]
    assert report["status"]["phase"] == "Succeeded", report["status"]
    return report


def item_of(report: dict[str, Any], email: str) -> dict[str, Any]:
    [item] = [i for i in report["status"]["items"] if i["key"] == email and i["type"] == "User"]
    return item


def due_of(report: dict[str, Any], email: str) -> str:
    item = item_of(report, email)
    assert item["action"] == "PendingRemoval", item
    match = DUE.search(item["details"])
    assert match is not None, item["details"]
    return match.group(1)


def stored_ledger(cluster: Cluster) -> Ledger:
    raw = LedgerStore(cluster.kube, Owner.of(cluster.gprov()), cluster.namespace).load()
    return Ledger.from_json(raw or b"")


def active(cluster: Cluster, email: str) -> bool:
    [user] = [u for u in cluster.scim.users() if u["userName"] == email]
    return bool(user["active"])


def test_held_removals_survive_a_restart_back_in_time_writes_nothing_away_is_removed_after(
    cluster: Cluster,
) -> None:
    cluster.start_operator()
    cluster.apply(cluster.provisioning(deprovision={"maxPercent": 100, "gracePeriod": "30s"}))
    synced(cluster, 1)

    # 30 s: long enough for a restart and a sync on a loaded machine (about 15 s), short enough to wait out.
    cluster.google.org = without(BJORN, AMELIE)  # both leave
    cluster.request_sync()
    held = synced(cluster, 2)
    due = {email: due_of(held, email) for email in (BJORN, AMELIE)}
    assert held["status"]["summary"]["users"]["pendingRemoval"] == 2
    assert len(stored_ledger(cluster).pending) == 2

    cluster.operators[-1].stop()  # a new operator process reads the holds back from the ledger
    cluster.start_operator()
    cluster.scim.reset_log()
    cluster.google.org = without(AMELIE)  # Björn is back within the period
    cluster.request_sync()
    back = synced(cluster, 3)
    assert [i for i in back["status"]["items"] if i["key"] == BJORN] == []  # nothing to report
    assert back["status"]["summary"]["users"]["pendingRemoval"] == 1
    assert due_of(back, AMELIE) == due[AMELIE]  # the date she left, not the restart's
    assert cluster.scim.writes == []  # nothing written for the one back nor the one still held
    assert active(cluster, BJORN) and active(cluster, AMELIE)

    deadline = datetime.fromisoformat(due[AMELIE].replace("Z", "+00:00"))
    eventually(lambda: datetime.now(UTC) > deadline or None, seconds=60, what=f"the period ending {deadline}")
    cluster.request_sync()
    after = synced(cluster, 4)
    assert item_of(after, AMELIE)["action"] == "Deprovision"
    assert not active(cluster, AMELIE) and active(cluster, BJORN)
    assert stored_ledger(cluster).pending == {}
