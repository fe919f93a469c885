"""What `gwsync sync` and `gwsync plan` do once parsed: one local sync, with a progress bar, printed.

Imported by the command bodies in `sync_commands.py` when one runs: a local sync needs the
Google and SCIM clients and the emulators, which `--help` and completion must not pay for.
"""

import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

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
    default_state_file,
    load_manifest,
    report_document,
    run_local_sync,
    write_report,
)
from gwsync.cli.output import err, fail, out, plain, printable
from gwsync.cli.report_files import STDIO, ReportFileError, report_format
from gwsync.cli.reports import item_table
from gwsync.cli.text import counted, json_text

if TYPE_CHECKING:  # the engine loads after Google's first answer (cli/local.py)
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


PROGRESS_SECONDS = "GWSYNC_PROGRESS_SECONDS"
"""Seconds between progress lines when standard error is not a terminal (default 5)."""


class ProgressLines:
    """Without a terminal (CI, a pipe, `2> log`) rich draws no bar: a line every few seconds
    says what the sync is doing instead, so a long sync never looks hung."""

    def __init__(self, title: str) -> None:
        self.title, self.stage, self.done, self.total = title, "reading Google and the target", 0, 0
        self.started = time.monotonic()
        self.every = float(os.environ.get(PROGRESS_SECONDS) or 5)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._print, name="gwsync-progress", daemon=True)

    def update(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total = stage, done, total

    def _print(self) -> None:
        while not self.stopped.wait(self.every):
            counts = f" {self.done}/{self.total}" if self.total else ""
            elapsed = round(time.monotonic() - self.started)
            err.print(plain(f"{self.title}: {self.stage}{counts} ({elapsed}s)"), soft_wrap=True)

    def __enter__(self) -> "ProgressLines":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        self.thread.join()


def _run(request: LocalSync, title: str) -> "SyncOutcome":
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    ) as bar, ProgressLines(title) if not err.is_terminal else _NoLines() as lines:  # fmt: skip
        task = bar.add_task(title, total=None)
        lock = threading.Lock()

        def progress(stage: str, done: int, total: int) -> None:
            with lock:
                bar.update(task, description=f"{title}: {stage}", completed=done, total=total or None)
                lines.update(stage, done, total)

        def warn(message: str) -> None:
            err.print(Text.assemble(("warning:", "bold yellow"), " ", printable(message)), soft_wrap=True)

        def stopping() -> None:
            err.print(
                "Stopping (Ctrl-C): waiting for the writes in flight to be answered, then saving the "
                "ledger; press Ctrl-C again to stop at once.",
                soft_wrap=True,
            )

        try:
            return run_local_sync(request, progress, warn, stopping)
        except LocalSyncError as exc:
            bar.stop()
            fail(str(exc))
        except KeyboardInterrupt:
            bar.stop()
            where = f" in {request.state}" if request.state is not None else ""
            fail(
                f"Stopped at once (Ctrl-C): the ledger{where} holds what was written up to its "
                "last checkpoint, and the next sync finds the rest by externalId",
                130,
            )


class _NoLines:
    """A terminal: rich's bar shows the progress."""

    def update(self, stage: str, done: int, total: int) -> None:
        pass

    def __enter__(self) -> "_NoLines":
        return self

    def __exit__(self, *_: object) -> None:
        pass


def local_sync(
    filename: Path,
    google_credentials: Path | None,
    scim_token_file: Path | None,
    directory_file: Path | None,
    state: Path | None,
    *,
    dry_run: bool,
    approve_removals: bool = False,
    planning: bool = False,
    scim_ca_bundle_file: Path | None = None,
) -> LocalSync:
    """The sync the options describe; an unreadable or invalid manifest ends the command.

    Without --state the ledger is the GoogleProvisioning's default file in the current folder
    (default_state_file), named on standard error. When there is no ledger yet, `plan` says in
    one line that removals cannot be planned: only the ledger knows who left.
    """
    try:
        manifest = load_manifest(filename)
    except LocalSyncError as exc:
        fail(str(exc))
    if state is None:
        state = default_state_file(manifest)
        if planning and not state.exists():
            note(
                f"No --state given and no ./{state} here: removals cannot be planned without the "
                "ledger `gwsync sync` keeps; pass it with --state FILE."
            )
        else:
            owner = f"{manifest.namespace}/{manifest.name}"
            note(f"State file: ./{state} (no --state given: the default for {owner}).")
    elif planning and not state.exists():
        note(
            f"State file {state} does not exist yet: removals cannot be planned until a sync has written it."
        )
    return LocalSync(
        manifest,
        google_credentials,
        scim_token_file,
        directory_file,
        state,
        dry_run,
        approve_removals,
        scim_ca_bundle_file,
    )


def note(message: str) -> None:
    err.print(Text.assemble(("note:", "bold"), " ", printable(message)), soft_wrap=True)


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
    if outcome.phase == "Interrupted" and request.state is not None and not request.dry_run:
        screen.print(
            plain(
                f"The ledger of what was written is saved in {request.state}: run the same command "
                "again to go on from there."
            ),
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
