"""`gwsync status NAME`: a GoogleProvisioning's conditions, last and next sync, Google connection.

Declares the command only; its body imports `status_view` (the Kubernetes client) when it runs.
"""

from typing import Annotated

import typer

from gwsync.cli.options import ClusterOptions, cluster_command


@cluster_command
def status(
    name: Annotated[str, typer.Argument(help="Name of the GoogleProvisioning.")], cluster: ClusterOptions
) -> None:
    """Show a GoogleProvisioning's conditions, last and next sync, and Google connection."""
    from gwsync.cli.status_view import print_status

    print_status(cluster, name)


def register(app: typer.Typer) -> None:
    """Add `status` to the CLI."""
    app.command("status")(status)
