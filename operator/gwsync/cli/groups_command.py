"""`gwsync groups search TEXT`: the seed's group type-ahead, with a GoogleProvisioning's credentials.

It connects to Google exactly as the operator does (the same Secret, the same delegation).
"""

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from gwsync.cli.cluster import (
    ContextOption,
    KubeconfigOption,
    NamespaceOption,
    ServerOption,
    cluster,
    cluster_options,
    provisioning_spec,
    read_provisioning,
)
from gwsync.cli.output import fail, out
from gwsync.sync.ports import SourceUnavailable

if TYPE_CHECKING:  # the Google client takes a second to import; only the command body needs it
    from gwsync.sources.google import GroupInfo

DEFAULT_GROUP_LIMIT = 20


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

    with cluster(cluster_options(namespace, kubeconfig, context, server)) as (kube, ns):
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


def register(app: typer.Typer) -> None:
    """Add `groups search` to the CLI."""
    groups_app = typer.Typer(
        name="groups",
        help="Look up Google groups with a GoogleProvisioning's credentials.",
        no_args_is_help=True,
    )
    groups_app.command("search")(groups_search)
    app.add_typer(groups_app)
