"""What `gwsync groups search` does once parsed: connect to Google as the operator does, print.

Imported by the command body in `groups_command.py` when it runs: the Kubernetes and Google
clients take a second to import, which `--help` and completion must not pay for.
"""

import asyncio

from rich.table import Table

from gwsync.cli.cluster import cluster, provisioning_spec, read_provisioning
from gwsync.cli.options import ClusterOptions
from gwsync.cli.output import fail, out, plain
from gwsync.controller.syncing import SyncAborted, connect_google
from gwsync.sources.google import GroupInfo
from gwsync.sync.ports import SourceUnavailable


def print_groups(options: ClusterOptions, provisioning: str, text: str, limit: int) -> None:
    """Up to `limit` groups whose name or email starts with `text`, found with those credentials."""
    with cluster(options) as (kube, ns):
        spec = provisioning_spec(read_provisioning(kube, ns, provisioning), ns, provisioning)
        try:
            directory = asyncio.run(connect_google(kube, ns, spec))
        except (SyncAborted, SourceUnavailable) as exc:
            fail(str(exc))
    try:
        found = directory.search_groups(text, limit)
    except SourceUnavailable as exc:
        fail(str(exc))
    _print_groups(found, text, spec.google.customer_id)


def _print_groups(found: list[GroupInfo], text: str, customer: str) -> None:
    if not found:
        none = f"No Google group's name or email starts with {text!r} (customer {customer})."
        out.print(plain(none))
        return
    table = Table(title=plain(f"Google groups starting with {text!r}"))
    table.add_column("Email", no_wrap=True)
    table.add_column("Name", overflow="ellipsis")
    table.add_column("Members", justify="right")
    for group in found:
        table.add_row(plain(group.email), plain(group.name), str(group.members))
    out.print(table)
