"""The `gwsync` command (also `kubectl gwsync`): typer for parsing, rich for output.

Errors a user can fix are printed as one sentence on stderr with a non-zero exit, never
as a traceback.
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gwsync import __version__
from gwsync.api.crd import render_crds
from gwsync.cli.validate import validate_paths

app = typer.Typer(
    name="gwsync",
    help="Provision Google Workspace people and teams into SCIM 2.0 targets, from Kubernetes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> None:
    """Print one clear sentence and exit non-zero."""
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"gwsync {__version__}")
        raise typer.Exit(0)


@app.command()
def crds() -> None:
    """Print the CustomResourceDefinitions generated from the API models."""
    typer.echo(render_crds(), nl=False)


@app.command()
def validate(
    paths: Annotated[
        list[Path], typer.Argument(help="GoogleProvisioning YAML files or folders (GitOps repos).")
    ],
) -> None:
    """Check GoogleProvisioning manifests offline against the CRD schema and its rules."""
    code = validate_paths(paths, out, err)
    raise typer.Exit(code)


@app.command()
def run(
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", help="Watch only these namespaces (default: all)."),
    ] = None,
    liveness: Annotated[
        str | None,
        typer.Option(help="Serve the liveness probe here, e.g. http://0.0.0.0:8080/healthz."),
    ] = None,
    metrics_port: Annotated[
        int, typer.Option(help="Serve Prometheus metrics on this port (0 disables).")
    ] = 9090,
) -> None:
    """Run the operator against the current kubeconfig or the in-cluster service account."""
    from gwsync.controller.operator import run as run_operator

    run_operator(namespaces=namespace or [], liveness=liveness, metrics_port=metrics_port)


def main() -> None:
    app()
