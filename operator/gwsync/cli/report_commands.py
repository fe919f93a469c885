"""`gwsync report list|show|export`: SyncReports and every item of their item store.

Filters (`--result`, `--action`, `--type`, `--changed`, `--search`) apply the same way to
`show` and `export`; a report whose sync has not completed is refused with the seed's sentence.
`show` and `export` also read a report file `gwsync sync -o` wrote (`--file`), with the same views.
This module only declares the commands (for `--help` and completion); each body imports
`report_views`, which needs the Kubernetes client, when it runs.
"""

from typing import Annotated

import typer

from gwsync.cli.options import (
    ClusterOptions,
    cluster_command,
    command_group,
    output_option,
    value_option,
)

DEFAULT_ITEM_LIMIT = 500

# -- report filters --------------------------------------------------------------------------

ResultOption = Annotated[
    list[str] | None,
    value_option(
        "--result",
        metavar="RESULT",
        help="Only items with this result (repeatable): Succeeded, Failed, Skipped, Planned.",
    ),
]
ActionOption = Annotated[
    list[str] | None,
    value_option(
        "--action",
        metavar="ACTION",
        help="Only items with this action (repeatable): Create, Update, Rename, Adopt, Deprovision, "
        "Delete, Unchanged, AddMember, RemoveMember.",
    ),
]
TypeOption = Annotated[
    list[str] | None,
    value_option(
        "--type", metavar="TYPE", help="Only items of this type (repeatable): User, Team, Membership."
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
    value_option(
        "--search", metavar="TEXT", help="Only items whose key, details or ids contain this text (any case)."
    ),
]


@cluster_command
def report_list(
    provisioning: Annotated[
        str | None,
        typer.Option(
            "--provisioning", "-p", metavar="NAME", help="Only the reports of this GoogleProvisioning."
        ),
    ] = None,
    *,
    cluster: ClusterOptions,
    wide: Annotated[
        bool, typer.Option("--wide", "-w", help="Add each report's one-sentence message.")
    ] = False,
) -> None:
    """List the SyncReports of a namespace, oldest first (the newest is the last row)."""
    from gwsync.cli.report_views import print_report_list

    print_report_list(cluster, provisioning, wide=wide)


NameArgument = Annotated[
    str | None,
    typer.Argument(
        help="Name of the SyncReport (see `gwsync report list`); or give --file.", show_default=False
    ),
]
FileOption = Annotated[
    str | None,
    value_option(
        "--file",
        metavar="FILE",
        help="Read the SyncReport from FILE, as `gwsync sync -o FILE` wrote it (JSON or YAML; - reads "
        "standard input), instead of from the cluster.",
    ),
]


def _name_or_file(name: str | None, file: str | None) -> None:
    """Exactly one of NAME and --file; otherwise one sentence and exit 1."""
    if name is not None and file is not None:
        from gwsync.cli.output import fail

        fail("Give the name of a SyncReport in the cluster or --file FILE, not both")
    if name is None and file is None:
        from gwsync.cli.output import fail

        fail(
            "Name the SyncReport to read (see `gwsync report list`), or give --file FILE "
            "written by `gwsync sync -o`"
        )


@cluster_command
def report_show(
    name: NameArgument = None,
    file: FileOption = None,
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
    *,
    cluster: ClusterOptions,
) -> None:
    """Show a finished sync: its outcome and counts, then its items (every stored item, filtered)."""
    _name_or_file(name, file)
    from gwsync.cli.report_views import parse_item_filter, print_report, print_report_file

    item_filter = parse_item_filter(result, action, type_, changed, search)
    if file is not None:
        print_report_file(file, item_filter, limit)
    else:
        print_report(cluster, str(name), item_filter, limit)


@cluster_command
def report_export(
    name: NameArgument = None,
    file: FileOption = None,
    output: Annotated[
        str | None,
        output_option(
            "FILE",
            "File to write, .csv or .jsonl (default, or -: standard output).",
        ),
    ] = None,
    format_: Annotated[
        str | None,
        value_option(
            "--format",
            metavar="FORMAT",
            help="csv, or jsonl: one JSON object per item (camelCase, as `kubectl get syncreport` "
            "shows the notable ones), for jq and scripts; to a terminal, control and format characters "
            "are written as JSON \\u escapes. Default: the -o file's extension, else csv.",
        ),
    ] = None,
    result: ResultOption = None,
    action: ActionOption = None,
    type_: TypeOption = None,
    changed: ChangedOption = None,
    search: SearchOption = "",
    *,
    cluster: ClusterOptions,
) -> None:
    """Export every item of a finished sync as CSV (UTF-8, RFC 4180) or JSON lines, filtered
    like `report show`.

    A CSV cell that starts with = + - or @ gets a leading ' so spreadsheets show it as text,
    never run it as a formula; control characters are written visibly, as \\x1b.
    """
    _name_or_file(name, file)
    from gwsync.cli.report_views import export_report, export_report_file, parse_item_filter

    item_filter = parse_item_filter(result, action, type_, changed, search)
    if file is not None:
        export_report_file(file, item_filter, output, format_)
    else:
        export_report(cluster, str(name), item_filter, output, format_)


def register(app: typer.Typer) -> None:
    """Add `report list|show|export` to the CLI."""
    command_group(
        app,
        "report",
        "Read SyncReports: list them, show one with its items, export its items as CSV or JSON lines.",
        {"list": report_list, "show": report_show, "export": report_export},
    )
