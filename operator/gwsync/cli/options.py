"""The options every cluster-reading command takes (namespace, kubeconfig, context, server).

Declarations only: the command tree imports this module to build `--help` and completions, so
it must not import the Kubernetes client (`gwsync.cli.cluster` connects, when a command runs).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

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


@dataclass(frozen=True)
class ClusterOptions:
    """How to reach the cluster and which namespace to read, as the user gave them."""

    namespace: str | None = None
    kubeconfig: Path | None = None
    context: str | None = None
    server: str | None = None
