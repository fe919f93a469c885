"""SyncReports in the cluster: one per sync, from start to finish, and the history kept.

A report is created when a sync starts (so ``kubectl get sreport`` shows it running), owned
by its GoogleProvisioning and labelled with its name, and finished with the phase, the
counts, up to 200 notable items in status and every item in the item store. Reports left
Running by a dead operator become Interrupted, and only ``history.keep`` reports are kept.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Container, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from gwsync.api import constants
from gwsync.api.provisioning import LastSync, SyncSummary
from gwsync.api.report import (
    ACTIVE_PHASES,
    ITEM_STORE_FORMAT,
    MAX_STATUS_ITEMS,
    TERMINAL_PHASES,
    Action,
    ReportItem,
    Result,
    SyncReport,
    Trigger,
)
from gwsync.kube import blobs
from gwsync.kube import items as item_store
from gwsync.kube import labels as provisioning_labels
from gwsync.kube.client import REPORTS, Kube, KubeApiError, KubeConflict
from gwsync.kube.status import patch_status

log = logging.getLogger(__name__)
MAX_NAME_ATTEMPTS: Final = 100
# What the status carries is bounded by bytes, not only by count: a SyncReport must stay well
# under etcd's 1.5 MiB object limit (and be quick to watch and print), whatever the target's
# error messages weigh. The item store keeps every item with its full details.
MAX_STATUS_DETAILS: Final = 1024
MAX_STATUS_ITEMS_BYTES: Final = 256 * 1024
ELLIPSIS: Final = "…"

INTERRUPTED_MESSAGE: Final = (
    "The operator stopped while this sync was running; items already applied stay applied "
    "and the next sync picks up the rest."
)
_NAME_TAIL: Final = re.compile(r"-(\d{8}-\d{6})(?:-(\d+))?$")


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with whole seconds, as Kubernetes writes times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_duration(delta: timedelta) -> str:
    """Go's duration style, to whole seconds: 45s, 1m12s, 2h0m5s."""
    seconds = max(0, round(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{minutes}m{seconds}s"
    return f"{seconds}s"


def report_name(provisioning: str, started: datetime, attempt: int = 1) -> str:
    """``<provisioning>-<UTC yyyymmdd-hhmmss>``, with ``-2``, ``-3``... when that is taken."""
    suffix = "-" + started.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    if attempt > 1:
        suffix += f"-{attempt}"
    return blobs.fit_name(provisioning, suffix)


def report_labels(provisioning: str) -> dict[str, str]:
    return provisioning_labels.provisioning_labels(provisioning)


def status_item(item: ReportItem) -> ReportItem:
    """The item as the status shows it: details cut to MAX_STATUS_DETAILS characters."""
    if len(item.details) <= MAX_STATUS_DETAILS:
        return item
    return item.model_copy(update={"details": item.details[: MAX_STATUS_DETAILS - 1] + ELLIPSIS})


class NotableItems:
    """The status's short list: failed items first, then changed ones, at most 200 and 256 KiB."""

    def __init__(self, limit: int = MAX_STATUS_ITEMS, max_bytes: int = MAX_STATUS_ITEMS_BYTES) -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        self.failed: list[ReportItem] = []
        self.changed: list[ReportItem] = []

    def add(self, item: ReportItem) -> None:
        if item.result is Result.FAILED:
            if len(self.failed) < self.limit:
                self.failed.append(item)
        elif (item.action is not Action.UNCHANGED or item.data_changed) and len(self.changed) < self.limit:
            self.changed.append(item)

    def observe(self, source: Iterable[ReportItem]) -> Iterator[ReportItem]:
        for item in source:
            self.add(item)
            yield item

    def items(self) -> list[ReportItem]:
        return [ReportItem.model_validate(wire) for wire in self.wire()]

    def wire(self) -> list[dict[str, Any]]:
        """The notable items as the status stores them, within the count and byte bounds."""
        kept: list[dict[str, Any]] = []
        used = 2  # the brackets of the JSON list
        for item in (self.failed + self.changed)[: self.limit]:
            wire = status_item(item).to_wire()
            size = blobs.serialized_size(wire) + 1  # and its comma
            if used + size > self.max_bytes:
                break
            kept.append(wire)
            used += size
        return kept


def start_report(
    kube: Kube,
    provisioning: Mapping[str, Any],
    trigger: Trigger,
    *,
    now: datetime,
    dry_run: bool | None = None,
    config_generation: int | None = None,
) -> SyncReport:
    """Create the SyncReport of a sync that starts now; it is Running when this returns.

    ``provisioning`` is the GoogleProvisioning as read from the API server (it must carry
    metadata.uid, for the ownerReference); dryRun and generation default to its own.
    """
    meta = provisioning.get("metadata") or {}
    namespace, owner_name = str(meta.get("namespace", "default")), str(meta["name"])
    owner = blobs.Owner.of(provisioning)
    if dry_run is None:
        dry_run = bool((provisioning.get("spec") or {}).get("dryRun", False))
    if config_generation is None:
        config_generation = int(meta.get("generation", 0))
    spec = {
        "provisioningRef": {"name": owner_name},
        "trigger": str(trigger),
        "dryRun": dry_run,
        "configGeneration": config_generation,
    }
    created = _create_uniquely(kube, namespace, owner_name, owner, spec, now)
    running = patch_status(
        kube,
        REPORTS,
        namespace,
        created["metadata"]["name"],
        lambda _current: {"phase": "Running", "startTime": timestamp(now)},
    )
    return SyncReport.model_validate(running)


def _create_uniquely(
    kube: Kube, namespace: str, owner_name: str, owner: blobs.Owner, spec: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    for attempt in range(1, MAX_NAME_ATTEMPTS + 1):
        body = {
            "apiVersion": constants.API_VERSION,
            "kind": constants.REPORT_KIND,
            "metadata": {
                "name": report_name(owner_name, now, attempt),
                "namespace": namespace,
                "labels": report_labels(owner_name),
                "annotations": provisioning_labels.provisioning_annotations(owner_name),
                "ownerReferences": [owner.reference()],
            },
            "spec": dict(spec),
        }
        try:
            return kube.create(REPORTS, namespace, body)
        except KubeConflict:
            continue
    raise KubeConflict(
        f"SyncReport names {report_name(owner_name, now)}[-2..{MAX_NAME_ATTEMPTS}] are all taken in "
        f"{namespace}: delete old reports or lower history.keep",
        status=409,
        reason="AlreadyExists",
    )


def _report_owner(report: SyncReport) -> blobs.Owner:
    as_stored = {"apiVersion": report.api_version, "kind": report.kind, "metadata": report.metadata}
    return blobs.Owner.of(as_stored)


def _item_labels(report: SyncReport) -> dict[str, str]:
    name = str(report.metadata["name"])
    labels = report_labels(report.spec.provisioning_ref.name)
    if (
        len(name) <= provisioning_labels.MAX_LABEL_VALUE
    ):  # label values are limited; the annotation still names it
        labels[constants.REPORT_LABEL] = name
    return labels


def finish_report(
    kube: Kube,
    report: SyncReport,
    *,
    phase: str,
    message: str,
    summary: SyncSummary,
    items: Iterable[ReportItem],
    now: datetime,
) -> SyncReport:
    """Store every item, then complete the report's status (phase, counts, notable items).

    The report must end whatever fails here: writes that may pass are retried; when the items
    cannot be stored, the report ends Failed without an item store and says why; when its
    full status cannot be written, it ends with the phase and the message alone. Only when
    even that fails (the API server is gone) does this raise.
    """
    if phase not in TERMINAL_PHASES:
        endings = ", ".join(sorted(TERMINAL_PHASES))
        raise ValueError(f"phase {phase!r} does not end a sync: use one of {endings}")
    namespace, name = str(report.metadata.get("namespace", "default")), str(report.metadata["name"])
    notable = NotableItems()
    seen = [0]

    def counted() -> Iterator[ReportItem]:
        for item in notable.observe(items):
            seen[0] += 1
            yield item

    observed = counted()
    try:
        written = item_store.write_items(
            kube, namespace, name, observed, owner=_report_owner(report), labels=_item_labels(report)
        )
    except KubeApiError as exc:
        log.warning("The items of SyncReport %s/%s could not be stored: %s", namespace, name, exc)
        for _ in observed:  # the notable items are still wanted, and the count
            pass
        written = item_store.WrittenItems(count=seen[0])
        phase = "Failed"
        message = (
            f"{message} The report's items could not be stored ({exc}); the status lists the most notable."
        )
    started = report.status.start_time or now
    ending: dict[str, Any] = {
        "phase": phase,
        "message": message.strip(),
        "completionTime": timestamp(now),
        "duration": format_duration(now - started),
    }
    status = {
        **ending,
        "summary": summary.to_wire(),
        "itemCount": written.count,
        "items": notable.wire(),
        "itemStore": {"configMaps": written.config_maps, "format": ITEM_STORE_FORMAT},
    }
    try:
        finished = blobs.retried(
            lambda: patch_status(kube, REPORTS, namespace, name, lambda _current: status)
        )
    except KubeApiError as exc:
        log.warning("SyncReport %s/%s could not be completed in full: %s", namespace, name, exc)
        ending["phase"] = "Failed"
        ending["message"] = f"{ending['message']} The report's full status could not be written ({exc})."
        ending["summary"] = summary.to_wire()
        finished = blobs.retried(
            lambda: patch_status(kube, REPORTS, namespace, name, lambda _current: ending)
        )
    return SyncReport.model_validate(finished)


def last_sync(report: SyncReport) -> LastSync:
    """What a GoogleProvisioning's status.lastSync says about this report."""
    return LastSync(
        report=str(report.metadata.get("name", "")),
        phase=report.status.phase,
        trigger=str(report.spec.trigger),
        start_time=report.status.start_time,
        completion_time=report.status.completion_time,
        summary=report.status.summary if report.status.phase not in ACTIVE_PHASES else None,
    )


def _order(report: Mapping[str, Any]) -> tuple[str, str, int, str]:
    meta = report.get("metadata") or {}
    name = str(meta.get("name", ""))
    tail = _NAME_TAIL.search(name)
    stamp, attempt = (tail.group(1), int(tail.group(2) or 1)) if tail else ("", 0)
    return (str(meta.get("creationTimestamp", "")), stamp, attempt, name)


def list_report_objects(kube: Kube, namespace: str, provisioning: str | None) -> list[dict[str, Any]]:
    """The SyncReports of a GoogleProvisioning (or of the namespace: None) as stored, oldest first."""
    if provisioning is None:
        return sorted(kube.list(REPORTS, namespace, None), key=_order)
    found = kube.list(REPORTS, namespace, report_labels(provisioning))
    # The label of a long name is a truncated name and a hash: spec.provisioningRef says whose.
    mine = [
        r for r in found if ((r.get("spec") or {}).get("provisioningRef") or {}).get("name") == provisioning
    ]
    return sorted(mine, key=_order)


def list_reports(kube: Kube, namespace: str, provisioning: str | None = None) -> list[SyncReport]:
    """The SyncReports of a GoogleProvisioning (or of the whole namespace), oldest first."""
    return [SyncReport.model_validate(obj) for obj in list_report_objects(kube, namespace, provisioning)]


def read_report(kube: Kube, namespace: str, name: str) -> SyncReport:
    return SyncReport.model_validate(kube.get(REPORTS, namespace, name))


def iter_report_items(kube: Kube, report: SyncReport) -> Iterator[ReportItem]:
    """Every item of a finished report, streamed from its item store."""
    store = report.status.item_store
    namespace = str(report.metadata.get("namespace", "default"))
    return item_store.iter_items(kube, namespace, store.config_maps if store else [])


def _phase(report: Mapping[str, Any]) -> str:
    return str((report.get("status") or {}).get("phase") or "Pending")


def interrupt_reports(
    kube: Kube,
    namespace: str,
    provisioning: str,
    *,
    now: datetime,
    running: Container[str] = (),
) -> list[str]:
    """Mark Pending/Running reports whose sync is not running (not in ``running``) Interrupted."""
    interrupted = []
    for report in list_report_objects(kube, namespace, provisioning):
        name = report["metadata"]["name"]
        if _phase(report) in ACTIVE_PHASES and name not in running:
            patch_status(kube, REPORTS, namespace, name, lambda current: _interruption(current, now))
            interrupted.append(name)
    return interrupted


def _interruption(current: Mapping[str, Any], now: datetime) -> dict[str, Any] | None:
    if _phase(current) not in ACTIVE_PHASES:
        return None  # it finished between the list and now: leave it as it is
    start = (current.get("status") or {}).get("startTime")
    started = datetime.fromisoformat(start) if start else now
    return {
        "phase": "Interrupted",
        "message": INTERRUPTED_MESSAGE,
        "completionTime": timestamp(now),
        "duration": format_duration(now - started),
    }


def prune_reports(
    kube: Kube, namespace: str, provisioning: str, keep: int, *, running: Container[str] = ()
) -> list[str]:
    """Delete all but the newest ``keep`` reports (never a running one); returns the deleted names.

    Their item ConfigMaps are owned by them, so the garbage collector removes them; they are
    deleted here too (their names are in the status, so it costs one request each) so that
    nothing lingers where no garbage collector runs, such as in tests.
    """
    reports = list_report_objects(kube, namespace, provisioning)
    excess = reports[: max(0, len(reports) - keep)]
    deleted = []
    for report in excess:
        name = report["metadata"]["name"]
        if name in running or _phase(report) in ACTIVE_PHASES:
            continue
        kube.delete(REPORTS, namespace, name)
        store = (report.get("status") or {}).get("itemStore") or {}
        blobs.delete_config_maps(kube, namespace, store.get("configMaps") or [])
        deleted.append(name)
    return deleted
