"""The whole operator story on a real kube-apiserver, as the Deployment's ServiceAccount."""

from __future__ import annotations

from gwsync.testing.org import Org

from .conftest import Cluster, eventually


def assert_clean_log(cluster: Cluster) -> None:
    logs = cluster.operator_logs()
    assert "Forbidden" not in logs and "forbidden" not in logs, logs[-4000:]
    assert "Traceback" not in logs, logs[-4000:]


def without(org: Org, *emails: str) -> Org:
    return org.model_copy(update={"users": [u for u in org.users if u.primary_email not in emails]})


def test_create_request_change_rival_and_approval(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.apply(cluster.provisioning())

    # Initial sync on create.
    [first] = cluster.wait_finished()
    assert first["spec"]["trigger"] == "Initial"
    assert first["status"]["phase"] == "Succeeded", first["status"]
    assert first["status"]["summary"]["users"]["created"] == 3
    assert {u["userName"] for u in cluster.scim.users()} == {
        "admin@acme.example",
        "amelie@acme.example",
        "bjorn@acme.example",
    }
    ready = eventually(lambda: cluster.condition_is("Ready", "True"), what="Ready=True")
    assert ready["reason"] == "Succeeded"
    assert cluster.status()["syncedGeneration"] == 1
    eventually(lambda: cluster.events("SyncSucceeded") or None, what="a SyncSucceeded Event")

    # The annotation runs exactly one Manual sync per value.
    request = cluster.request_sync()
    cluster.wait_finished(count=2)
    eventually(
        lambda: cluster.status().get("lastHandledSyncRequest") == request or None, what="the request handled"
    )
    cluster.annotate("acme", "gwsync.io/sync-requested-at", request)  # the same value: nothing to do

    # A spec change does not sync; it says ConfigurationPending with the command that does.
    changed = cluster.provisioning()
    changed["spec"]["history"] = {"keep": 20}
    cluster.apply(changed)
    pending = eventually(
        lambda: cluster.condition_is("ConfigurationPending", "True"), what="ConfigurationPending"
    )
    assert "generation 2" in pending["message"]
    assert "kubectl annotate gprov/acme" in pending["message"]
    cluster.request_sync()
    cluster.wait_finished(count=3)
    assert cluster.triggers() == ["Initial", "Manual", "Manual"]
    eventually(
        lambda: cluster.condition_is("ConfigurationPending", "False"), what="ConfigurationPending=False"
    )

    # A second GoogleProvisioning on the same target is not Active and never syncs.
    cluster.apply(cluster.provisioning("rival"))
    inactive = eventually(lambda: cluster.condition_is("Active", "False", "rival"), what="rival Active=False")
    assert inactive["reason"] == "AnotherProvisioningActive"
    assert f"{cluster.namespace}/acme" in inactive["message"]
    cluster.request_sync("rival")
    cluster.request_sync("acme")  # a barrier: the rival's tick has run by the time this one ends
    cluster.wait_finished(count=4)
    assert cluster.reports("rival") == []

    # Removals over the threshold are held (Blocked); the approval alone starts the sync that applies them.
    limited = cluster.provisioning()
    limited["spec"]["history"] = {"keep": 20}
    limited["spec"]["deprovision"] = {"maxCount": 1}
    cluster.apply(limited)
    cluster.google.org = without(cluster.google.org, "amelie@acme.example", "bjorn@acme.example")
    cluster.request_sync()
    blocked = cluster.wait_finished(count=5)[-1]
    assert blocked["status"]["phase"] == "Blocked", blocked["status"]
    assert blocked["status"]["summary"]["users"]["held"] == 2
    eventually(lambda: cluster.events("DeprovisioningBlocked") or None, what="a DeprovisioningBlocked Event")
    assert cluster.scim.user_by_name("bjorn@acme.example")["active"] is True
    cluster.annotate("acme", "gwsync.io/approve-deprovisioning", blocked["metadata"]["name"])
    approved = cluster.wait_finished(count=6)[-1]
    assert approved["status"]["phase"] == "Succeeded", approved["status"]
    assert approved["status"]["summary"]["users"]["deprovisioned"] == 2
    assert cluster.scim.user_by_name("bjorn@acme.example")["active"] is False
    assert cluster.scim.user_by_name("amelie@acme.example")["active"] is False

    assert_clean_log(cluster)


def test_suspend_holds_every_automatic_sync(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.apply(cluster.provisioning(suspend=True))
    eventually(lambda: cluster.condition_is("Ready", "Unknown"), what="Ready=Unknown (AwaitingFirstSync)")

    # A requested sync still runs, and it is the first one: no Initial sync happened before it.
    cluster.request_sync()
    [only] = cluster.wait_finished()
    assert only["spec"]["trigger"] == "Manual"
    assert cluster.status().get("nextSyncTime") is None
    assert_clean_log(cluster)
