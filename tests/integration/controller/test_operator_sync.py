"""The operator end to end: schedule, requests, conditions, exclusivity and SyncReports."""

import asyncio
import json
import subprocess
from datetime import timedelta
from typing import Any

import pytest

from gwsync.api.report import Trigger
from gwsync.kube import reports as kube_reports
from gwsync.kube.client import connect
from gwsync.testing.google import Fault
from gwsync.testing.kube import kubectl_path

from .conftest import NS, SCIM_TOKEN, World, eventually


def triggers(world: World, name: str = "acme") -> list[str]:
    return [r["spec"]["trigger"] for r in world.reports(name)]


async def test_a_new_provisioning_syncs_at_once_and_reports_it(world: World) -> None:
    await world.start()
    await world.create(world.provisioning())

    [report] = await eventually(world.finished)
    assert report["spec"]["trigger"] == "Initial"
    assert report["status"]["phase"] == "Succeeded", report["status"]
    assert report["status"]["summary"]["users"]["created"] == 3
    assert {u["userName"] for u in world.scim.users()} == {
        "admin@acme.example",
        "amelie@acme.example",
        "bjorn@acme.example",
    }
    ready = await eventually(lambda: world.condition_is("Ready", "True"))
    assert ready["reason"] == "Succeeded"
    for type_ in ("Connected", "TargetReachable", "Active"):
        assert (world.condition(type_) or {}).get("status") == "True", type_
    status = world.status()
    assert status["google"]["customerId"] == "C03acme01"
    assert status["google"]["primaryDomain"] == "acme.example"
    assert status["syncedGeneration"] == 1
    await eventually(lambda: world.events("SyncSucceeded") or None)
    assert [e["reason"] for e in world.events() if e["reason"].startswith("Sync")] == [
        "SyncStarted",
        "SyncSucceeded",
    ]


def kubectl(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [kubectl_path(), "--kubeconfig", str(world.kubeconfig), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


async def test_kubectl_annotate_requests_exactly_one_manual_sync(world: World) -> None:
    await world.start()
    await world.create(world.provisioning())
    await eventually(world.finished)

    annotate = [
        "annotate",
        "gprov/acme",
        "-n",
        NS,
        "gwsync.io/sync-requested-at=2026-11-25T07:00:00Z",
        "--overwrite",
    ]
    await asyncio.to_thread(kubectl, world, *annotate)
    await eventually(lambda: world.finished(count=2))
    await eventually(lambda: world.status().get("lastHandledSyncRequest") == "2026-11-25T07:00:00Z" or None)
    assert triggers(world) == ["Initial", "Manual"]

    await asyncio.to_thread(kubectl, world, *annotate)  # the same value again: nothing to do
    await world.patch("acme", {"metadata": {"labels": {"touched": "yes"}}})
    await world.ticks(5)  # the schedule looked five more times and did not sync
    assert triggers(world) == ["Initial", "Manual"]


async def test_a_spec_change_is_pending_until_the_next_sync(world: World) -> None:
    await world.start()
    await world.create(world.provisioning())
    await eventually(world.finished)
    world.clock.now += timedelta(hours=2)

    await world.patch(
        "acme",
        {
            "spec": {
                "teams": {
                    "enabled": True,
                    "mappings": [{"team": "Engineering", "groups": ["eng@acme.example"]}],
                }
            }
        },
    )

    pending = await eventually(lambda: world.condition_is("ConfigurationPending", "True"))
    assert pending["message"] == (
        "The configuration changed (generation 2); it applies at the next sync (2026-11-26T06:00:00Z). "
        "To sync now: kubectl annotate gprov/acme -n default "
        'gwsync.io/sync-requested-at="$(date -Is)" --overwrite'
    )
    await eventually(lambda: world.events("ConfigurationPending") or None)
    await world.ticks(5)
    assert triggers(world) == ["Initial"]

    world.clock.now += timedelta(hours=23)  # past the interval: the scheduled sync applies it
    await eventually(lambda: world.finished(count=2))
    assert triggers(world) == ["Initial", "Scheduled"]
    cleared = await eventually(lambda: world.condition_is("ConfigurationPending", "False"))
    assert cleared["reason"] == "Applied"
    assert world.scim.group_members("Engineering")


async def test_a_request_during_a_running_sync_runs_once_after_it(world: World) -> None:
    world.google.faults.append(Fault(status=0, api="users", delay=1.0, times=1))  # a slow first read
    await world.start()
    await world.create(world.provisioning())
    await eventually(
        lambda: [r for r in world.reports() if (r.get("status") or {}).get("phase") == "Running"] or None
    )
    request = {"metadata": {"annotations": {"gwsync.io/sync-requested-at": "2026-11-25T06:00:30Z"}}}
    await world.patch("acme", request)

    await eventually(lambda: world.finished(count=2))
    await eventually(lambda: world.status().get("lastHandledSyncRequest") == "2026-11-25T06:00:30Z" or None)
    await world.ticks(5)
    assert triggers(world) == ["Initial", "Manual"]  # queued once, run after the running one


async def test_a_spec_change_during_a_sync_is_pending_after_it(world: World) -> None:
    world.google.faults.append(Fault(status=0, api="users", delay=1.0))  # a slow Google read
    await world.start()
    await world.create(world.provisioning())
    await eventually(
        lambda: [r for r in world.reports() if (r.get("status") or {}).get("phase") == "Running"] or None
    )
    await world.patch("acme", {"spec": {"dryRun": True}})

    await eventually(world.finished)
    pending = await eventually(lambda: world.condition_is("ConfigurationPending", "True"))
    assert pending["observedGeneration"] == 2
    assert pending["message"].startswith(
        "The configuration changed (generation 2); it applies at the next sync"
    )
    await eventually(lambda: world.events("ConfigurationPending") or None)
    assert world.status()["syncedGeneration"] == 1


async def test_a_restart_mid_interval_does_not_sync_early(world: World) -> None:
    await world.start()
    await world.create(world.provisioning())
    await eventually(world.finished)
    await world.stop()

    world.clock.now += timedelta(hours=12)
    await world.start()
    await world.ticks(5)
    assert triggers(world) == ["Initial"]

    world.clock.now += timedelta(hours=12, seconds=1)
    await eventually(lambda: world.finished(count=2))
    assert triggers(world) == ["Initial", "Scheduled"]


async def test_a_sync_killed_midway_is_interrupted_then_retried(world: World) -> None:
    # What a killed operator leaves behind: its first sync's report Running, nothing in status.
    await world.create(world.provisioning())
    client = connect(str(world.kube.url), insecure=True)
    await asyncio.to_thread(
        kube_reports.start_report, client, world.gprov(), Trigger.INITIAL, now=world.clock()
    )
    world.clock.now += timedelta(minutes=1)

    await world.start()
    [report] = await eventually(world.finished)
    assert report["status"]["phase"] == "Interrupted"
    await eventually(lambda: world.status().get("failedAttempts") == 1 or None)
    assert world.status()["lastSync"]["phase"] == "Interrupted"
    await world.ticks(5)
    assert triggers(world) == ["Initial"]  # the retry waits for its back-off

    world.clock.now += timedelta(minutes=5)
    reports = await eventually(lambda: world.finished(count=2))
    assert [r["spec"]["trigger"] for r in reports] == ["Initial", "Retry"]
    assert reports[-1]["status"]["phase"] == "Succeeded"
    await eventually(lambda: world.status()["failedAttempts"] == 0 or None)


async def test_one_active_provisioning_per_target(world: World) -> None:
    await world.start()
    await world.create(world.provisioning("first"))
    await eventually(lambda: world.finished("first"))
    world.clock.now += timedelta(seconds=10)
    second = world.provisioning("second")
    spelling = world.scim.url.replace("/v2", "//%76%32/.")  # RFC 3986: the same target
    second["spec"]["target"]["scim"]["url"] = spelling
    await world.create(second)

    inactive = await eventually(lambda: world.condition("Active", "second"))
    assert inactive["status"] == "False"
    assert inactive["reason"] == "AnotherProvisioningActive"
    assert inactive["message"] == (
        f"GoogleProvisioning {NS}/first is already active for {spelling}; only one provisioning "
        "integration may be active per target. Delete one of them, or, if they provision different "
        "accounts served at the same URL, set a distinct spec.target.scim.accountId on each."
    )
    # Let the active one run its next scheduled sync: meanwhile the second one ticked many times.
    world.clock.now += timedelta(hours=25)
    await eventually(lambda: world.finished("first", count=2))
    assert world.reports("second") == []
    # It holds the target since its token first authenticated there, not since its last sync.
    assert world.status("first")["target"]["authenticatedAt"] == "2026-11-25T06:00:00Z"

    await world.delete("first")
    await eventually(lambda: world.finished("second"))
    assert (world.condition("Active", "second") or {}).get("status") == "True"


async def test_a_missing_secret_is_named(world: World) -> None:
    await world.start()
    spec = world.provisioning()
    spec["spec"]["google"]["credentialsSecretRef"] = {"name": "absent", "key": "key.json"}
    await world.create(spec)

    [report] = await eventually(world.finished)
    assert report["status"]["phase"] == "Failed"
    connected = await eventually(lambda: world.condition("Connected"))
    assert (connected["status"], connected["reason"]) == ("False", "SecretUnavailable")
    assert connected["message"].startswith(
        f"Secret {NS}/absent not found: create it with the service-account key"
    )
    [failed] = await eventually(lambda: world.events("SyncFailed") or None)
    assert failed["type"] == "Warning" and "Secret default/absent not found" in failed["message"]


async def test_a_wrong_key_is_named(world: World) -> None:
    world.seed_secret("foreign", "key.json", world.google.foreign_key())
    await world.start()
    spec = world.provisioning()
    spec["spec"]["google"]["credentialsSecretRef"] = {"name": "foreign", "key": "key.json"}
    await world.create(spec)

    await eventually(world.finished)
    connected = await eventually(lambda: world.condition("Connected"))
    assert (connected["status"], connected["reason"]) == ("False", "GoogleAuthFailed")
    assert connected["message"].startswith("Google rejected the service-account key of gwsync@")
    await eventually(lambda: world.events("SyncFailed") or None)


async def test_an_unreachable_target_is_named_and_no_secret_leaks(
    world: World, captured_logs: pytest.LogCaptureFixture
) -> None:
    await world.start()
    spec = world.provisioning()
    spec["spec"]["target"]["scim"]["url"] = "http://127.0.0.1:9/v2"
    await world.create(spec)

    await eventually(world.finished)
    reachable = await eventually(lambda: world.condition("TargetReachable"))
    assert (reachable["status"], reachable["reason"]) == ("False", "TargetUnreachable")
    assert "127.0.0.1:9" in reachable["message"]
    await eventually(lambda: world.events("SyncFailed") or None)
    key = json.loads(world.google.service_account_key())["private_key"].splitlines()[1]
    everything = json.dumps(
        [
            world.kube.list_objects(r)
            for r in (
                "v1/events",
                "provisioning.gwsync.io/v1alpha1/syncreports",
                "provisioning.gwsync.io/v1alpha1/googleprovisionings",
                "v1/configmaps",
            )
        ]
    )
    everything += captured_logs.text
    assert SCIM_TOKEN not in everything
    assert key not in everything


async def test_accounts_sharing_a_url_are_told_apart_by_account_id(world: World) -> None:
    def for_account(name: str, account: str) -> dict[str, Any]:
        obj = world.provisioning(name)
        obj["spec"]["target"]["scim"]["accountId"] = account
        return obj

    await world.start()
    await world.create(for_account("acme", "acme.example"))
    await eventually(lambda: world.finished("acme"))
    world.clock.now += timedelta(seconds=10)
    await world.create(for_account("globex", "globex.example"))  # same URL, another account
    await world.create(for_account("acme-copy", "acme.example"))  # same URL, same account

    await eventually(lambda: world.finished("globex"))
    assert (world.condition("Active", "globex") or {}).get("status") == "True"
    inactive = await eventually(lambda: world.condition_is("Active", "False", "acme-copy"))
    assert inactive["reason"] == "AnotherProvisioningActive"
    assert f"{NS}/acme is already active for {world.scim.url} (accountId acme.example)" in inactive["message"]
    await world.ticks(5, "acme-copy")
    assert world.reports("acme-copy") == []


async def test_approving_held_removals_syncs_at_once_and_applies_them(world: World) -> None:
    await world.start()
    await world.create(world.provisioning(deprovision={"maxCount": 1}))
    await eventually(world.finished)
    leaving = ("amelie@acme.example", "bjorn@acme.example")
    world.google.org = world.google.org.model_copy(
        update={"users": [u for u in world.google.org.users if u.primary_email not in leaving]}
    )
    await world.patch("acme", {"metadata": {"annotations": {"gwsync.io/sync-requested-at": "leavers"}}})
    blocked = (await eventually(lambda: world.finished(count=2)))[-1]
    assert (blocked["status"]["phase"], blocked["status"]["summary"]["users"]["held"]) == ("Blocked", 2)
    report = blocked["metadata"]["name"]
    [held] = [item for item in blocked["status"]["items"] if item["key"] == "bjorn@acme.example"]
    assert held["details"].endswith(
        f"approve with kubectl annotate gprov/acme -n {NS} gwsync.io/approve-deprovisioning={report} "
        "--overwrite (this starts a sync that applies them)"
    )

    # The approval alone: no second command.
    await world.patch("acme", {"metadata": {"annotations": {"gwsync.io/approve-deprovisioning": report}}})
    approved = (await eventually(lambda: world.finished(count=3)))[-1]
    assert (approved["spec"]["trigger"], approved["status"]["phase"]) == ("Manual", "Succeeded")
    assert approved["status"]["summary"]["users"]["deprovisioned"] == 2
    assert [world.scim.user_by_name(email)["active"] for email in leaving] == [False, False]
    await eventually(lambda: world.status().get("lastHandledApproval") == report or None)

    await world.patch("acme", {"metadata": {"annotations": {"gwsync.io/approve-deprovisioning": report}}})
    await world.ticks(5)  # the same value again: the schedule looked five more times and did not sync
    assert triggers(world) == ["Initial", "Manual", "Manual"]
