"""The real server's limits (issue 16, bugs 1 and 6): long names, and a report full of long errors."""

from __future__ import annotations

import pytest
from tests.integration.orgs import small_org

from gwsync.testing.org import Org
from gwsync.testing.scim import Fault

from .conftest import Cluster, eventually

LONG_NAME = "acme-" + "provisioning-of-the-whole-organization-into-the-scim-target"  # 64+ characters


def test_a_provisioning_named_over_63_characters_syncs_and_lists_its_reports(cluster: Cluster) -> None:
    assert len(LONG_NAME) > 63
    cluster.start_operator()
    cluster.apply(cluster.provisioning(LONG_NAME))
    [report] = cluster.wait_finished(LONG_NAME)
    assert report["status"]["phase"] == "Succeeded", report["status"]
    assert report["spec"]["provisioningRef"]["name"] == LONG_NAME
    assert report["metadata"]["annotations"]["gwsync.io/provisioning-name"] == LONG_NAME


@pytest.mark.parametrize("org", [small_org(250)], ids=["253-users"])
def test_a_report_of_many_failures_with_long_errors_is_stored_and_finished(
    cluster: Cluster, org: Org
) -> None:
    detail = "The target refused this user for a reason it explains at great length. " * 100  # 7.5 KB
    cluster.scim.set_faults([Fault(status=409, method="POST", path="/Users", times=None, detail=detail)])
    cluster.start_operator()
    cluster.apply(cluster.provisioning())
    [report] = cluster.wait_finished(seconds=120)
    status = report["status"]
    assert status["phase"] == "PartiallySucceeded", status.get("message")
    assert status["summary"]["users"]["failed"] == len(org.users)
    assert status["itemCount"] == len(org.users)
    assert all(len(item["details"]) <= 1024 for item in status["items"])
    eventually(lambda: cluster.condition_is("Ready", "False"), what="Ready=False (ItemsFailed)")
    assert cluster.status()["lastSync"]["report"] == report["metadata"]["name"]
    assert len(cluster.reports()) == 1  # finished once, not synced again on every tick
