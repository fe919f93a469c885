"""`gwsync groups search TEXT`: the seed's group type-ahead, with a GoogleProvisioning's credentials.

It connects to Google exactly as the operator does (the same Secret, the same delegation).
Declares the command only; its body imports `groups_view` (both clients) when it runs.
"""

from typing import Annotated

import typer

from gwsync.cli.options import ClusterOptions, cluster_command, command_group

DEFAULT_GROUP_LIMIT = 20


@cluster_command
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
    *,
    cluster: ClusterOptions,
) -> None:
    """Find Google groups by the start of their name or email (to fill members.groups or teams)."""
    from gwsync.cli.groups_view import print_groups

    print_groups(cluster, provisioning, text, limit)


def register(app: typer.Typer) -> None:
    """Add `groups search` to the CLI."""
    command_group(
        app,
        "groups",
        "Look up Google groups with a GoogleProvisioning's credentials.",
        {"search": groups_search},
    )
