"""Kopf handlers of GoogleProvisioning, kept thin: decisions are pure, effects are wired here.

- create/update/resume: record the generation seen; before the first sync say
  Ready=Unknown/AwaitingFirstSync; after a spec change say ConfigurationPending.
- resume (operator start): reports left Running by a dead process become Interrupted, so
  the schedule retries them.
- a short timer per object: one active integration per target, then "is a sync due now?"
  (controller/schedule.py). Kopf never runs two timer calls of one object at once in one
  process, and a sync holds status.syncLock (controller/locking.py) so that no other replica
  starts one meanwhile (a paused leader's sync runs on); a request made during a sync is
  seen (once) by the next tick.
"""

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, TypedDict, Unpack, cast

import kopf
from pydantic import ValidationError

from gwsync.api import constants as c
from gwsync.api.provisioning import GoogleProvisioningSpec, GoogleProvisioningStatus
from gwsync.api.report import ACTIVE_PHASES, SyncReport, Trigger
from gwsync.controller import metrics
from gwsync.controller.conditions import set_conditions
from gwsync.controller.exclusivity import Claim, active_holder, authentication_time, inactive_message
from gwsync.controller.locking import LEASE, held_by_another, process_identity, sync_lock, wall_clock
from gwsync.controller.schedule import RETRY_BASE, next_sync
from gwsync.controller.status_writer import StatusWriter
from gwsync.controller.syncing import SyncResult, run_provisioning_sync
from gwsync.kube import reports as kube_reports
from gwsync.kube.client import Kube, KubeApiError, KubeNotFound
from gwsync.kube.ledger_key import DEFAULT_OPERATOR_NAMESPACE

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)
RESOURCE = (c.GROUP, c.VERSION, c.PROVISIONING_PLURAL)
SUCCESS_PHASES = frozenset({"Succeeded", "PartiallySucceeded"})
WARNING_EVENTS = {"Failed": "SyncFailed", "Blocked": "DeprovisioningBlocked"}
"""The Warning Event of a sync that ended in this phase; the other phases get a Normal SyncSucceeded."""
READY_REASONS = {
    "Succeeded": ("True", "Succeeded"),
    "PartiallySucceeded": ("False", "ItemsFailed"),
    "Blocked": ("False", "DeprovisioningBlocked"),
    "Failed": ("False", "SyncFailed"),
}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def sync_now_command(namespace: str, name: str) -> str:
    return f'kubectl annotate gprov/{name} -n {namespace} {c.SYNC_REQUESTED_AT}="$(date -Is)" --overwrite'


def pending_configuration(
    generation: int | None, next_sync_time: datetime | None, namespace: str, name: str
) -> tuple[str, str, str]:
    """ConfigurationPending=True: when the changed spec applies, and how to apply it now."""
    when = iso(next_sync_time) if next_sync_time else "the next scheduled sync"
    return (
        "True",
        "SyncPending",
        f"The configuration changed (generation {generation}); it applies at the next sync "
        f"({when}). To sync now: {sync_now_command(namespace, name)}",
    )


def acknowledgement(
    *, generation: int | None, status: Mapping[str, Any], now: datetime, namespace: str = "", name: str = ""
) -> dict[str, Any]:
    """The status patch for a generation seen: AwaitingFirstSync, or ConfigurationPending."""
    parsed = GoogleProvisioningStatus.model_validate(status or {})
    changes: dict[str, tuple[str, str, str]] = {}
    if parsed.last_sync is None:
        changes[c.READY] = (
            "Unknown",
            c.AWAITING_FIRST_SYNC,
            "The configuration was accepted; no sync has completed yet.",
        )
    elif parsed.synced_generation is not None and generation != parsed.synced_generation:
        changes[c.CONFIGURATION_PENDING] = pending_configuration(
            generation, parsed.next_sync_time, namespace, name
        )
    conditions = set_conditions(status, changes, now=now, generation=generation)
    return {"observedGeneration": generation, "conditions": conditions}


def claim_of(body: Mapping[str, Any]) -> Claim:
    """The object's claim on its target, authenticated only by what the operator wrote in status."""
    meta, spec = body["metadata"], body.get("spec") or {}
    scim = (spec.get("target") or {}).get("scim") or {}
    created = str(meta.get("creationTimestamp", ""))
    claim = Claim(meta["namespace"], meta["name"], created, scim.get("url", ""), scim.get("accountId"))
    when = authentication_time(claim, body.get("status") or {}, meta.get("generation"))
    return replace(claim, authenticated_at=when)


def completion_status(
    result: SyncResult,
    *,
    status: Mapping[str, Any],
    spec: GoogleProvisioningSpec,
    generation: int | None,
    synced_generation: int | None,
    now: datetime,
    namespace: str = "",
    name: str = "",
    retry_base: timedelta = RETRY_BASE,
) -> dict[str, Any]:
    """The GoogleProvisioning status after a sync: last sync, next sync, conditions, ledger."""
    before = GoogleProvisioningStatus.model_validate(status or {})
    failed = result.phase == "Failed"
    patch: dict[str, Any] = {
        "lastSync": kube_reports.last_sync(result.report).to_wire(),
        "failedAttempts": before.failed_attempts + 1 if failed else 0,
        "syncedGeneration": synced_generation,
    }
    if result.phase in SUCCESS_PHASES:
        patch["lastSuccessfulSyncTime"] = iso(now)
    if result.google is not None:
        patch["google"] = result.google.to_wire()
    if result.ledger is not None:
        patch["ledger"] = result.ledger.to_wire()
    if result.ledger_generation is not None:  # never lowered: a save numbers above the recorded one
        patch.setdefault("ledger", {})["generation"] = result.ledger_generation
    after = before.model_copy(
        update={
            "last_sync": kube_reports.last_sync(result.report),
            "failed_attempts": patch["failedAttempts"],
        }
    )
    upcoming = next_sync(spec, after, {}, now, retry_base)
    patch["nextSyncTime"] = iso(upcoming.due) if upcoming.due else None
    ready_state, ready_reason = READY_REASONS.get(result.phase, ("False", "SyncFailed"))
    changes = dict(result.conditions)
    changes[c.READY] = (ready_state, ready_reason, result.message)
    if synced_generation == generation:
        changes[c.CONFIGURATION_PENDING] = ("False", "Applied", "The current configuration has been synced.")
    elif synced_generation is not None:  # the spec changed while this sync ran with the old one
        due = upcoming.due
        changes[c.CONFIGURATION_PENDING] = pending_configuration(generation, due, namespace, name)
    patch["conditions"] = set_conditions(status, changes, now=now, generation=generation)
    return patch


def announce_pending(body: kopf.Body, written: Mapping[str, Any], now: datetime) -> None:
    """The ConfigurationPending Event, once: when the condition has just turned True."""
    generation = (written.get("metadata") or {}).get("generation")
    conditions = (written.get("status") or {}).get("conditions") or []
    pending = next((x for x in conditions if x["type"] == c.CONFIGURATION_PENDING), None)
    if (
        pending is not None
        and pending["status"] == "True"
        and pending["observedGeneration"] == generation
        and pending["lastTransitionTime"] == iso(now)
    ):
        kopf.event(body, type="Normal", reason="ConfigurationPending", message=pending["message"])


def permission_denied(exc: KubeApiError) -> str:
    """The condition message for a 403: the server's sentence names the verb and the resource."""
    return (
        f"The operator is not allowed to do what a sync needs: {exc}. Grant its ServiceAccount the "
        "rules of manifests/rbac.yaml (docs/operations.md lists them), then the next tick retries."
    )


class HandlerOptions(TypedDict, total=False):
    """How the handlers behave; `gwsync run` sets each from its flag, tests and the demo too.

    `tick`: seconds between two checks of whether a sync is due (default 10). `retry_base`:
    the first Retry's delay. `allow_endpoint_overrides`: sync specs that send credentials to
    other endpoints than the defaults (controller/endpoints.py). `lease`: how long a dead
    process's sync lock holds. `keyless_accounts`: namespace (or `*`) -> the keyless service
    accounts it may use. `cluster_wide_exclusivity`: one active integration per target in the
    whole cluster, not per namespace (controller/exclusivity.py). `operator_namespace`: where
    the ledger signing key lives.
    """

    tick: float
    retry_base: timedelta
    allow_endpoint_overrides: bool
    lease: timedelta
    keyless_accounts: Mapping[str, frozenset[str]]
    cluster_wide_exclusivity: bool
    operator_namespace: str


def register_provisioning_handlers(
    registry: kopf.OperatorRegistry,
    *,
    clock: Clock,
    kube: Kube,
    **options: Unpack[HandlerOptions],
) -> None:
    """Register the GoogleProvisioning handlers on `registry`, reading time from `clock`.

    Every status write is computed from a fresh read (kube/status.py), never from the body
    Kopf handed over: the sync, the timer and these handlers all write conditions.
    """
    tick = options.get("tick", 10.0)
    retry_base = options.get("retry_base", RETRY_BASE)
    allow_endpoint_overrides = options.get("allow_endpoint_overrides", False)
    lease = options.get("lease", LEASE)
    keyless_accounts = options.get("keyless_accounts", {})
    cluster_wide_exclusivity = options.get("cluster_wide_exclusivity", False)
    operator_namespace = options.get("operator_namespace", DEFAULT_OPERATOR_NAMESPACE)
    me = process_identity()  # this process, as holder of sync locks (controller/locking.py)

    @kopf.on.resume(*RESOURCE, id="acknowledge", registry=registry)
    @kopf.on.create(*RESOURCE, id="acknowledge", registry=registry)
    @kopf.on.update(*RESOURCE, id="acknowledge", registry=registry, field="spec")
    async def acknowledge(
        body: kopf.Body, meta: kopf.Meta, namespace: str | None, name: str, **_: Any
    ) -> None:
        generation = meta.get("generation")
        now = clock()

        def change(current: dict[str, Any]) -> dict[str, Any]:
            status = current.get("status") or {}
            return acknowledgement(
                generation=generation, status=status, now=now, namespace=str(namespace), name=name
            )

        written = await StatusWriter(kube, str(namespace), name).patch(change)
        announce_pending(body, written, now)

    @kopf.index(*RESOURCE, id="claims", registry=registry)
    def claims(body: kopf.Body, **_: Any) -> dict[str, Claim]:
        claim = claim_of(body)
        return {claim.target: claim}

    @kopf.timer(*RESOURCE, id="schedule", interval=tick, registry=registry)
    async def schedule(namespace: str | None, name: str, memo: kopf.Memo, **kwargs: Any) -> None:
        assert namespace is not None
        try:
            await tick_once(namespace, name, memo, **kwargs)
            memo["forbidden"] = 0
        except KubeApiError as exc:
            # The API server refused or could not be reached: one line, no traceback, and
            # the next tick (not Kopf's default minute) tries again.
            if exc.status == 403:
                await _report_forbidden(StatusWriter(kube, namespace, name), kwargs["body"], exc, clock)
                # A restarted API server answers 403 for a few seconds while it loads RBAC: try
                # again soon, then back off to every 30 s while the permission stays missing.
                streak = int(memo.get("forbidden") or 0)
                memo["forbidden"] = streak + 1
                backoff = min(30.0, max(tick, 2.0**streak))
                raise kopf.TemporaryError(permission_denied(exc), delay=backoff) from None
            raise kopf.TemporaryError(str(exc), delay=tick) from None

    async def tick_once(namespace: str, name: str, memo: kopf.Memo, **kwargs: Any) -> None:
        """The tick's steps, in order; each returns early, its condition written, to stop it."""
        claims = cast(kopf.Index[str, Claim], kwargs["claims"])  # the index below, by its id
        writer = StatusWriter(kube, namespace, name)
        seen = await read_fresh(writer, clock)
        if seen is None:
            return
        spec = await valid_spec(writer, seen)
        if spec is None:
            return
        if not await is_active(writer, seen, claims, cluster_wide=cluster_wide_exclusivity):
            return
        upcoming = next_sync(spec, seen.parsed, seen.annotations, seen.now, retry_base)
        if not upcoming.is_due(seen.now):
            await publish_next_sync(writer, seen, upcoming.due)
            if memo.get("recovered"):  # not on the first tick of this process: see below
                return
        if held_by_another(seen.status, me, wall_clock(), lease) is not None:
            return  # another replica's sync runs (a paused leader's): it records its own outcome
        async with sync_lock(kube, namespace, name, me, lease=lease) as locked:
            if not locked:
                return
            # No sync of this object runs anywhere now: a report still Running is an orphan.
            memo["recovered"] = True
            if await _recover_interrupted(writer, clock) or not upcoming.is_due(seen.now):
                return  # the next tick decides afresh on what recovery wrote
            await _sync(
                writer,
                kwargs["body"],
                seen.body,
                spec,
                upcoming.trigger,
                upcoming.request,
                clock,
                retry_base,
                approval=upcoming.approval,
                allow_endpoint_overrides=allow_endpoint_overrides,
                keyless_accounts=keyless_accounts,
                operator_namespace=operator_namespace,
            )


@dataclass
class Seen:
    """The object as a tick read it, and when."""

    body: dict[str, Any]
    now: datetime

    @property
    def generation(self) -> int | None:
        return cast(int | None, self.body["metadata"].get("generation"))

    @cached_property
    def status(self) -> dict[str, Any]:  # updated in place when conditions are written
        return dict(self.body.get("status") or {})

    @property
    def parsed(self) -> GoogleProvisioningStatus:
        return GoogleProvisioningStatus.model_validate(self.status)

    @property
    def annotations(self) -> dict[str, str]:
        return dict(self.body["metadata"].get("annotations") or {})


async def read_fresh(writer: StatusWriter, clock: Clock) -> Seen | None:
    """The object read afresh, not Kopf's cached body: the last sync's status may not have come
    back through the watch yet, and a stale lastSync would sync twice. None when it is gone."""
    try:
        return Seen(await writer.read(), clock())
    except KubeNotFound:
        return None


async def valid_spec(writer: StatusWriter, seen: Seen) -> GoogleProvisioningSpec | None:
    """The spec, or None and Ready=False (InvalidSpec) naming the first problem."""
    try:
        return GoogleProvisioningSpec.model_validate(dict(seen.body.get("spec") or {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(["spec", *(str(part) for part in first["loc"])])
        message = (
            f"GoogleProvisioning {writer.namespace}/{writer.name} has an invalid {where}: {first['msg']}; "
            "fix the manifest (gwsync validate FILE shows every problem) and apply it again."
        )
        changes = {c.READY: ("False", "InvalidSpec", message)}
        await writer.conditions(seen.status, changes, now=seen.now, generation=seen.generation)
        return None


async def is_active(
    writer: StatusWriter, seen: Seen, claims: kopf.Index[str, Claim], *, cluster_wide: bool
) -> bool:
    """Active=True when this object is the active integration of its target, else Active=False
    (AnotherProvisioningActive) naming the one that is (controller/exclusivity.py)."""
    mine = claim_of(seen.body)
    holder = active_holder(mine, claims.get(mine.target, []), cluster_wide=cluster_wide)
    if holder.key != mine.key:
        changes = {c.ACTIVE: ("False", c.ANOTHER_PROVISIONING_ACTIVE, inactive_message(mine, holder))}
    else:
        changes = {c.ACTIVE: ("True", "Active", "This provisioning is the active one for its target.")}
    await writer.conditions(seen.status, changes, now=seen.now, generation=seen.generation)
    return holder.key == mine.key


async def publish_next_sync(writer: StatusWriter, seen: Seen, due: datetime | None) -> None:
    """status.nextSyncTime, when it changed."""
    when = iso(due) if due else None
    if seen.status.get("nextSyncTime") != when:
        await writer.merge({"nextSyncTime": when})


async def _report_forbidden(
    writer: StatusWriter, event_body: kopf.Body, exc: KubeApiError, clock: Clock
) -> None:
    """Ready=False (PermissionDenied) and a Warning Event, once per distinct refusal."""
    message = permission_denied(exc)
    try:
        seen = Seen(await writer.read(), clock())
        ready: dict[str, Any] = next(
            (x for x in seen.status.get("conditions") or [] if x.get("type") == c.READY), {}
        )
        if ready.get("message") == message:
            return
        changes = {c.READY: ("False", c.PERMISSION_DENIED, message)}
        await writer.conditions(seen.status, changes, now=seen.now, generation=seen.generation)
    except KubeApiError as also:  # not even the status may be written: the log line must do
        log.error("%s (and the condition could not be written: %s)", message, also)
        return
    kopf.event(event_body, type="Warning", reason=c.PERMISSION_DENIED, message=message)


async def _recover_interrupted(writer: StatusWriter, clock: Clock) -> bool:
    """Make status.lastSync name the newest SyncReport; True when it did not already.

    Called in a tick when no sync of this object runs in this process, so a report still
    Running belongs to a sync that ended without finishing it (the process died, or the API
    server refused every write): it becomes Interrupted. A report that did finish while its
    status write failed is recorded now. Either way the schedule then retries with back-off
    instead of starting the same sync again at once.
    """
    kube, namespace, name, now = writer.kube, writer.namespace, writer.name, clock()
    await asyncio.to_thread(kube_reports.interrupt_reports, kube, namespace, name, now=now)
    reports = await asyncio.to_thread(kube_reports.list_reports, kube, namespace, name)
    if not reports:
        return False
    newest = max(reports, key=lambda r: (r.status.start_time or now, r.metadata.get("name", "")))
    if newest.status.phase in ACTIVE_PHASES:
        return False  # created after the list of interrupt_reports: a sync is starting elsewhere

    wrote: list[bool] = [False]

    def change(current: dict[str, Any]) -> dict[str, Any] | None:
        wrote[0] = False
        # The newest ended sync becomes the last sync (a first sync included), so the
        # schedule retries a failed one with back-off rather than starting over at once.
        status = GoogleProvisioningStatus.model_validate(current.get("status") or {})
        last, started = status.last_sync, newest.status.start_time
        if last is not None and (
            last.report == newest.metadata.get("name")  # already counted (as Failed, if it ended so)
            or (last.start_time and started and last.start_time > started)
        ):
            return None
        failed = newest.status.phase not in SUCCESS_PHASES
        wrote[0] = True
        patch: dict[str, Any] = {
            "lastSync": kube_reports.last_sync(newest).to_wire(),
            "failedAttempts": status.failed_attempts + 1 if failed else 0,
        }
        if not failed and newest.status.completion_time is not None:
            patch["lastSuccessfulSyncTime"] = iso(newest.status.completion_time)
        return patch

    await writer.patch(change)
    return wrote[0]


async def _sync(
    writer: StatusWriter,
    event_body: kopf.Body,
    body: dict[str, Any],
    spec: GoogleProvisioningSpec,
    trigger: Trigger,
    request: str | None,
    clock: Clock,
    retry_base: timedelta = RETRY_BASE,
    *,
    approval: str | None = None,
    allow_endpoint_overrides: bool = False,
    keyless_accounts: Mapping[str, frozenset[str]] | None = None,
    operator_namespace: str = DEFAULT_OPERATOR_NAMESPACE,
) -> None:
    """Run one sync, then record it in status, Events and metrics (`event_body`: Kopf's, for Events).

    `request` and `approval`: the annotation values this sync answers, recorded as handled."""
    namespace, name, generation = writer.namespace, writer.name, body["metadata"].get("generation")
    started_at = clock()

    def started(report: SyncReport) -> None:
        kopf.event(
            event_body,
            type="Normal",
            reason="SyncStarted",
            message=f"{trigger.value} sync started: SyncReport {report.metadata['name']}.",
        )

    result = await run_provisioning_sync(
        writer.kube,
        body,
        trigger,
        clock=clock,
        on_started=started,
        allow_endpoint_overrides=allow_endpoint_overrides,
        keyless_accounts=keyless_accounts,
        operator_namespace=operator_namespace,
    )
    for reason, message in result.warnings:  # a ledger ignored (controller/ledger_trust.py)
        kopf.event(event_body, type="Warning", reason=reason, message=message)
    answered = (("lastHandledSyncRequest", request), ("lastHandledApproval", approval))
    handled = {key: value for key, value in answered if value is not None}
    if handled:
        await writer.merge(handled)
    now = clock()

    def change(current: dict[str, Any]) -> dict[str, Any]:
        return completion_status(
            result,
            status=current.get("status") or {},
            spec=spec,
            generation=(current.get("metadata") or {}).get("generation"),
            synced_generation=generation,
            now=now,
            namespace=namespace,
            name=name,
            retry_base=retry_base,
        )

    written = await writer.patch(change)
    announce_pending(event_body, written, now)  # the spec changed while this sync ran
    report_name = result.report.metadata["name"]
    warning = WARNING_EVENTS.get(result.phase)
    if warning is not None:
        kopf.event(
            event_body, type="Warning", reason=warning, message=f"SyncReport {report_name}: {result.message}"
        )
    else:
        message = f"SyncReport {report_name} {result.phase}: {result.message}"
        kopf.event(event_body, type="Normal", reason="SyncSucceeded", message=message)
    if result.phase in SUCCESS_PHASES:
        metrics.LAST_SUCCESS.labels(namespace, name).set(now.timestamp())
    metrics.SYNC_DURATION.labels(namespace, name, result.phase).observe((now - started_at).total_seconds())
    metrics.SYNCS.labels(namespace, name, trigger.value, result.phase).inc()
