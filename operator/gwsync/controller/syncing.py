"""One sync of one GoogleProvisioning, wired end to end (DESIGN §3, in order).

start the report → refuse endpoint overrides (controller/endpoints.py) → read the Secrets
(each must opt in with its label) and the ledger key (kube/ledger_key.py) → connect both sides
→ load the ledger, ignored unless its signature verifies (controller/ledger_trust.py) → run the engine
(read → plan → guard → apply) → store items and ledger → finish the report → prune history.
Every failure ends the report Failed with one sentence; nothing is removed from the target.
All of it up to the report's end runs within spec.syncTimeout (engine.sync_deadline): past it
the sync is stopped, its report ends Failed, and the handler releases the sync lock.
The blocking Kubernetes and Google clients run in threads so the operator's loop stays free.
"""

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gwsync.api import constants as c
from gwsync.api.provisioning import (
    GoogleConnection,
    GoogleProvisioningSpec,
    LedgerStatus,
    SyncSummary,
    TargetAuthentication,
)
from gwsync.api.report import Action, ReportItem, Result, SyncReport, Trigger
from gwsync.controller import metrics
from gwsync.controller.endpoints import (
    EndpointOverrideRefused,
    check_key_token_uri,
    check_keyless_account,
    check_spec_endpoints,
)
from gwsync.controller.exclusivity import target_digest
from gwsync.controller.ledger_trust import ledger_trust
from gwsync.kube import reports as kube_reports
from gwsync.kube.blobs import Owner
from gwsync.kube.client import PROVISIONINGS, Kube, KubeApiError
from gwsync.kube.ledger import LedgerConflict, LedgerStore
from gwsync.kube.ledger_key import DEFAULT_OPERATOR_NAMESPACE, LedgerKeyUnavailable, ensure_ledger_key
from gwsync.kube.secrets import SecretNotLabelled, SecretUnavailable, read_secret_value
from gwsync.kube.status import StatusConflict, patch_status
from gwsync.sources.google import GoogleAuthError, GoogleDirectory, directory_for
from gwsync.sync.engine import SyncOutcome, SyncTimedOut, run_sync, sync_deadline
from gwsync.sync.ledger import Ledger
from gwsync.sync.ports import SourceUnavailable, TargetUnavailable
from gwsync.targets.scim import ScimTarget, target_for

log = logging.getLogger(__name__)
HELD_ACTIONS = frozenset({Action.DEPROVISION, Action.DELETE})


class SyncAborted(Exception):
    """A step before applying failed: the sync ends Failed with `reason` on a condition."""

    def __init__(self, message: str, *, condition: str, reason: str) -> None:
        super().__init__(message)
        self.condition = condition
        self.reason = reason


@dataclass
class SyncResult:
    """What the handler needs to update the GoogleProvisioning's status and post Events."""

    report: SyncReport
    phase: str
    message: str
    summary: SyncSummary = field(default_factory=SyncSummary)
    google: GoogleConnection | None = None
    ledger: LedgerStatus | None = None
    ledger_generation: int | None = None  # the newest ledger generation saved, even by a failed sync
    conditions: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # type -> status, reason, msg
    warnings: list[tuple[str, str]] = field(default_factory=list)  # Warning Events: reason, message


def approve_command(namespace: str, name: str, report: str) -> str:
    return (
        f"kubectl annotate gprov/{name} -n {namespace} {c.APPROVE_DEPROVISIONING}={report} --overwrite "
        "(this starts a sync that applies them)"
    )


async def _secret(kube: Kube, namespace: str, ref: Any, purpose: str, condition: str) -> str:
    try:
        value = await asyncio.to_thread(read_secret_value, kube, namespace, ref, purpose)
    except SecretUnavailable as exc:
        reason = c.SECRET_NOT_LABELLED if isinstance(exc, SecretNotLabelled) else "SecretUnavailable"
        raise SyncAborted(str(exc), condition=condition, reason=reason) from exc
    return value.decode("utf-8")


async def google_key(kube: Kube, namespace: str, spec: GoogleProvisioningSpec) -> str | None:
    """The service-account key the spec names (None when keyless)."""
    ref = spec.google.credentials_secret_ref
    if ref is None:
        return None
    return await _secret(kube, namespace, ref, "the service-account key", c.CONNECTED)


async def connect_google(kube: Kube, namespace: str, spec: GoogleProvisioningSpec) -> GoogleDirectory:
    return directory_for(spec.google, await google_key(kube, namespace, spec))


async def target_secrets(kube: Kube, namespace: str, spec: GoogleProvisioningSpec) -> tuple[str, str | None]:
    """The SCIM bearer token and the optional PEM CA bundle the spec names."""
    scim = spec.target.scim
    token = await _secret(kube, namespace, scim.token_secret_ref, "the SCIM bearer token", c.TARGET_REACHABLE)
    ca_bundle = None
    if scim.ca_bundle_secret_ref is not None:
        ca_bundle = await _secret(
            kube, namespace, scim.ca_bundle_secret_ref, "the PEM CA bundle", c.TARGET_REACHABLE
        )
    return token, ca_bundle


async def ledger_key(kube: Kube, operator_namespace: str) -> bytes:
    """The key that signs and verifies ledgers; SyncAborted when it can be neither read nor made."""
    try:
        return await asyncio.to_thread(ensure_ledger_key, kube, operator_namespace)
    except LedgerKeyUnavailable as exc:
        raise SyncAborted(str(exc), condition=c.LEDGER_VERIFIED, reason=c.LEDGER_KEY_UNAVAILABLE) from None


async def connect_target(kube: Kube, namespace: str, spec: GoogleProvisioningSpec) -> ScimTarget:
    return target_for(spec, *await target_secrets(kube, namespace, spec))


async def record_authentication(
    kube: Kube, namespace: str, name: str, spec: GoogleProvisioningSpec, now: datetime
) -> None:
    """status.target: when the token first authenticated at this target (kept while it is the same).

    Written as soon as the target accepted the token, before the sync goes on, so that a rival
    created meanwhile sees the target held within a tick (controller/exclusivity.py).
    """
    digest = target_digest(spec.target.scim.url, spec.target.scim.account_id)

    def change(current: dict[str, Any]) -> dict[str, Any] | None:
        recorded = (current.get("status") or {}).get("target") or {}
        if recorded.get("digest") == digest:
            return None
        return {"target": TargetAuthentication(digest=digest, authenticated_at=now).to_wire()}

    await asyncio.to_thread(patch_status, kube, PROVISIONINGS, namespace, name, change)


async def forget_authentication(kube: Kube, namespace: str, name: str) -> None:
    """The target refused the token (401, 403): this object no longer holds it on that ground."""

    def change(current: dict[str, Any]) -> dict[str, Any] | None:
        return {"target": None} if (current.get("status") or {}).get("target") else None

    await asyncio.to_thread(patch_status, kube, PROVISIONINGS, namespace, name, change)


def refuse_overrides(spec: GoogleProvisioningSpec, namespace: str, google_key: str | None) -> None:
    """SyncAborted when the spec or the key sends credentials to an overridden endpoint."""
    try:
        check_spec_endpoints(spec)
        ref = spec.google.credentials_secret_ref
        if google_key is not None and ref is not None:
            check_key_token_uri(google_key, f"Secret {namespace}/{ref.name}")
    except EndpointOverrideRefused as exc:
        raise SyncAborted(str(exc), condition=exc.condition, reason=c.ENDPOINT_OVERRIDE_REFUSED) from None


def refuse_unbound_keyless(
    spec: GoogleProvisioningSpec, namespace: str, accounts: Mapping[str, frozenset[str]]
) -> None:
    """SyncAborted when the spec names a keyless service account not bound to its namespace."""
    try:
        check_keyless_account(spec, namespace, accounts)
    except EndpointOverrideRefused as exc:
        raise SyncAborted(str(exc), condition=exc.condition, reason=c.KEYLESS_ACCOUNT_REFUSED) from None


def held_ids(report: SyncReport, items: list[ReportItem]) -> list[str]:
    return [
        item.source_id
        for item in items
        if item.action in HELD_ACTIONS and item.result is Result.SKIPPED and item.source_id
    ]


async def approved_removals(kube: Kube, namespace: str, annotations: dict[str, str], name: str) -> list[str]:
    """Google ids released by `gwsync.io/approve-deprovisioning: <report>` (a Blocked report)."""
    report_name = annotations.get(c.APPROVE_DEPROVISIONING)
    if not report_name:
        return []

    def read() -> list[str]:
        try:
            report = kube_reports.read_report(kube, namespace, report_name)
        except Exception:
            log.warning("Approval names SyncReport %s/%s, which cannot be read.", namespace, report_name)
            return []
        if report.spec.provisioning_ref.name != name or report.status.phase != "Blocked":
            return []
        return held_ids(report, list(kube_reports.iter_report_items(kube, report)))

    return await asyncio.to_thread(read)


def count_items(namespace: str, name: str, items: list[ReportItem]) -> None:
    for item in items:
        metrics.SYNC_ITEMS.labels(
            namespace, name, item.type.value, item.action.value, item.result.value
        ).inc()


@dataclass
class SyncRun:
    """One sync under way: the object it syncs, and what it found out so far."""

    kube: Kube
    body: dict[str, Any]
    spec: GoogleProvisioningSpec
    clock: Callable[[], datetime]
    result: SyncResult
    operator_namespace: str
    items: list[ReportItem] = field(default_factory=list)

    @property
    def namespace(self) -> str:
        return str(self.body["metadata"]["namespace"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])


@dataclass(frozen=True)
class Credentials:
    """What a sync reads before it sends anything anywhere."""

    google_key: str | None
    token: str
    ca_bundle: str | None
    signing_key: bytes


async def run_provisioning_sync(
    kube: Kube,
    body: dict[str, Any],
    trigger: Trigger,
    *,
    clock: Callable[[], datetime],
    on_started: Callable[[SyncReport], None] | None = None,
    allow_endpoint_overrides: bool = False,
    keyless_accounts: Mapping[str, frozenset[str]] | None = None,
    operator_namespace: str = DEFAULT_OPERATOR_NAMESPACE,
) -> SyncResult:
    """Run one sync of the GoogleProvisioning `body` (as read from the API server).

    Endpoint overrides are refused first, then every Secret is read (each must opt in with
    its label), and only then is anything sent anywhere. `operator_namespace` holds the key
    that signs the ledger.
    """
    spec = GoogleProvisioningSpec.model_validate(body.get("spec") or {})
    report = await asyncio.to_thread(kube_reports.start_report, kube, body, trigger, now=clock())
    if on_started is not None:
        on_started(report)
    result = SyncResult(report=report, phase="Failed", message="")
    run = SyncRun(kube, body, spec, clock, result, operator_namespace)
    try:
        async with sync_deadline(spec):
            credentials = await read_credentials(run, allow_endpoint_overrides, keyless_accounts or {})
            await sync_both_sides(run, credentials)
    except Exception as exc:  # the report must end, whatever failed
        record_failure(run, exc)
    await _finish(kube, result, run.items, clock)
    count_items(run.namespace, run.name, run.items)
    await prune_history(run)
    return result


async def read_credentials(
    run: SyncRun, allow_endpoint_overrides: bool, keyless_accounts: Mapping[str, frozenset[str]]
) -> Credentials:
    """Refuse what the operator does not allow, then read every Secret and the ledger key."""
    spec, namespace = run.spec, run.namespace
    refuse_unbound_keyless(spec, namespace, keyless_accounts)
    if not allow_endpoint_overrides:
        refuse_overrides(spec, namespace, None)
    key = await google_key(run.kube, namespace, spec)
    if not allow_endpoint_overrides:
        refuse_overrides(spec, namespace, key)
    token, ca_bundle = await target_secrets(run.kube, namespace, spec)
    signing_key = await ledger_key(run.kube, run.operator_namespace)
    return Credentials(key, token, ca_bundle, signing_key)


async def sync_both_sides(run: SyncRun, credentials: Credentials) -> None:
    """Connect to Google, then to the target, trust the ledger, run the engine, record it all."""
    source = await check_google(run, credentials.google_key)
    target = target_for(run.spec, credentials.token, credentials.ca_bundle)
    owner, key = Owner.of(run.body), credentials.signing_key
    store = LedgerStore(run.kube, owner, run.namespace, key=key, floor=recorded_generation(run))
    try:
        await check_target(run, target)
        ledger = await trusted_ledger(run, store)
        outcome, saved = await run_engine(run, source, target, store, ledger)
    finally:
        run.result.ledger_generation = store.saved_generation
        await target.aclose()
        metrics.API_REQUESTS.labels("google").inc(source.counts.requests)
        metrics.API_ERRORS.labels("google").inc(source.counts.errors)
        metrics.API_REQUESTS.labels("scim").inc(target.counters.requests)
        metrics.API_RETRIES.labels("scim").inc(target.counters.retries)
    record_outcome(run, outcome, saved)


async def check_google(run: SyncRun, key: str | None) -> GoogleDirectory:
    """The directory, once Google answered who the customer is (Connected=True)."""
    try:
        source = directory_for(run.spec.google, key)
        customer, domain = await asyncio.to_thread(source.check_connection)
    except SourceUnavailable as exc:
        reason = "GoogleAuthFailed" if isinstance(exc, GoogleAuthError) else "GoogleUnavailable"
        raise SyncAborted(str(exc), condition=c.CONNECTED, reason=reason) from exc
    run.result.google = GoogleConnection(customer_id=customer, primary_domain=domain, checked_at=run.clock())
    run.result.conditions[c.CONNECTED] = ("True", "Connected", f"Connected to {domain} ({customer}).")
    return source


async def check_target(run: SyncRun, target: ScimTarget) -> None:
    """The target accepts the token (TargetReachable=True), recorded in status.target."""
    try:
        await target.check()
    except TargetUnavailable as exc:
        if exc.status in (401, 403):
            await forget_authentication(run.kube, run.namespace, run.name)
        raise SyncAborted(str(exc), condition=c.TARGET_REACHABLE, reason="TargetUnreachable") from exc
    await record_authentication(run.kube, run.namespace, run.name, run.spec, run.clock())
    run.result.conditions[c.TARGET_REACHABLE] = ("True", "Reachable", f"{run.spec.target.scim.url} answers.")


def recorded_generation(run: SyncRun) -> int:
    """The ledger generation the object's status records as saved last (0: none yet)."""
    recorded = ((run.body.get("status") or {}).get("ledger") or {}).get("generation")
    return recorded if isinstance(recorded, int) and recorded > 0 else 0


async def trusted_ledger(run: SyncRun, store: LedgerStore) -> Ledger:
    """The stored ledger, ignored unless its signature verifies and it is not older than the
    generation the status records (controller/ledger_trust.py)."""
    stored = await asyncio.to_thread(store.read)
    trust = ledger_trust(stored, run.namespace, run.name, run.operator_namespace, store.floor)
    run.result.conditions[c.LEDGER_VERIFIED] = trust.condition
    if trust.rejected is not None:
        log.warning("%s", trust.rejected)
        run.result.warnings.append((c.LEDGER_REJECTED, trust.rejected))
    return trust.ledger


async def run_engine(
    run: SyncRun, source: GoogleDirectory, target: ScimTarget, store: LedgerStore, ledger: Ledger
) -> tuple[SyncOutcome, list[str]]:
    """Read, plan, guard, apply; the ledger checkpointed as it goes. The outcome, and the
    ConfigMaps the ledger was saved in last."""
    spec, namespace, name = run.spec, run.namespace, run.name
    approved = await approved_removals(
        run.kube, namespace, run.body["metadata"].get("annotations") or {}, name
    )
    saved: list[str] = []

    async def checkpoint(current: Ledger) -> None:
        if not spec.dry_run:
            saved[:] = await asyncio.to_thread(store.save, current.to_json())
            await record_ledger_generation(run, store.saved_generation)

    outcome = await run_sync(
        source,
        target,
        spec,
        ledger,
        dry_run=spec.dry_run,
        approved_removals=approved,
        checkpoint=checkpoint,
        approve_hint=approve_command(namespace, name, str(run.result.report.metadata["name"])),
        now=run.clock(),
    )
    await checkpoint(outcome.ledger)
    return outcome, saved


async def record_ledger_generation(run: SyncRun, generation: int | None) -> None:
    """status.ledger.generation, as soon as a generation is saved: a copy of an older one put
    back is then known as such, even if this process dies before the sync ends."""

    def change(current: dict[str, Any]) -> dict[str, Any] | None:
        recorded = ((current.get("status") or {}).get("ledger") or {}).get("generation")
        if generation is None or (isinstance(recorded, int) and recorded >= generation):
            return None  # never lowered
        return {"ledger": {"generation": generation}}

    try:
        await asyncio.to_thread(patch_status, run.kube, PROVISIONINGS, run.namespace, run.name, change)
    except (KubeApiError, StatusConflict) as exc:  # the status written when the sync ends records it
        log.warning("The ledger generation of %s/%s was not recorded yet: %s", run.namespace, run.name, exc)


def record_outcome(run: SyncRun, outcome: SyncOutcome, saved: list[str]) -> None:
    """The engine's items, phase and summary, and the ledger's place, in the result."""
    result = run.result
    run.items = outcome.items
    result.phase, result.message, result.summary = outcome.phase, outcome.message, outcome.summary
    if outcome.target_unavailable is not None:
        # The target stopped answering mid-sync (a revoked token): the items done so far
        # and the checkpointed ledger stand, and the condition names the cause.
        result.conditions[c.TARGET_REACHABLE] = ("False", "TargetUnreachable", outcome.target_unavailable)
    result.ledger = LedgerStatus(
        config_maps=saved, users=len(outcome.ledger.users), teams=len(outcome.ledger.teams)
    )


def record_failure(run: SyncRun, exc: Exception) -> None:
    """One sentence for the report and, where a condition says what failed, that condition."""
    result, namespace, name = run.result, run.namespace, run.name
    if isinstance(exc, SyncAborted):
        result.message = str(exc)
        result.conditions[exc.condition] = ("False", exc.reason, str(exc))
    elif isinstance(exc, SyncTimedOut):  # everything under way was cancelled: the report ends, the lock goes
        log.warning("Sync of %s/%s stopped: %s", namespace, name, exc)
        result.message = str(exc)
    elif isinstance(exc, LedgerConflict):
        result.message = f"{exc}."
    elif isinstance(exc, SourceUnavailable):
        result.message = f"Google could not be read completely, so nothing was changed: {exc}"
        result.conditions[c.CONNECTED] = ("False", "GoogleUnavailable", str(exc))
    elif isinstance(exc, KubeApiError):  # the API server refused or went away: a sentence, not a traceback
        log.error("Sync of %s/%s stopped: %s", namespace, name, exc)
        result.message = f"The sync stopped: {exc}."
    else:  # called while `exc` is handled, so the log has its traceback
        log.exception("Sync of %s/%s failed unexpectedly.", namespace, name)
        result.message = f"The sync failed unexpectedly: {type(exc).__name__}: {exc}"


async def prune_history(run: SyncRun) -> None:
    """Keep spec.history.keep SyncReports; a failure here leaves this sync's outcome as it is."""
    namespace, name = run.namespace, run.name
    try:
        await asyncio.to_thread(kube_reports.prune_reports, run.kube, namespace, name, run.spec.history.keep)
    except KubeApiError as exc:  # pruning is retried after the next sync; this one's outcome stands
        log.warning("Old SyncReports of %s/%s could not be pruned: %s", namespace, name, exc)
    except Exception:
        log.warning("Old SyncReports of %s/%s could not be pruned.", namespace, name, exc_info=True)


async def _finish(
    kube: Kube, result: SyncResult, items: list[ReportItem], clock: Callable[[], datetime]
) -> None:
    """End the report in the cluster; when even that fails, the sync is Failed all the same.

    The GoogleProvisioning's status then names the report as Failed, so the schedule retries
    with back-off instead of starting the same sync again, and the next sync's start marks the
    report, still Running in the cluster, Interrupted.
    """
    report = result.report
    try:
        result.report = await asyncio.to_thread(
            kube_reports.finish_report,
            kube,
            report,
            phase=result.phase,
            message=result.message,
            summary=result.summary,
            items=items,
            now=clock(),
        )
    except Exception as exc:
        if isinstance(exc, KubeApiError):
            log.error("SyncReport %s could not be completed: %s", report.metadata.get("name"), exc)
        else:
            log.exception("SyncReport %s could not be completed.", report.metadata.get("name"))
        result.message = (
            f"{result.message} SyncReport {report.metadata.get('name')} could not be completed: {exc}"
        )
        result.message = result.message.strip()
        result.report = report.model_copy(
            update={
                "status": report.status.model_copy(
                    update={"phase": "Failed", "message": result.message, "completion_time": clock()}
                )
            }
        )
    result.phase = result.report.status.phase
    result.message = result.report.status.message or result.message
