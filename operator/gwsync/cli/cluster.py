"""The commands that read what the operator recorded in a cluster (also as `kubectl gwsync ...`).

`report list|show|export` read SyncReports and every item of their item store, `status`
summarizes a GoogleProvisioning, and `groups search` is the seed's group type-ahead, made with
the GoogleProvisioning's own credentials exactly as the operator connects. They reach the
cluster like kubectl does (kubeconfig, context, the context's namespace), and every problem a
user can fix ends as one sentence on stderr with exit code 1.
"""

import asyncio
import io
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich import box
from rich.console import RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gwsync.api import constants as c
from gwsync.api.common import Condition
from gwsync.api.provisioning import GoogleProvisioningSpec, GoogleProvisioningStatus, SyncSummary
from gwsync.api.report import Action, ItemType, ReportItem, Result, SyncReport
from gwsync.cli.output import err, fail, out
from gwsync.cli.reports import ItemFilter, ReportNotReady, ensure_complete, item_table, write_csv
from gwsync.controller.schedule import next_sync
from gwsync.kube.client import (
    PROVISIONINGS,
    Kube,
    KubeApiError,
    KubeConfigError,
    KubeNotFound,
    connect,
    context_namespace,
)
from gwsync.kube.reports import (
    ACTIVE_PHASES,
    format_duration,
    iter_report_items,
    list_namespace_reports,
    read_report,
    timestamp,
)
from gwsync.sync.ports import SourceUnavailable

if TYPE_CHECKING:
    from gwsync.sources.google import GroupInfo

DEFAULT_ITEM_LIMIT = 500
DEFAULT_GROUP_LIMIT = 20
PHASE_STYLES = {
    "Succeeded": "green",
    "PartiallySucceeded": "yellow",
    "Failed": "bold red",
    "Blocked": "bold yellow",
    "Interrupted": "red",
    "Running": "cyan",
    "Pending": "cyan",
}
CONDITION_STYLES = {"True": "green", "False": "red", "Unknown": "yellow"}

# -- options every command takes ---------------------------------------------------------------

NamespaceOption = Annotated[
    str | None,
    typer.Option(
        "--namespace",
        "-n",
        metavar="NAMESPACE",
        help="Namespace to read (default: the kubeconfig context's namespace, else default).",
        show_default=False,
    ),
]
KubeconfigOption = Annotated[
    Path | None,
    typer.Option(
        "--kubeconfig",
        metavar="PATH",
        help="Kubeconfig file (default: the first file of $KUBECONFIG, else ~/.kube/config).",
        dir_okay=False,
        show_default=False,
    ),
]
ContextOption = Annotated[
    str | None,
    typer.Option(
        "--context",
        metavar="NAME",
        help="Kubeconfig context to use (default: the current one).",
        show_default=False,
    ),
]
ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        hidden=True,
        metavar="URL",
        help="Talk to this API server URL directly, without a kubeconfig.",
    ),
]

# -- report filters --------------------------------------------------------------------------

ResultOption = Annotated[
    list[str] | None,
    typer.Option(
        "--result",
        metavar="RESULT",
        help="Only items with this result (repeatable): Succeeded, Failed, Skipped, Planned.",
        show_default=False,
    ),
]
ActionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--action",
        metavar="ACTION",
        help="Only items with this action (repeatable): Create, Update, Rename, Adopt, Deprovision, "
        "Delete, Unchanged, AddMember, RemoveMember.",
        show_default=False,
    ),
]
TypeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--type",
        metavar="TYPE",
        help="Only items of this type (repeatable): User, Team, Membership.",
        show_default=False,
    ),
]
ChangedOption = Annotated[
    bool | None,
    typer.Option(
        "--changed/--unchanged",
        help="Only items whose data changed since the last sync, or only those whose data did not.",
        show_default=False,
    ),
]
SearchOption = Annotated[
    str,
    typer.Option(
        "--search",
        metavar="TEXT",
        help="Only items whose key, details or ids contain this text (any case).",
        show_default=False,
    ),
]

Choice = TypeVar("Choice", bound=StrEnum)


@dataclass(frozen=True)
class ClusterOptions:
    """How to reach the cluster and which namespace to read, as the user gave them."""

    namespace: str | None
    kubeconfig: Path | None
    context: str | None
    server: str | None

    def resolve_namespace(self) -> str:
        if self.namespace:
            return self.namespace
        if self.server:
            return "default"
        return context_namespace(self.kubeconfig, self.context)

    def source(self) -> str:
        """Where the server address came from, for messages."""
        if self.server:
            return ""
        if self.kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            return " (in-cluster configuration)"
        path = self.kubeconfig or (os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or "~/.kube/config")
        context = f", context {self.context}" if self.context else ""
        return f" (from kubeconfig {path}{context})"


def _unreachable(server: str, options: ClusterOptions, exc: KubeApiError) -> str:
    where = f"the Kubernetes API server at {server}{options.source()}"
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return (
            f"The TLS certificate of {where} is not trusted; check the cluster's certificate-authority "
            "in the kubeconfig"
        )
    return (
        f"Cannot reach {where}; check that the cluster is running, or choose another one with "
        "--kubeconfig or --context"
    )


@contextmanager
def cluster(options: ClusterOptions) -> Iterator[tuple[Kube, str]]:
    """A connected client and the namespace to read; API and config problems become one sentence."""
    try:
        kube = connect(options.server, kubeconfig=options.kubeconfig, context=options.context)
    except KubeConfigError as exc:
        fail(str(exc))
    namespace = options.resolve_namespace()
    try:
        yield kube, namespace
    except KubeApiError as exc:
        if exc.status == 0:
            fail(_unreachable(kube.server, options, exc))
        if exc.status in (401, 403):
            fail(
                f"{exc} (the Kubernetes API refused the request); check that your kubeconfig user may "
                f"read gwsync resources in namespace {namespace}"
            )
        fail(str(exc))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        fail(
            f"An object in namespace {namespace} does not match gwsync's API ({where}: {first['msg']}); "
            "use a gwsync CLI of the same version as the operator"
        )
    finally:
        kube.close()


def _options(
    namespace: str | None, kubeconfig: Path | None, context: str | None, server: str | None
) -> ClusterOptions:
    return ClusterOptions(namespace=namespace, kubeconfig=kubeconfig, context=context, server=server)


def _list_hint(namespace: str) -> str:
    return "" if namespace == "default" else f" -n {namespace}"


# -- reading objects ---------------------------------------------------------------------------


def _read_report(kube: Kube, namespace: str, name: str) -> SyncReport:
    try:
        return read_report(kube, namespace, name)
    except KubeNotFound:
        fail(
            f"SyncReport {namespace}/{name} does not exist; list reports with "
            f"`gwsync report list{_list_hint(namespace)}`."
        )


def _read_provisioning(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    try:
        return kube.get(PROVISIONINGS, namespace, name)
    except KubeNotFound:
        fail(
            f"GoogleProvisioning {namespace}/{name} does not exist; list them with "
            f"`kubectl get gprov -n {namespace}`."
        )


def _provisioning_spec(obj: dict[str, Any], namespace: str, name: str) -> GoogleProvisioningSpec:
    try:
        return GoogleProvisioningSpec.model_validate(obj.get("spec") or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in ("spec", *first["loc"]))
        fail(
            f"GoogleProvisioning {namespace}/{name} is not valid ({where}: {first['msg']}); "
            "check it with `gwsync validate`"
        )


# -- formatting --------------------------------------------------------------------------------


def _styled(value: str, styles: dict[str, str]) -> Text:
    return Text(value, style=styles.get(value, ""))


def _time(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return "-"
    shown = timestamp(moment)
    if now is None:
        return shown
    if moment <= now:
        return f"{shown} ({format_duration(now - moment)} ago)"
    return f"{shown} (in {format_duration(moment - now)})"


def _duration(report: SyncReport, now: datetime) -> str:
    status = report.status
    if status.duration:
        return status.duration
    if status.start_time is None:
        return "-"
    if status.completion_time is not None:
        return format_duration(status.completion_time - status.start_time)
    return f"{format_duration(now - status.start_time)} so far"


def _summary_lines(summary: SyncSummary) -> list[tuple[str, str]]:
    users, teams, members = summary.users, summary.teams, summary.memberships
    return [
        (
            "Users",
            f"{users.created} created, {users.updated} updated, {users.renamed} renamed, "
            f"{users.adopted} adopted, {users.deprovisioned} deprovisioned, {users.held} held, "
            f"{users.unchanged} unchanged, {users.failed} failed",
        ),
        ("Teams", f"{teams.created} created, {teams.unchanged} unchanged, {teams.failed} failed"),
        ("Memberships", f"{members.added} added, {members.removed} removed, {members.failed} failed"),
    ]


def _fields(rows: Iterable[tuple[str, RenderableType]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in rows:
        grid.add_row(label, Text(value) if isinstance(value, str) else value)
    return grid


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


def _item_filter(
    results: list[str] | None,
    actions: list[str] | None,
    types: list[str] | None,
    changed: bool | None,
    search: str,
) -> ItemFilter:
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


def report_list(
    provisioning: Annotated[
        str | None,
        typer.Option(
            "--provisioning", "-p", metavar="NAME", help="Only the reports of this GoogleProvisioning."
        ),
    ] = None,
    namespace: NamespaceOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    server: ServerOption = None,
    wide: Annotated[
        bool, typer.Option("--wide", "-w", help="Add each report's one-sentence message.")
    ] = False,
) -> None:
    """List the SyncReports of a namespace, oldest first (the newest is the last row)."""
    with cluster(_options(namespace, kubeconfig, context, server)) as (kube, ns):
        reports = list_namespace_reports(kube, ns, provisioning)
    if not reports:
        whose = f"GoogleProvisioning {ns}/{provisioning}" if provisioning else f"namespace {ns}"
        out.print(f"No SyncReports for {whose} yet; one is created when a sync starts.", soft_wrap=True)
        return
    now = datetime.now(UTC)
    # Borderless like `kubectl get`: the report names and timestamps must fit a normal terminal.
    table = Table(
        title=f"SyncReports in {ns} (oldest first)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    # Report names start with their provisioning's name: a column for it only helps with several.
    several = len({report.spec.provisioning_ref.name for report in reports}) > 1
    for column in ("Name", "Provisioning", "Trigger", "Phase", "Started (UTC)", "Duration"):
        if column != "Provisioning" or several:
            table.add_column(column, no_wrap=True)
    for column in ("Created", "Updated", "Removed", "Failed"):  # the kubectl printer columns' words
        table.add_column(column, justify="right", no_wrap=True)
    if wide:
        table.add_column("Message", overflow="fold", min_width=30)
    for report in reports:
        status, users = report.status, report.status.summary.users
        counts = (
            ["", "", "", ""]
            if status.phase in ACTIVE_PHASES
            else [str(users.created), str(users.updated), str(users.deprovisioned), str(users.failed)]
        )
        table.add_row(
            str(report.metadata.get("name", "")),
            *([report.spec.provisioning_ref.name] if several else []),
            str(report.spec.trigger) + (" (dry run)" if report.spec.dry_run else ""),
            _styled(status.phase, PHASE_STYLES),
            f"{status.start_time:%Y-%m-%d %H:%M}" if status.start_time else "-",
            _duration(report, now),
            *counts,
            *([Text(status.message)] if wide else []),
        )
    out.print(table)


def report_show(
    name: Annotated[str, typer.Argument(help="Name of the SyncReport (see `gwsync report list`).")],
    result: ResultOption = None,
    action: ActionOption = None,
    type_: TypeOption = None,
    changed: ChangedOption = None,
    search: SearchOption = "",
    limit: Annotated[
        int,
        typer.Option(
            "--limit", min=1, metavar="N", help="Show at most this many items (export has them all)."
        ),
    ] = DEFAULT_ITEM_LIMIT,
    namespace: NamespaceOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    server: ServerOption = None,
) -> None:
    """Show a finished sync: its outcome and counts, then its items (every stored item, filtered)."""
    item_filter = _item_filter(result, action, type_, changed, search)
    with cluster(_options(namespace, kubeconfig, context, server)) as (kube, ns):
        report = _complete_report(kube, ns, name)
        out.print(_report_panel(report, ns))
        items = _Counted(iter_report_items(kube, report), item_filter)
        table = item_table(items, title="Items", limit=limit)
        if items.kept:
            out.print(table)
    filtered = item_filter != ItemFilter()
    if not items.read:
        out.print("This report stored no items.")
    elif filtered:
        out.print(f"{items.kept} of {items.read} items match the filters.")
    else:
        out.print(f"{items.read} items.")


def _report_panel(report: SyncReport, namespace: str) -> Panel:
    status, spec = report.status, report.spec
    rows: list[tuple[str, RenderableType]] = [
        ("Phase", _styled(status.phase, PHASE_STYLES)),
        ("Trigger", str(spec.trigger) + (" (dry run: nothing was changed)" if spec.dry_run else "")),
        ("Provisioning", f"{namespace}/{spec.provisioning_ref.name}"),
        ("Started", _time(status.start_time)),
        ("Finished", _time(status.completion_time)),
        ("Duration", status.duration or "-"),
        ("Message", Text(status.message or "-")),
        *_summary_lines(status.summary),
        ("Items stored", str(status.item_count)),
    ]
    return Panel(
        _fields(rows), title=f"SyncReport {namespace}/{report.metadata.get('name', '?')}", expand=False
    )


def report_export(
    name: Annotated[str, typer.Argument(help="Name of the SyncReport (see `gwsync report list`).")],
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="CSV file to write (default, or -: standard output).",
            show_default=False,
        ),
    ] = None,
    result: ResultOption = None,
    action: ActionOption = None,
    type_: TypeOption = None,
    changed: ChangedOption = None,
    search: SearchOption = "",
    namespace: NamespaceOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    server: ServerOption = None,
) -> None:
    """Export every item of a finished sync as CSV (UTF-8, RFC 4180), filtered like `report show`."""
    item_filter = _item_filter(result, action, type_, changed, search)
    with cluster(_options(namespace, kubeconfig, context, server)) as (kube, ns):
        report = _complete_report(kube, ns, name)
        items = item_filter.apply(iter_report_items(kube, report))
        if output is None or output == "-":
            _csv_to_stdout(items)
            return
        count = _csv_to_file(items, Path(output))
    err.print(Text(f"Wrote {count} items to {output}."), soft_wrap=True)


def _csv_to_stdout(items: Iterable[ReportItem]) -> int:
    """UTF-8 whatever the locale, with the CSV's own CRLF line ends untouched."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        return write_csv(items, sys.stdout)
    stream = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
    try:
        return write_csv(items, stream)
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        with suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(1) from None
    finally:
        with suppress(BrokenPipeError, ValueError):
            stream.flush()
        stream.detach()


def _csv_to_file(items: Iterable[ReportItem], path: Path) -> int:
    """Written beside the target and renamed over it, so a failed export leaves no partial file."""
    directory = path.parent
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    except OSError as exc:
        _cannot_write(path, exc)
    try:
        with open(handle, "w", encoding="utf-8", newline="") as stream:
            count = write_csv(items, stream)
        os.replace(temporary, path)
    except OSError as exc:
        _cannot_write(path, exc)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
    return count


def _cannot_write(path: Path, exc: OSError) -> NoReturn:
    fail(f"Cannot write {path}: {exc.strerror or exc}; choose another file with -o")


# -- status --------------------------------------------------------------------------------------


def status(
    name: Annotated[str, typer.Argument(help="Name of the GoogleProvisioning.")],
    namespace: NamespaceOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    server: ServerOption = None,
) -> None:
    """Show a GoogleProvisioning's conditions, last and next sync, and Google connection."""
    with cluster(_options(namespace, kubeconfig, context, server)) as (kube, ns):
        obj = _read_provisioning(kube, ns, name)
    spec = _provisioning_spec(obj, ns, name)
    state = GoogleProvisioningStatus.model_validate(obj.get("status") or {})
    annotations = dict((obj.get("metadata") or {}).get("annotations") or {})
    now = datetime.now(UTC)
    rows: list[tuple[str, RenderableType]] = [
        ("Active", _active(state.conditions, spec)),
        ("Google", _google(state)),
        *_last_sync(state, now),
        ("Last success", _time(state.last_successful_sync_time, now)),
        ("Next sync", _next_sync(spec, state, annotations, now)),
        ("Mode", "dry run (plans and reports, changes nothing)" if spec.dry_run else "applies changes"),
    ]
    out.print(Panel(_fields(rows), title=f"GoogleProvisioning {ns}/{name}", expand=False))
    out.print(_conditions_table(state.conditions, now))


def _active(conditions: list[Condition], spec: GoogleProvisioningSpec) -> Text:
    active = next((cond for cond in conditions if cond.type == c.ACTIVE), None)
    text = Text()
    if active is None:
        text.append("unknown", style="yellow")
        text.append(" (the operator has not reported it yet)")
    elif active.status == "True":
        text.append("yes", style="green")
    else:
        text.append("no", style="red")
        text.append(f" ({active.reason}: {active.message})" if active.message else f" ({active.reason})")
    if spec.suspend:
        text.append("; suspended", style="yellow")
        text.append(": no scheduled syncs (a requested sync still runs)")
    return text


def _google(state: GoogleProvisioningStatus) -> str:
    google = state.google
    if google is None or not (google.customer_id or google.primary_domain):
        return "not connected yet"
    checked = f" (checked {timestamp(google.checked_at)})" if google.checked_at else ""
    return f"customer {google.customer_id or '?'}, domain {google.primary_domain or '?'}{checked}"


def _last_sync(state: GoogleProvisioningStatus, now: datetime) -> list[tuple[str, RenderableType]]:
    last = state.last_sync
    if last is None or last.report is None:
        return [("Last sync", "none yet")]
    when = last.completion_time or last.start_time
    line = Text(f"{last.report} ")
    line.append(last.phase or "?", style=PHASE_STYLES.get(last.phase or "", ""))
    if last.trigger:
        line.append(f", {last.trigger}")
    line.append(f", {'finished' if last.completion_time else 'started'} {_time(when, now)}")
    rows: list[tuple[str, RenderableType]] = [("Last sync", line)]
    if last.summary is not None:
        rows += [(f"  {label}", value) for label, value in _summary_lines(last.summary)]
    return rows


def _next_sync(
    spec: GoogleProvisioningSpec,
    state: GoogleProvisioningStatus,
    annotations: dict[str, str],
    now: datetime,
) -> str:
    if state.last_sync is not None and state.last_sync.phase in ACTIVE_PHASES:
        return f"a sync is running now ({state.last_sync.report})"
    upcoming = next_sync(spec, state, annotations, now)
    if upcoming.request is not None:
        return f"now: sync requested ({c.SYNC_REQUESTED_AT}={upcoming.request})"
    if upcoming.due is None:
        return "not scheduled: suspended (request one with the gwsync.io/sync-requested-at annotation)"
    due = state.next_sync_time or upcoming.due
    if due <= now:
        return f"due now ({upcoming.trigger})"
    return f"{_time(due, now)}, {upcoming.trigger}"


def _conditions_table(conditions: list[Condition], now: datetime) -> Table:
    table = Table(title="Conditions")
    for column in ("Type", "Status", "Reason", "Message", "Last transition"):
        table.add_column(column, overflow="fold", no_wrap=column in ("Type", "Status"))
    for cond in conditions:
        table.add_row(
            cond.type,
            _styled(cond.status, CONDITION_STYLES),
            cond.reason,
            Text(cond.message),
            _time(cond.last_transition_time, now),
        )
    if not conditions:
        table.caption = "No conditions yet: the operator has not processed this GoogleProvisioning."
    return table


# -- groups search -----------------------------------------------------------------------------


def groups_search(
    text: Annotated[str, typer.Argument(help="The start of a group's name or email, e.g. eng.")],
    provisioning: Annotated[
        str,
        typer.Option(
            "--provisioning", "-p", metavar="NAME", help="GoogleProvisioning whose Google credentials to use."
        ),
    ],
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=200, metavar="N", help="Show at most this many groups.")
    ] = DEFAULT_GROUP_LIMIT,
    namespace: NamespaceOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    server: ServerOption = None,
) -> None:
    """Find Google groups by the start of their name or email (to fill members.groups or teams)."""
    # The Google client takes a second to import; only this command needs it.
    from gwsync.controller.syncing import SyncAborted, connect_google

    with cluster(_options(namespace, kubeconfig, context, server)) as (kube, ns):
        spec = _provisioning_spec(_read_provisioning(kube, ns, provisioning), ns, provisioning)
        try:
            directory = asyncio.run(connect_google(kube, ns, spec))
        except (SyncAborted, SourceUnavailable) as exc:
            fail(str(exc))
    try:
        found = directory.search_groups(text, limit)
    except SourceUnavailable as exc:
        fail(str(exc))
    _print_groups(found, text, spec.google.customer_id)


def _print_groups(found: "list[GroupInfo]", text: str, customer: str) -> None:
    if not found:
        out.print(Text(f"No Google group's name or email starts with {text!r} (customer {customer})."))
        return
    table = Table(title=escape(f"Google groups starting with {text!r}"))
    table.add_column("Email", no_wrap=True)
    table.add_column("Name", overflow="fold")
    table.add_column("Members", justify="right")
    for group in found:
        table.add_row(group.email, Text(group.name), str(group.members))
    out.print(table)


# -- registration --------------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    """Add `report list|show|export`, `status` and `groups search` to the CLI."""
    report_app = typer.Typer(
        name="report",
        help="Read SyncReports: list them, show one with its items, export its items as CSV.",
        no_args_is_help=True,
    )
    report_app.command("list")(report_list)
    report_app.command("show")(report_show)
    report_app.command("export")(report_export)
    app.add_typer(report_app)

    app.command("status")(status)

    groups_app = typer.Typer(
        name="groups",
        help="Look up Google groups with a GoogleProvisioning's credentials.",
        no_args_is_help=True,
    )
    groups_app.command("search")(groups_search)
    app.add_typer(groups_app)
