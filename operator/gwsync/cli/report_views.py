"""What `gwsync report list|show|export` do once parsed: read SyncReports from the cluster, print.

Imported by the command bodies in `report_commands.py` when one runs: it needs the Kubernetes
client and the API models, which `--help` and completion must not pay for.
"""

import io
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import NoReturn, TextIO, TypeVar

import typer
from rich import box
from rich.console import RenderableType
from rich.panel import Panel
from rich.table import Table

from gwsync.api.report import ACTIVE_PHASES, Action, ItemType, ReportItem, Result, SyncReport
from gwsync.cli.cluster import (
    PHASE_STYLES,
    cluster,
    fields_grid,
    format_time,
    list_hint,
    styled,
    summary_lines,
)
from gwsync.cli.options import ClusterOptions
from gwsync.cli.output import FirstThatFits, err, fail, out, plain
from gwsync.cli.report_files import STDIO, ReportFileError, export_format, read_report_file
from gwsync.cli.reports import ItemFilter, ReportNotReady, ensure_complete, item_table, write_csv, write_jsonl
from gwsync.cli.text import counted
from gwsync.kube.client import Kube, KubeNotFound
from gwsync.kube.reports import (
    format_duration,
    iter_report_items,
    list_reports,
    read_report,
)

Choice = TypeVar("Choice", bound=StrEnum)


def _read_report(kube: Kube, namespace: str, name: str) -> SyncReport:
    try:
        return read_report(kube, namespace, name)
    except KubeNotFound:
        fail(
            f"SyncReport {namespace}/{name} does not exist; list reports with "
            f"`gwsync report list{list_hint(namespace)}`."
        )


def _duration(report: SyncReport, now: datetime) -> str:
    status = report.status
    if status.duration:
        return status.duration
    if status.start_time is None:
        return "-"
    if status.completion_time is not None:
        return format_duration(status.completion_time - status.start_time)
    return f"{format_duration(now - status.start_time)} so far"


def _choices(values: list[str] | None, choices: type[Choice], option: str, noun: str) -> frozenset[Choice]:
    """Enum values typed in any case (repeated, or comma-separated); unknown ones end the command."""
    known = {member.value.casefold(): member for member in choices}
    chosen: set[Choice] = set()
    for value in values or []:
        for part in filter(None, (piece.strip() for piece in value.split(","))):
            member = known.get(part.casefold())
            if member is None:
                allowed = ", ".join(member.value for member in choices)
                fail(f"{option} {part!r} is not a known {noun}; use one of {allowed}")
            chosen.add(member)
    return frozenset(chosen)


def parse_item_filter(
    results: list[str] | None,
    actions: list[str] | None,
    types: list[str] | None,
    changed: bool | None,
    search: str,
) -> ItemFilter:
    """The filter the options select; an unknown result, action or type ends the command."""
    return ItemFilter(
        results=_choices(results, Result, "--result", "result"),
        actions=_choices(actions, Action, "--action", "action"),
        types=_choices(types, ItemType, "--type", "item type"),
        changed=changed,
        search=search.strip(),
    )


class _Counted:
    """Items passed through, counted: how many were read and how many the filter kept."""

    def __init__(self, items: Iterable[ReportItem], item_filter: ItemFilter) -> None:
        self._items = items
        self._filter = item_filter
        self.read = 0
        self.kept = 0

    def __iter__(self) -> Iterator[ReportItem]:
        for item in self._items:
            self.read += 1
            if self._filter.matches(item):
                self.kept += 1
                yield item


def _complete_report(kube: Kube, namespace: str, name: str) -> SyncReport:
    report = _read_report(kube, namespace, name)
    try:
        ensure_complete(report)
    except ReportNotReady as exc:
        fail(str(exc))
    return report


# -- report list | show | export -------------------------------------------------------------


def print_report_list(options: ClusterOptions, provisioning: str | None, *, wide: bool) -> None:
    """The SyncReports of a namespace as a borderless table, oldest first."""
    with cluster(options) as (kube, ns):
        reports = list_reports(kube, ns, provisioning)
    if not reports:
        whose = f"GoogleProvisioning {ns}/{provisioning}" if provisioning else f"namespace {ns}"
        none_yet = f"No SyncReports for {whose} yet; one is created when a sync starts."
        out.print(plain(none_yet), soft_wrap=True)
        return
    now = datetime.now(UTC)
    # Report names start with their provisioning's name: a column for it only helps with several.
    several = len({report.spec.provisioning_ref.name for report in reports}) > 1
    # In a narrow terminal the start time goes first (the name holds it, to the minute), then the
    # trigger and the duration (`report show` has them), so names are never cut: `report show
    # NAME` needs them whole. --wide keeps every column.
    started, trigger, duration = "Started (UTC)", "Trigger", "Duration"
    drops = [()] if wide else [(), (started,), (started, trigger), (started, trigger, duration)]
    tables = [_report_table(ns, reports, now, several=several, wide=wide, drop=drop) for drop in drops]
    out.print(FirstThatFits(*tables))


def _report_table(
    ns: str, reports: list[SyncReport], now: datetime, *, several: bool, wide: bool, drop: tuple[str, ...]
) -> Table:
    # Borderless like `kubectl get`: the report names and timestamps must fit a normal terminal.
    table = Table(
        title=plain(f"SyncReports in {ns} (oldest first)"),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    shown = [
        column
        for column in ("Name", "Provisioning", "Trigger", "Phase", "Started (UTC)", "Duration")
        if column not in drop and (column != "Provisioning" or several)
    ]
    for column in shown:
        table.add_column(column, no_wrap=True)
    for column in ("Created", "Updated", "Removed", "Failed"):  # the kubectl printer columns' words
        table.add_column(column, justify="right", no_wrap=True)
    if wide:
        table.add_column("Message", overflow="ellipsis", min_width=30)
    for report in reports:
        status, users = report.status, report.status.summary.users
        counts = (
            ["", "", "", ""]
            if status.phase in ACTIVE_PHASES
            else [str(users.created), str(users.updated), str(users.deprovisioned), str(users.failed)]
        )
        cells: dict[str, RenderableType] = {  # Text, not markup: every value is read from the cluster
            "Name": plain(report.metadata.get("name", "")),
            "Provisioning": plain(report.spec.provisioning_ref.name),
            "Trigger": plain(str(report.spec.trigger) + (" (dry run)" if report.spec.dry_run else "")),
            "Phase": styled(status.phase, PHASE_STYLES),
            "Started (UTC)": f"{status.start_time:%Y-%m-%d %H:%M}" if status.start_time else "-",
            "Duration": _duration(report, now),
        }
        table.add_row(
            *(cells[column] for column in shown),
            *counts,
            *([plain(status.message, multiline=True)] if wide else []),
        )
    return table


def print_report(options: ClusterOptions, name: str, item_filter: ItemFilter, limit: int) -> None:
    """A finished sync's panel, then its items (the first `limit` that pass the filter)."""
    with cluster(options) as (kube, ns):
        report = _complete_report(kube, ns, name)
        _show(report, ns, iter_report_items(kube, report), item_filter, limit)


def print_report_file(path: str, item_filter: ItemFilter, limit: int) -> None:
    """The same as `print_report`, for a report `gwsync sync -o` wrote to a file."""
    report, items = _read_report_file(path)
    _show(report, str(report.metadata.get("namespace") or "default"), items, item_filter, limit)


def _read_report_file(path: str) -> tuple[SyncReport, list[ReportItem]]:
    try:
        report, items = read_report_file(path)
        ensure_complete(report)
    except (ReportFileError, ReportNotReady) as exc:
        fail(str(exc))
    return report, items


def _show(
    report: SyncReport, namespace: str, stored: Iterable[ReportItem], item_filter: ItemFilter, limit: int
) -> None:
    out.print(_report_panel(report, namespace))
    items = _Counted(stored, item_filter)
    table = item_table(items, title="Items", limit=limit)
    if items.kept:
        out.print(table)
    filtered = item_filter != ItemFilter()
    if not items.read:
        out.print("This report stored no items.")
    elif filtered:
        out.print(f"{items.kept} of {counted(items.read, 'item')} match the filters.")
    else:
        out.print(f"{counted(items.read, 'item')}.")


def _report_panel(report: SyncReport, namespace: str) -> Panel:
    status, spec = report.status, report.spec
    rows: list[tuple[str, RenderableType]] = [
        ("Phase", styled(status.phase, PHASE_STYLES)),
        ("Trigger", str(spec.trigger) + (" (dry run: nothing was changed)" if spec.dry_run else "")),
        ("Provisioning", f"{namespace}/{spec.provisioning_ref.name}"),
        ("Started", format_time(status.start_time)),
        ("Finished", format_time(status.completion_time)),
        ("Duration", status.duration or "-"),
        ("Message", plain(status.message or "-", multiline=True)),
        *summary_lines(status.summary),
        ("Items stored", str(status.item_count)),
    ]
    title = plain(f"SyncReport {namespace}/{report.metadata.get('name', '?')}")
    return Panel(fields_grid(rows), title=title, expand=False)


Write = Callable[[Iterable[ReportItem], TextIO], int]
"""Writes the items to a text stream; returns how many."""


EXPORT_FORMATS: dict[str, Write] = {
    "csv": write_csv,
    "jsonl": write_jsonl,
}


def _writer(output: str | None, format_: str | None) -> Write:
    """How the export is written: --format, else the -o file's extension; a mismatch ends the command."""
    try:
        return EXPORT_FORMATS[export_format(output, format_)]
    except ReportFileError as exc:
        fail(str(exc))


def export_report(
    options: ClusterOptions,
    name: str,
    item_filter: ItemFilter,
    output: str | None,
    format_: str | None = None,
) -> None:
    """Every item of a finished sync that passes the filter, as CSV or JSON lines to `output`
    (default stdout)."""
    write = _writer(output, format_)
    with cluster(options) as (kube, ns):
        report = _complete_report(kube, ns, name)
        _export(item_filter.apply(iter_report_items(kube, report)), output, write)


def export_report_file(path: str, item_filter: ItemFilter, output: str | None, format_: str | None) -> None:
    """The same as `export_report`, for a report `gwsync sync -o` wrote to a file."""
    write = _writer(output, format_)
    _report, items = _read_report_file(path)
    _export(item_filter.apply(items), output, write)


def _export(items: Iterable[ReportItem], output: str | None, write: Write) -> None:
    if output is None or output == STDIO:
        _to_stdout(items, write)
        return
    count = _to_file(items, Path(output), write)
    err.print(plain(f"Wrote {counted(count, 'item')} to {output}."), soft_wrap=True)


def _to_stdout(items: Iterable[ReportItem], write: Write) -> int:
    """UTF-8 whatever the locale, with the CSV's own CRLF line ends untouched."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        return write(items, sys.stdout)
    stream = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
    try:
        return write(items, stream)
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        with suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(1) from None
    finally:
        with suppress(BrokenPipeError, ValueError):
            stream.flush()
        stream.detach()


def _to_file(items: Iterable[ReportItem], path: Path, write: Write) -> int:
    """Written beside the target and renamed over it, so a failed export leaves no partial file."""
    directory = path.parent
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    except OSError as exc:
        _cannot_write(path, exc)
    try:
        with open(handle, "w", encoding="utf-8", newline="") as stream:
            count = write(items, stream)
        os.replace(temporary, path)
    except OSError as exc:
        _cannot_write(path, exc)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
    return count


def _cannot_write(path: Path, exc: OSError) -> NoReturn:
    fail(f"Cannot write {path}: {exc.strerror or exc}; choose another file with -o")
