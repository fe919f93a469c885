"""SyncReports in the cluster: started, finished with every item stored, interrupted, pruned."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gwsync.api.provisioning import SyncSummary, UserCounts
from gwsync.api.report import Action, FieldChange, ItemType, ReportItem, Result, SyncReport, Trigger
from gwsync.kube import reports
from gwsync.kube.blobs import MAX_CONFIG_MAP_BYTES, serialized_size
from gwsync.kube.client import Kube
from gwsync.testing.kube import CONFIGMAPS, REPORTS, KubeEmulator, KubeFault

START = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
GIVEN = ["Zoé", "Renée", "José", "Björn", "Åsa", "François", "Łukasz", "Chloé", "Ngozi", "Hiroshi", "Mía"]
FAMILY = ["Dupré", "Müller", "Gonçalves", "Østergaard", "Nguyễn", "Kowalczyk", "Søndergård", "Peña"]


def people(count: int, seed: int = 7) -> list[ReportItem]:
    """Realistic items: accented names, Google ids, SCIM uuids; a few failures and changes."""
    rng = random.Random(seed)
    items = []
    for n in range(count):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        email = f"{given.lower()}.{family.lower()}.{n}@acme.com"
        roll = n % 100
        if roll == 0:
            action, result, details = Action.CREATE, Result.FAILED, "409 uniqueness: userName already taken"
        elif roll < 4:
            action, result, details = Action.UPDATE, Result.SUCCEEDED, ""
        else:
            action, result, details = Action.UNCHANGED, Result.SUCCEEDED, ""
        changes = [FieldChange(field="name.familyName", from_="Old", to=family)] if roll and roll < 4 else []
        items.append(
            ReportItem(
                type=ItemType.USER,
                key=email,
                source_id=str(rng.randrange(10**20, 10**21)),
                target_id=str(uuid.UUID(int=rng.getrandbits(128))),
                action=action,
                result=result,
                data_changed=bool(changes),
                changes=changes,
                details=details or f"{given} {family}",
            )
        )
    return items


def finish(kube: Kube, report: SyncReport, items: list[ReportItem], minutes: float = 0.0) -> SyncReport:
    return reports.finish_report(
        kube,
        report,
        phase="Succeeded",
        message="Synced.",
        summary=SyncSummary(users=UserCounts(unchanged=len(items))),
        items=items,
        now=(report.status.start_time or START) + timedelta(minutes=minutes),
    )


def test_a_30000_user_sync_stores_every_item_in_config_maps_under_900_kib(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    items = people(30_000)
    started = reports.start_report(kube, acme, Trigger.SCHEDULED, now=START)
    finished = finish(kube, started, items, minutes=1.2)

    store = finished.status.item_store
    assert store is not None and store.format == "jsonl+gzip"
    assert finished.status.item_count == 30_000
    assert len(store.config_maps) >= 2, "the data set must really exercise chunking"
    name = finished.metadata["name"]
    for config_map_name in store.config_maps:
        stored = emulator.read(CONFIGMAPS, "default", config_map_name)
        assert stored is not None
        assert serialized_size(stored) < MAX_CONFIG_MAP_BYTES
        (owner,) = stored["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"]) == ("SyncReport", name, finished.metadata["uid"])
        assert stored["metadata"]["labels"]["gwsync.io/provisioning"] == "acme"

    assert list(reports.iter_report_items(kube, reports.read_report(kube, "default", name))) == items
    assert finished.status.duration == "1m12s"
    assert reports.last_sync(finished).to_wire() == {
        "report": name,
        "phase": "Succeeded",
        "trigger": "Scheduled",
        "startTime": "2025-03-14T09:26:53Z",
        "completionTime": "2025-03-14T09:28:05Z",
        "summary": SyncSummary(users=UserCounts(unchanged=30_000)).to_wire(),
    }


def test_status_keeps_200_notable_items_failed_first(kube: Kube, acme: dict[str, Any]) -> None:
    items = people(30_000)
    finished = finish(kube, reports.start_report(kube, acme, Trigger.MANUAL, now=START), items)

    notable = finished.status.items
    failed = [item for item in items if item.result is Result.FAILED]
    assert len(notable) == 200
    assert len(failed) == 300
    assert notable == failed[:200]


def test_notable_items_are_failed_then_changed_and_never_unchanged(kube: Kube, acme: dict[str, Any]) -> None:
    items = people(1_000)
    finished = finish(kube, reports.start_report(kube, acme, Trigger.MANUAL, now=START), items)

    notable = finished.status.items
    failed = [item for item in items if item.result is Result.FAILED]
    changed = [
        item for item in items if item.result is not Result.FAILED and item.action is not Action.UNCHANGED
    ]
    assert notable == failed + changed
    assert finished.status.item_count == 1_000


def test_a_started_report_is_running_owned_and_labelled(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    report = reports.start_report(kube, acme, Trigger.INITIAL, now=START)

    stored = emulator.read(REPORTS, "default", "acme-20250314-092653")
    assert stored is not None
    assert stored["metadata"]["labels"] == {"gwsync.io/provisioning": "acme"}
    assert stored["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "provisioning.gwsync.io/v1alpha1",
            "kind": "GoogleProvisioning",
            "name": "acme",
            "uid": acme["metadata"]["uid"],
            "controller": True,
        }
    ]
    assert stored["spec"] == {
        "provisioningRef": {"name": "acme"},
        "trigger": "Initial",
        "dryRun": False,
        "configGeneration": 1,
    }
    assert stored["status"] == {"phase": "Running", "startTime": "2025-03-14T09:26:53Z"}
    assert report.status.phase == "Running"


def test_two_reports_in_the_same_second_get_distinct_names(kube: Kube, acme: dict[str, Any]) -> None:
    names = [reports.start_report(kube, acme, Trigger.MANUAL, now=START).metadata["name"] for _ in range(3)]
    assert names == ["acme-20250314-092653", "acme-20250314-092653-2", "acme-20250314-092653-3"]


def test_finishing_with_a_running_phase_is_refused(kube: Kube, acme: dict[str, Any]) -> None:
    report = reports.start_report(kube, acme, Trigger.MANUAL, now=START)
    with pytest.raises(ValueError) as error:
        reports.finish_report(
            kube, report, phase="Running", message="", summary=SyncSummary(), items=[], now=START
        )
    assert str(error.value) == (
        "phase 'Running' does not end a sync: use one of "
        "Blocked, Failed, Interrupted, PartiallySucceeded, Succeeded"
    )


def test_history_keep_3_leaves_the_three_newest_reports_and_their_items(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    finished = [
        finish(
            kube,
            reports.start_report(kube, acme, Trigger.SCHEDULED, now=START + timedelta(days=day)),
            people(50),
        )
        for day in range(5)
    ]

    deleted = reports.prune_reports(kube, "default", "acme", keep=3)

    names = [report.metadata["name"] for report in finished]
    assert deleted == names[:2]
    assert [r.metadata["name"] for r in reports.list_reports(kube, "default", "acme")] == names[2:]
    remaining_maps = {cm["metadata"]["name"] for cm in emulator.list_objects(CONFIGMAPS, "default")}
    for report in finished:
        store = report.status.item_store
        assert store is not None
        kept = report.metadata["name"] in names[2:]
        assert all((name in remaining_maps) == kept for name in store.config_maps)


def test_pruning_never_deletes_a_running_report(kube: Kube, acme: dict[str, Any]) -> None:
    running = reports.start_report(kube, acme, Trigger.INITIAL, now=START)
    for day in range(1, 4):
        finish(kube, reports.start_report(kube, acme, Trigger.SCHEDULED, now=START + timedelta(days=day)), [])

    deleted = reports.prune_reports(kube, "default", "acme", keep=2)

    assert running.metadata["name"] not in deleted
    assert len(deleted) == 1


def test_reports_left_running_become_interrupted(kube: Kube, acme: dict[str, Any]) -> None:
    done = finish(kube, reports.start_report(kube, acme, Trigger.INITIAL, now=START), people(3))
    stale = reports.start_report(kube, acme, Trigger.SCHEDULED, now=START + timedelta(days=1))
    live = reports.start_report(kube, acme, Trigger.MANUAL, now=START + timedelta(days=2))
    stopped_at = START + timedelta(days=1, minutes=5, seconds=30)

    interrupted = reports.interrupt_reports(
        kube, "default", "acme", now=stopped_at, running={live.metadata["name"]}
    )

    assert interrupted == [stale.metadata["name"]]
    after = {r.metadata["name"]: r.status for r in reports.list_reports(kube, "default", "acme")}
    assert after[stale.metadata["name"]].phase == "Interrupted"
    assert after[stale.metadata["name"]].duration == "5m30s"
    assert after[stale.metadata["name"]].message == reports.INTERRUPTED_MESSAGE
    assert after[live.metadata["name"]].phase == "Running"
    assert after[done.metadata["name"]].phase == "Succeeded"


def test_reports_of_other_provisionings_are_left_alone(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    from gwsync.testing.kube import PROVISIONINGS

    globex = emulator.seed(PROVISIONINGS, {**acme, "metadata": {"name": "globex", "namespace": "default"}})
    reports.start_report(kube, globex, Trigger.INITIAL, now=START)
    reports.start_report(kube, acme, Trigger.INITIAL, now=START)

    assert reports.interrupt_reports(kube, "default", "acme", now=START) == ["acme-20250314-092653"]
    assert [r.status.phase for r in reports.list_reports(kube, "default", "globex")] == ["Running"]


def test_long_error_details_are_cut_in_status_and_whole_in_the_item_store(
    kube: Kube, acme: dict[str, Any]
) -> None:
    # 200 failures carrying a target's 7.5 KB error page: 1.5 MiB of status, over etcd's limit.
    detail = "The target refused the user: " + "x" * 7_500
    items = [
        ReportItem(
            type=ItemType.USER,
            key=f"u{n}@acme.com",
            action=Action.CREATE,
            result=Result.FAILED,
            details=detail,
        )
        for n in range(200)
    ]
    finished = finish(kube, reports.start_report(kube, acme, Trigger.MANUAL, now=START), items)

    assert finished.status.phase == "Succeeded"
    shown = finished.status.items
    assert shown and all(len(item.details) == reports.MAX_STATUS_DETAILS for item in shown)
    assert shown[0].details == detail[: reports.MAX_STATUS_DETAILS - 1] + "…"
    assert serialized_size({"items": [item.to_wire() for item in shown]}) <= reports.MAX_STATUS_ITEMS_BYTES
    stored = list(reports.iter_report_items(kube, finished))
    assert stored == items  # every item, with its full details


def test_a_transient_500_on_an_item_config_map_is_retried(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    emulator.faults.append(KubeFault("POST", CONFIGMAPS, times=2))
    finished = finish(kube, reports.start_report(kube, acme, Trigger.MANUAL, now=START), people(10))

    assert finished.status.phase == "Succeeded"
    assert list(reports.iter_report_items(kube, finished)) == people(10)


def test_items_that_cannot_be_stored_end_the_report_failed_with_its_notable_items(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    emulator.faults.append(KubeFault("POST", CONFIGMAPS, times=0))
    items = people(1_000)
    finished = finish(kube, reports.start_report(kube, acme, Trigger.MANUAL, now=START), items)

    assert finished.status.phase == "Failed"
    assert finished.status.message.startswith(
        "Synced. The report's items could not be stored (creating ConfigMap"
    )
    assert finished.status.item_count == 1_000
    assert finished.status.item_store is not None and finished.status.item_store.config_maps == []
    failed = [i for i in items if i.result is Result.FAILED]
    assert finished.status.items[: len(failed)] == failed  # still failed first


def test_a_status_the_api_server_refuses_still_ends_the_report(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    started = reports.start_report(kube, acme, Trigger.MANUAL, now=START)
    emulator.faults.append(KubeFault("PATCH", REPORTS, subresource="status", times=4))  # every retry
    finished = finish(kube, started, people(10))

    assert finished.status.phase == "Failed"
    assert "The report's full status could not be written" in finished.status.message
    assert finished.status.items == [] and finished.status.completion_time is not None


def test_an_item_with_a_lone_surrogate_is_stored_with_every_other_item(
    kube: Kube, acme: dict[str, Any]
) -> None:
    # Made without validation, as the planner makes most items: the text is whatever reached it.
    hostile = ReportItem.model_construct(
        type=ItemType.USER,
        key="lone\ud800@acme.com",
        source_id="104",
        target_id="t-\udfff",
        action=Action.UPDATE,
        result=Result.FAILED,
        data_changed=True,
        changes=[FieldChange.model_construct(field="name.givenName", from_="Lo\ud800ne", to="Lone")],
        details="Target refused: \ud800",
    )
    items = [*people(3), hostile]
    finished = finish(kube, reports.start_report(kube, acme, Trigger.MANUAL, now=START), items)

    assert (finished.status.phase, finished.status.message, finished.status.item_count) == (
        "Succeeded",
        "Synced.",
        4,
    )
    [notable] = [item for item in finished.status.items if item.source_id == "104"]
    stored = list(reports.iter_report_items(kube, finished))
    assert stored[:3] == people(3)
    for item in (notable, stored[3]):
        assert (item.key, item.target_id, item.details) == (
            "lone\ufffd@acme.com",
            "t-\ufffd",
            "Target refused: \ufffd",
        )
        assert item.changes[0].from_ == "Lo\ufffdne"
