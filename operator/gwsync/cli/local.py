"""One sync outside the cluster: `gwsync sync` and `gwsync plan`.

The GoogleProvisioning comes from a YAML file, the secrets from local files, and the ledger
from a `--state` file (created when missing, rewritten after every apply step, so an
interrupted run loses nothing that re-adoption by externalId would not recover). The state file
is signed with a key derived from the SCIM token (sync.ledger.state_file_key): one that does not
verify (edited, an older gwsync's, another token's) is ignored with a warning, as if missing.
`--directory-file` serves an organization snapshot (DESIGN §6) through the Google emulator,
so the whole path, the real Google client included, runs without a Google account.
"""

import asyncio
import json
import os
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.api.report import (
    Action,
    ProvisioningRef,
    Result,
    SyncReport,
    SyncReportSpec,
    SyncReportStatus,
    Trigger,
)
from gwsync.api.target import normalize_target_url
from gwsync.api.validation import validate_text
from gwsync.cli.files import UnreadableFile, read_text
from gwsync.cli.text import counted
from gwsync.kube.labels import provisioning_annotations, provisioning_labels
from gwsync.sources.google import GoogleDirectory, directory_for
from gwsync.sync.ledger import (
    Ledger,
    LedgerError,
    Verdict,
    read_state,
    signed_state,
    state_file_key,
    state_target,
)
from gwsync.sync.ports import SourceUnavailable, TargetUnavailable
from gwsync.text import address_key

if TYPE_CHECKING:
    from gwsync.sync.engine import SyncOutcome
    from gwsync.targets.scim import ScimTarget

# The SCIM client (scim2-models builds ~100 pydantic models as it loads), the Kubernetes client
# and the emulators are imported where they are used, after the first request to Google, so
# `gwsync plan` asks Google at once (bench/cli_startup.py, issue 24).

Progress = Callable[[str, int, int], None]
Warn = Callable[[str], None]
Stopping = Callable[[], None]
IGNORED = (
    "so it is ignored: users are matched by externalId only and teams by name, and the next state "
    "saved is signed."
)


INTERRUPTED = "Interrupted (Ctrl-C)."
"""Why the target stops taking requests after Ctrl-C (ScimTarget.halt): the reason in the
details of every item not applied."""


class LocalSyncError(Exception):
    """Something the person running `gwsync sync` can fix; the message says what."""


@dataclass(frozen=True)
class Manifest:
    """The one GoogleProvisioning a local sync runs."""

    path: Path
    name: str
    namespace: str
    spec: GoogleProvisioningSpec


@dataclass(frozen=True)
class LocalSync:
    """What `gwsync sync` was asked to do."""

    manifest: Manifest
    google_credentials: Path | None = None
    scim_token_file: Path | None = None
    directory_file: Path | None = None
    state: Path | None = None
    dry_run: bool = False
    approve_removals: bool = False
    scim_ca_bundle_file: Path | None = None


def _read(path: Path, what: str) -> str:
    """The text of a file the person named; LocalSyncError naming that file if it cannot be had."""
    try:
        return read_text(path, f"{what} {path}", "pass the file itself")
    except UnreadableFile as exc:
        raise LocalSyncError(str(exc)) from None


def load_manifest(path: Path) -> Manifest:
    """The single GoogleProvisioning in `path`, validated like `gwsync validate` does."""
    result = validate_text(_read(path, "The GoogleProvisioning file"), str(path))
    if result.problems:
        more = (
            f" ({len(result.problems) - 1} more: run `gwsync validate {path}`)"
            if len(result.problems) > 1
            else ""
        )
        raise LocalSyncError(f"{result.problems[0]}{more}.")
    if len(result.objects) != 1:
        raise LocalSyncError(
            f"{path} holds {len(result.objects)} GoogleProvisioning objects; "
            "`gwsync sync` runs exactly one: put it in a file of its own."
        )
    doc = result.objects[0]
    metadata = doc["metadata"]
    spec = GoogleProvisioningSpec.model_validate(doc["spec"])
    return Manifest(path, str(metadata["name"]), str(metadata.get("namespace") or "default"), spec)


def default_state_file(manifest: Manifest) -> Path:
    """Where the ledger is kept when --state is not given: in the current folder, named after
    the GoogleProvisioning, as Terraform keeps terraform.tfstate (docs/local.md)."""
    return Path(f"{manifest.namespace}-{manifest.name}.ledger.json")


def target_of(spec: GoogleProvisioningSpec) -> dict[str, str]:
    """The target a state file records (ledger.state_target): normalized URL and accountId."""
    scim = spec.target.scim
    account = {"accountId": scim.account_id} if scim.account_id else {}
    return {"url": normalize_target_url(scim.url), **account}


def _named(target: dict[str, str]) -> str:
    account = target.get("accountId")
    return target.get("url", "?") + (f" (accountId {account})" if account else "")


def check_state(request: LocalSync) -> None:
    """Before anything is asked of Google or the target: the state file is this target's, and
    (unless nothing is to be written) it can be written, so a sync never writes users it then
    cannot record."""
    state = request.state
    if state is None:
        return
    if state.is_dir():
        raise LocalSyncError(f"State file {state} is a folder: pass a file, such as {state / 'ledger.json'}.")
    if state.exists():
        try:
            recorded = state_target(state.read_bytes())
        except OSError as exc:
            raise LocalSyncError(f"State file {state} cannot be read: {exc.strerror}.") from None
        ours = target_of(request.manifest.spec)
        if recorded is not None and recorded != ours:
            raise LocalSyncError(
                f"State file {state} is the ledger of {_named(recorded)}, not of {_named(ours)} "
                f"(GoogleProvisioning {request.manifest.name}'s target): pass this target's ledger with "
                "--state FILE, or a new file name to start one."
            )
    if not (request.dry_run or request.manifest.spec.dry_run):
        check_writable(state)


def check_writable(state: Path) -> None:
    """Create and remove a file beside `state` (as save_ledger replaces it), or LocalSyncError."""
    folder = state.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise LocalSyncError(
            f"State file {state} cannot be written: {existing} is a file, not a folder; pass --state a "
            "file in a folder you can write."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=f".{state.name}.", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise LocalSyncError(
            f"State file {state} cannot be written: {exc.strerror or exc}; pass --state a file in a "
            "folder you can write."
        ) from None


def load_ledger(state: Path | None, key: bytes, warn: Warn | None = None) -> Ledger:
    """The ledger of the state file when its signature verifies; else none, and `warn` says why."""
    if state is None or not state.exists():
        return Ledger.empty()
    try:
        ledger, verdict = read_state(state.read_bytes(), key)
    except LedgerError as exc:
        raise LocalSyncError(f"State file {state}: {exc}") from None
    except OSError as exc:
        raise LocalSyncError(f"State file {state} cannot be read: {exc.strerror}.") from None
    if verdict is Verdict.SIGNED:
        return ledger
    if warn is not None:
        warn(state_warning(state, verdict))
    return Ledger.empty()


def state_warning(state: Path, verdict: Verdict) -> str:
    if verdict is Verdict.UNSIGNED:
        return (
            f"State file {state} is not signed (a gwsync from before ledger signing, or a person, wrote "
            f"it), {IGNORED}"
        )
    return (
        f"State file {state} does not match its signature (it was changed by hand, or signed with another "
        f"SCIM token), {IGNORED}"
    )


def save_ledger(state: Path, ledger: Ledger, key: bytes, target: dict[str, str] | None = None) -> None:
    """Replace the state file atomically: a crash leaves the old or the new, never half."""
    state.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{state.name}.", dir=state.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(signed_state(ledger, key, target))
        os.replace(temporary, state)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def google_source(request: LocalSync) -> Iterator[GoogleDirectory]:
    """The Directory API reader for this run: the real Google, or a snapshot served locally."""
    google = request.manifest.spec.google
    if request.directory_file is not None:
        from gwsync.testing.google import google_emulator_in_thread
        from gwsync.testing.org import OrgError, load_org

        try:
            org = load_org(request.directory_file)
        except OrgError as exc:
            raise LocalSyncError(str(exc)) from None
        if not org.admins:
            raise LocalSyncError(
                f"{request.directory_file}: admins: list at least one administrator (the delegation subject)."
            )
        admins = {address_key(a) for a in org.admins}
        subject = google.admin_email if address_key(google.admin_email) in admins else org.admins[0]
        with google_emulator_in_thread(org) as emulator:
            yield GoogleDirectory.from_service_account_key(
                emulator.service_account_key(), admin_email=subject, api_endpoint=emulator.url
            )
        return
    if google.credentials_secret_ref is not None and request.google_credentials is None:
        raise LocalSyncError(
            f"GoogleProvisioning {request.manifest.name} reads its key from "
            "spec.google.credentialsSecretRef: pass the key file with --google-credentials FILE, "
            "or serve a snapshot with --directory-file ORG.yaml."
        )
    key = None
    if request.google_credentials is not None:
        key = _read(request.google_credentials, "The service-account key file")
    try:
        reader = directory_for(google, key)
    except SourceUnavailable as exc:
        where = f"{request.google_credentials}: " if request.google_credentials else ""
        raise LocalSyncError(f"{where}{exc}") from None
    yield reader


def scim_token(request: LocalSync) -> str:
    scim = request.manifest.spec.target.scim
    if request.scim_token_file is None:
        raise LocalSyncError(
            f"GoogleProvisioning {request.manifest.name} needs the SCIM bearer token of {scim.url}: "
            "pass it with --scim-token-file FILE."
        )
    token = _read(request.scim_token_file, "The SCIM token file").strip()
    if not token:
        raise LocalSyncError(f"The SCIM token file {request.scim_token_file} is empty.")
    return token


def scim_ca_bundle(request: LocalSync) -> str | None:
    """The PEM CA bundle to trust besides the system's: --scim-ca-bundle-file, which the spec's
    caBundleSecretRef requires (outside the cluster that Secret cannot be read)."""
    scim = request.manifest.spec.target.scim
    ref = scim.ca_bundle_secret_ref
    if request.scim_ca_bundle_file is None:
        if ref is not None:
            raise LocalSyncError(
                f"GoogleProvisioning {request.manifest.name} trusts {scim.url} through "
                f"spec.target.scim.caBundleSecretRef (Secret {ref.name}, key {ref.key}), which gwsync "
                "cannot read outside the cluster: pass that PEM CA bundle with --scim-ca-bundle-file FILE."
            )
        return None
    bundle = _read(request.scim_ca_bundle_file, "The SCIM CA bundle file")
    if not bundle.strip():
        raise LocalSyncError(f"The SCIM CA bundle file {request.scim_ca_bundle_file} is empty.")
    return bundle


def scim_target(request: LocalSync, token: str, ca_bundle: str | None) -> "ScimTarget":
    from gwsync.targets.scim import target_for

    return target_for(request.manifest.spec, token, ca_bundle)


async def _sync(
    request: LocalSync,
    source: GoogleDirectory,
    progress: Progress | None,
    warn: Warn | None,
    stopping: Stopping | None = None,
    ca_bundle: str | None = None,
) -> "SyncOutcome":
    """The sync, within spec.syncTimeout: past it, a Failed outcome saying so (the state file
    keeps the ledger's last checkpoint)."""
    from gwsync.sync.engine import SyncOutcome, SyncTimedOut, sync_deadline  # after Google's first answer

    token = scim_token(request)
    key = state_file_key(token)
    ledger = load_ledger(request.state, key, warn)
    try:
        async with sync_deadline(request.manifest.spec):
            return await _sync_within(request, source, progress, ledger, token, key, stopping, ca_bundle)
    except SyncTimedOut as exc:
        return SyncOutcome("Failed", str(exc), ledger=ledger)


async def _sync_within(
    request: LocalSync,
    source: GoogleDirectory,
    progress: Progress | None,
    ledger: Ledger,
    token: str,
    key: bytes,
    stopping: Stopping | None = None,
    ca_bundle: str | None = None,
) -> "SyncOutcome":
    from gwsync.sync.engine import run_sync

    spec = request.manifest.spec
    dry_run = request.dry_run or spec.dry_run
    target = scim_target(request, token, ca_bundle)
    try:
        try:
            await target.check()
        except TargetUnavailable as exc:
            if exc.status in (401, 403):  # the target's own sentence names the cluster's Secret
                raise LocalSyncError(
                    f"The SCIM token in {request.scim_token_file} was refused ({exc.status}) by "
                    f"{spec.target.scim.url}; put a valid bearer token for it in that file."
                ) from None
            raise LocalSyncError(str(exc)) from None

        async def checkpoint(current: Ledger) -> None:
            if request.state is not None and not dry_run:
                await asyncio.to_thread(save_ledger, request.state, current, key, target_of(spec))

        with interruptible(target, stopping) as interrupted:
            outcome = await run_sync(
                source,
                target,
                spec,
                ledger,
                dry_run=dry_run,
                approved_removals=list(ledger.users) if request.approve_removals else (),
                checkpoint=checkpoint,
                progress=progress,
                approve_hint="`gwsync sync ... --approve-removals`",
            )
        await checkpoint(outcome.ledger)
        return interrupted_outcome(outcome) if interrupted else outcome
    finally:
        await target.aclose()


@contextmanager
def interruptible(target: "ScimTarget", stopping: Callable[[], None] | None) -> Iterator[list[bool]]:
    """Ctrl-C (SIGINT) during the block stops the sync the way a target gone does: nothing more
    is sent, the writes in flight are answered, the ledger is saved, every step not done is
    Skipped, and the sync returns (the list it yields then holds True). A second Ctrl-C is
    Python's own KeyboardInterrupt: stop at once, the state file keeps its last checkpoint."""
    interrupted: list[bool] = []
    loop = asyncio.get_running_loop()

    def interrupt() -> None:
        interrupted.append(True)
        target.halt(INTERRUPTED)
        loop.remove_signal_handler(signal.SIGINT)  # the next Ctrl-C is KeyboardInterrupt
        if stopping is not None:
            stopping()

    try:
        loop.add_signal_handler(signal.SIGINT, interrupt)
    except (ValueError, RuntimeError, NotImplementedError):  # not the main thread, or no signals here
        yield interrupted
        return
    try:
        yield interrupted
    finally:
        if not interrupted:
            loop.remove_signal_handler(signal.SIGINT)


def interrupted_outcome(outcome: "SyncOutcome") -> "SyncOutcome":
    """The outcome of a sync stopped by Ctrl-C: Interrupted, saying how many writes were done."""
    done = sum(
        1 for item in outcome.items if item.result is Result.SUCCEEDED and item.action is not Action.UNCHANGED
    )
    skipped = sum(1 for item in outcome.items if item.result is Result.SKIPPED)
    message = (
        f"Ctrl-C stopped the sync after {counted(done, 'write')}; {counted(skipped, 'item')} not applied."
    )
    return replace(outcome, phase="Interrupted", message=message)


def run_local_sync(
    request: LocalSync,
    progress: Progress | None = None,
    warn: Warn | None = None,
    stopping: Stopping | None = None,
) -> "SyncOutcome":
    """Run one sync; LocalSyncError for anything the person can fix before it starts. `warn`
    gets the sentence saying a state file was ignored; `stopping` is told when Ctrl-C stops the
    sync (which then returns Interrupted)."""
    check_state(request)
    ca_bundle = scim_ca_bundle(request)  # before any request: a missing bundle is the person's to fix
    with ExitStack() as stack:
        try:
            source = stack.enter_context(google_source(request))
            source.check_connection()
        except SourceUnavailable as exc:
            raise LocalSyncError(str(exc)) from None
        return asyncio.run(_sync(request, source, progress, warn, stopping, ca_bundle))


def report_document(request: LocalSync, outcome: "SyncOutcome", started: datetime) -> dict[str, Any]:
    """The SyncReport object of a local run, with every item in status.items.

    In a cluster, status keeps 200 notable items and the rest sit in ConfigMaps; a file has
    no such limit, so this one holds them all (itemStore is absent).
    """
    from gwsync.kube.reports import format_duration, report_name

    finished = datetime.now(tz=UTC)
    report = SyncReport(
        metadata={
            "name": report_name(request.manifest.name, started),
            "namespace": request.manifest.namespace,
            "labels": provisioning_labels(request.manifest.name),
            "annotations": provisioning_annotations(request.manifest.name),
        },
        spec=SyncReportSpec(
            provisioning_ref=ProvisioningRef(name=request.manifest.name),
            trigger=Trigger.MANUAL,
            dry_run=request.dry_run or request.manifest.spec.dry_run,
        ),
        status=SyncReportStatus(
            phase=outcome.phase,
            start_time=started,
            completion_time=finished,
            duration=format_duration(finished - started),
            message=outcome.message,
            summary=outcome.summary,
            item_count=len(outcome.items),
        ),
    )
    document = report.to_wire()
    document["status"]["items"] = [item.to_wire() for item in outcome.items]
    return document


def write_report(path: Path, document: dict[str, Any]) -> None:
    """JSON for .json, YAML otherwise (the shape `kubectl get -o` prints)."""
    if path.suffix.lower() == ".json":
        text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    else:
        text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LocalSyncError(f"The report cannot be written to {path}: {exc.strerror}.") from None


EXIT_CODES = {"Succeeded": 0, "Failed": 1, "PartiallySucceeded": 2, "Blocked": 3, "Interrupted": 130}
"""130 for Ctrl-C, as shells report a command ended by SIGINT (128 + 2)."""
