"""What `gwsync sync` and `gwsync plan` do once parsed: one local sync, with a progress bar, printed.

Imported by the command bodies in `sync_commands.py` when one runs: a local sync needs the
Google and SCIM clients and the emulators, which `--help` and completion must not pay for.
"""

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

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
from gwsync.cli.output import err, fail, out, plain, printable
from gwsync.cli.report_files import STDIO, ReportFileError, report_format
from gwsync.cli.reports import item_table
from gwsync.cli.text import counted, json_text
from gwsync.sync.engine import SyncOutcome


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
        lines.append(plain(message, "italic", multiline=True))
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

        def warn(message: str) -> None:
            err.print(Text.assemble(("warning:", "bold yellow"), " ", printable(message)), soft_wrap=True)

        try:
            return run_local_sync(request, progress, warn)
        except LocalSyncError as exc:
            bar.stop()
            fail(str(exc))
            raise  # unreachable: fail() exits


def local_sync(
    filename: Path,
    google_credentials: Path | None,
    scim_token_file: Path | None,
    directory_file: Path | None,
    state: Path | None,
    *,
    dry_run: bool,
    approve_removals: bool = False,
) -> LocalSync:
    """The sync the options describe; an unreadable or invalid manifest ends the command."""
    try:
        manifest = load_manifest(filename)
    except LocalSyncError as exc:
        fail(str(exc))
    return LocalSync(
        manifest, google_credentials, scim_token_file, directory_file, state, dry_run, approve_removals
    )


def check_report_output(output: str | None) -> None:
    """Refuse an `-o` the report could not be written as, before the sync starts."""
    if output is not None:
        try:
            report_format(output)
        except ReportFileError as exc:
            fail(str(exc))


def _print_json(document: dict[str, Any]) -> None:
    typer.echo(json_text(document))


def run_sync(request: LocalSync, output: str | None) -> NoReturn:
    """Apply the sync, print its changes and outcome, and exit with the outcome's code.

    With `-o -` the report is standard output's only content (for jq and pipes), so what a
    person reads goes to standard error.
    """
    started = datetime.now(tz=UTC)
    outcome = _run(request, f"Syncing {request.manifest.name}")
    screen = err if output == STDIO else out
    if output == STDIO:
        _print_json(report_document(request, outcome, started))
    elif output is not None:
        try:
            write_report(Path(output), report_document(request, outcome, started))
        except LocalSyncError as exc:
            fail(str(exc))
    changed = [item for item in outcome.items if item.action is not Action.UNCHANGED]
    if changed:
        screen.print(item_table(changed, title="Changes", limit=200))
    screen.print(summary_table(outcome.summary))
    style = "green" if outcome.phase == "Succeeded" else "bold red"
    screen.print(Text.assemble((outcome.phase, style), ": ", printable(outcome.message, multiline=True)))
    if outcome.phase == "Blocked":
        screen.print(
            "Nothing was removed. To apply the held removals, run the same command with --approve-removals."
        )
    if output is not None and output != STDIO:
        screen.print(
            plain(f"Wrote the SyncReport with {counted(len(outcome.items), 'item')} to {output}."),
            soft_wrap=True,
        )
    raise typer.Exit(EXIT_CODES.get(outcome.phase, 1))


PLAN_FORMATS = ("table", "json", STDIO)  # -o -: JSON on standard output, as for `sync -o -`


def run_plan(
    request: LocalSync, *, show_unchanged: bool, summary: bool = False, output: str = "table"
) -> NoReturn:
    """Plan the sync (a dry run), print the plan as a table or JSON, exit 0 unless it failed."""
    started = datetime.now(tz=UTC)
    outcome = _run(request, f"Planning {request.manifest.name}")
    code = 0 if outcome.phase in ("Succeeded", "Blocked") else 1
    if output in ("json", STDIO):
        document = report_document(request, outcome, started)
        if summary:
            del document["status"]["items"]
        _print_json(document)
        raise typer.Exit(code)
    items = [item for item in outcome.items if show_unchanged or item.action is not Action.UNCHANGED]
    if items and not summary:
        out.print(item_table(items, title="Plan", limit=10_000))
    out.print(summary_table(outcome.summary, outcome.message))
    raise typer.Exit(code)
