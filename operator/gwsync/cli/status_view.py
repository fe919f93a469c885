"""What `gwsync status NAME` does once parsed: read a GoogleProvisioning and print its state.

Imported by the command body in `status_command.py` when it runs (it needs the Kubernetes
client and the API models, which `--help` and completion must not pay for).
"""

from datetime import UTC, datetime

from rich.console import RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gwsync.api import constants as c
from gwsync.api.common import Condition
from gwsync.api.provisioning import GoogleProvisioningSpec, GoogleProvisioningStatus
from gwsync.api.report import ACTIVE_PHASES
from gwsync.cli.cluster import (
    PHASE_STYLES,
    cluster,
    fields_grid,
    format_time,
    provisioning_spec,
    read_provisioning,
    styled,
    summary_lines,
)
from gwsync.cli.options import ClusterOptions
from gwsync.cli.output import out, plain, printable
from gwsync.controller.schedule import next_sync
from gwsync.kube.reports import (
    timestamp,
)

CONDITION_STYLES = {"True": "green", "False": "red", "Unknown": "yellow"}


def print_status(options: ClusterOptions, name: str) -> None:
    """The GoogleProvisioning's panel (active, Google, last and next sync), then its conditions."""
    with cluster(options) as (kube, ns):
        obj = read_provisioning(kube, ns, name)
    spec = provisioning_spec(obj, ns, name)
    state = GoogleProvisioningStatus.model_validate(obj.get("status") or {})
    annotations = dict((obj.get("metadata") or {}).get("annotations") or {})
    now = datetime.now(UTC)
    rows: list[tuple[str, RenderableType]] = [
        ("Active", _active(state.conditions, spec)),
        ("Google", _google(state)),
        *_last_sync(state, now),
        ("Last success", format_time(state.last_successful_sync_time, now)),
        ("Next sync", _next_sync(spec, state, annotations, now)),
        ("Mode", "dry run (plans and reports, changes nothing)" if spec.dry_run else "applies changes"),
    ]
    out.print(Panel(fields_grid(rows), title=plain(f"GoogleProvisioning {ns}/{name}"), expand=False))
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
        why = f" ({active.reason}: {active.message})" if active.message else f" ({active.reason})"
        text.append(printable(why))
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
    line = plain(f"{last.report} ")
    line.append_text(styled(last.phase or "?", PHASE_STYLES))
    if last.trigger:
        line.append_text(plain(f", {last.trigger}"))
    line.append(f", {'finished' if last.completion_time else 'started'} {format_time(when, now)}")
    rows: list[tuple[str, RenderableType]] = [("Last sync", line)]
    if last.summary is not None:
        rows += [(f"  {label}", value) for label, value in summary_lines(last.summary)]
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
    if upcoming.approval is not None:
        return f"now: removals approved ({c.APPROVE_DEPROVISIONING}={upcoming.approval})"
    if upcoming.due is None:
        return "not scheduled: suspended (request one with the gwsync.io/sync-requested-at annotation)"
    due = state.next_sync_time or upcoming.due
    if due <= now:
        return f"due now ({upcoming.trigger})"
    return f"{format_time(due, now)}, {upcoming.trigger}"


def _conditions_table(conditions: list[Condition], now: datetime) -> Table:
    table = Table(title="Conditions")
    for column in ("Type", "Status", "Reason", "Message", "Last transition"):
        table.add_column(column, overflow="ellipsis", no_wrap=column in ("Type", "Status"))
    for cond in conditions:
        table.add_row(  # Text, not markup: conditions are read from the cluster
            plain(cond.type),
            styled(cond.status, CONDITION_STYLES),
            plain(cond.reason),
            plain(cond.message, multiline=True),
            format_time(cond.last_transition_time, now),
        )
    if not conditions:
        table.caption = "No conditions yet: the operator has not processed this GoogleProvisioning."
    return table
