"""What the command modules declare their commands with: `cluster_command` for a command that
reads the cluster (the same four options: namespace, kubeconfig, context, server),
`value_option` for an option taking a value, `output_option` for -o, `command_group` for a
group of subcommands.

Declarations only: the command tree imports this module to build `--help` and completions, so
it must not import the Kubernetes client (`gwsync.cli.cluster` connects, when a command runs).
"""

import functools
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer


def value_option(*names: str, metavar: str, help: str, **settings: Any) -> Any:
    """An option taking a value shown as METAVAR in `--help`, without a default there (it has
    none worth showing: not given, or empty)."""
    return typer.Option(*names, metavar=metavar, help=help, show_default=False, **settings)


def output_option(metavar: str, help: str) -> Any:
    """`-o/--output METAVAR`: the file a command writes (FILE) or the format it prints (FORMAT)."""
    return value_option("--output", "-o", metavar=metavar, help=help)


def command_group(app: typer.Typer, name: str, help: str, commands: dict[str, Callable[..., None]]) -> None:
    """Add `gwsync NAME COMMAND` for each of `commands`; `gwsync NAME` alone prints its help."""
    group = typer.Typer(name=name, help=help, no_args_is_help=True)
    for command, function in commands.items():
        group.command(command)(function)
    app.add_typer(group)


def no_pydantic_plugins() -> None:
    """Pydantic looks for plugins among every installed package's entry points when it builds
    the first model; a command run outside the operator has none to load (the user's own
    setting wins)."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


NamespaceOption = Annotated[
    str | None,
    value_option(
        "--namespace",
        "-n",
        metavar="NAMESPACE",
        help="Namespace to read (default: the kubeconfig context's namespace, else default).",
    ),
]
KubeconfigOption = Annotated[
    Path | None,
    value_option(
        "--kubeconfig",
        metavar="PATH",
        help="Kubeconfig file (default: the first file of $KUBECONFIG, else ~/.kube/config).",
        dir_okay=False,
    ),
]
ContextOption = Annotated[
    str | None,
    value_option("--context", metavar="NAME", help="Kubeconfig context to use (default: the current one)."),
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


CLUSTER_OPTIONS = (
    ("namespace", NamespaceOption),
    ("kubeconfig", KubeconfigOption),
    ("context", ContextOption),
    ("server", ServerOption),
)


def cluster_command(command: Callable[..., None]) -> Callable[..., None]:
    """`command`, which takes `cluster: ClusterOptions`, as the CLI declares it: with
    --namespace, --kubeconfig, --context and --server where `cluster` stands.

    typer reads a command's options from its signature only, so the signature it is given
    has the four options in place of `cluster`, and they reach `command` as one ClusterOptions.
    """
    signature = inspect.signature(command)
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        if parameter.name != "cluster":
            parameters.append(parameter)
            continue
        for name, option in CLUSTER_OPTIONS:
            parameters.append(inspect.Parameter(name, parameter.kind, default=None, annotation=option))

    @functools.wraps(command)
    def run(**given: Any) -> None:
        cluster = ClusterOptions(*(given.pop(name) for name, _ in CLUSTER_OPTIONS))
        command(**given, cluster=cluster)

    setattr(run, "__signature__", signature.replace(parameters=parameters))  # noqa: B010 (mypy: no such attribute)
    return run
