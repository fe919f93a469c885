"""`gwsync sync`, `gwsync plan` and `gwsync emulate`: gwsync without a cluster."""

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from gwsync.api.provisioning import SyncSummary
from gwsync.api.report import Action
from gwsync.cli.local import (
    EXIT_CODES,
    LocalSync,
    LocalSyncError,
    load_manifest,
    report_document,
    run_local_sync,
    write_report,
)
from gwsync.cli.output import err, fail, out
from gwsync.cli.reports import item_table
from gwsync.sync.engine import SyncOutcome

ManifestOption = Annotated[
    Path, typer.Option("--filename", "-f", help="The GoogleProvisioning YAML (one object).")
]
CredentialsOption = Annotated[
    Path | None,
    typer.Option(help="Service-account key JSON, for a spec using credentialsSecretRef."),
]
TokenOption = Annotated[Path | None, typer.Option(help="File holding the SCIM bearer token.")]
DirectoryOption = Annotated[
    Path | None,
    typer.Option(help="Serve this organization snapshot (DESIGN §6 YAML) instead of calling Google."),
]
StateOption = Annotated[
    Path | None,
    typer.Option(help="The ledger of managed users and teams; created when missing, updated as it goes."),
]


def summary_table(summary: SyncSummary, message: str = "") -> Group:
    """One line per kind of thing with its non-zero counts, then the one-sentence outcome."""
    lines: list[RenderableType] = []
    for label, counts in (
        ("users", summary.users),
        ("teams", summary.teams),
        ("memberships", summary.memberships),
    ):
        cells = [f"{name} {value}" for name, value in counts.model_dump().items() if value]
        lines.append(Text.assemble((f"{label:<12}", "bold"), "  ·  ".join(cells) or "-"))
    if message:
        lines.append(Text(message, style="italic"))
    return Group(*lines)


def _run(request: LocalSync, title: str) -> SyncOutcome:
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task(title, total=None)
        lock = threading.Lock()

        def progress(stage: str, done: int, total: int) -> None:
            with lock:
                bar.update(task, description=f"{title}: {stage}", completed=done, total=total or None)

        try:
            return run_local_sync(request, progress)
        except LocalSyncError as exc:
            bar.stop()
            fail(str(exc))
            raise  # unreachable: fail() exits


def _request(
    filename: Path,
    google_credentials: Path | None,
    scim_token_file: Path | None,
    directory_file: Path | None,
    state: Path | None,
    *,
    dry_run: bool,
    approve_removals: bool = False,
) -> LocalSync:
    try:
        manifest = load_manifest(filename)
    except LocalSyncError as exc:
        fail(str(exc))
    return LocalSync(
        manifest, google_credentials, scim_token_file, directory_file, state, dry_run, approve_removals
    )


def sync(
    filename: ManifestOption,
    google_credentials: CredentialsOption = None,
    scim_token_file: TokenOption = None,
    directory_file: DirectoryOption = None,
    state: StateOption = None,
    dry_run: Annotated[bool, typer.Option(help="Plan only: change nothing in the target.")] = False,
    approve_removals: Annotated[
        bool, typer.Option(help="Apply removals the deprovisioning safety limit would hold.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the SyncReport (.json or .yaml), every item.")
    ] = None,
) -> None:
    """Run one sync outside the cluster and print its report.

    Exit code: 0 Succeeded, 1 Failed, 2 PartiallySucceeded (some items failed), 3 Blocked
    (removals held by the safety limit).
    """
    request = _request(
        filename, google_credentials, scim_token_file, directory_file, state,
        dry_run=dry_run, approve_removals=approve_removals,
    )  # fmt: skip
    started = datetime.now(tz=UTC)
    outcome = _run(request, f"Syncing {request.manifest.name}")
    if output is not None:
        try:
            write_report(output, report_document(request, outcome, started))
        except LocalSyncError as exc:
            fail(str(exc))
    changed = [item for item in outcome.items if item.action is not Action.UNCHANGED]
    if changed:
        out.print(item_table(changed, title="Changes", limit=200))
    out.print(summary_table(outcome.summary))
    style = "green" if outcome.phase == "Succeeded" else "bold red"
    out.print(Text.assemble((outcome.phase, style), ": ", outcome.message))
    if outcome.phase == "Blocked":
        out.print(
            "Nothing was removed. To apply the held removals, run the same command with --approve-removals."
        )
    if output is not None:
        out.print(f"Wrote the SyncReport with {len(outcome.items)} items to {output}.", soft_wrap=True)
    raise typer.Exit(EXIT_CODES.get(outcome.phase, 1))


def plan(
    filename: ManifestOption,
    google_credentials: CredentialsOption = None,
    scim_token_file: TokenOption = None,
    directory_file: DirectoryOption = None,
    state: StateOption = None,
    show_unchanged: Annotated[bool, typer.Option("--all", help="List unchanged items too.")] = False,
) -> None:
    """Show what a sync would change, changing nothing (a dry run)."""
    request = _request(filename, google_credentials, scim_token_file, directory_file, state, dry_run=True)
    outcome = _run(request, f"Planning {request.manifest.name}")
    items = [item for item in outcome.items if show_unchanged or item.action is not Action.UNCHANGED]
    if items:
        out.print(item_table(items, title="Plan", limit=10_000))
    out.print(summary_table(outcome.summary, outcome.message))
    raise typer.Exit(0 if outcome.phase in ("Succeeded", "Blocked") else 1)


def register(app: typer.Typer) -> None:
    app.command()(sync)
    app.command()(plan)
