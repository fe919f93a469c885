"""The `gwsync` command (also `kubectl gwsync`): typer for parsing, rich for output.

Errors a user can fix are printed as one sentence on stderr with a non-zero exit, never
as a traceback.

This module and the command modules it registers only declare the command tree: `--help`,
`--version` and shell completion load nothing else, and each command imports what it uses
(the API models, the Kubernetes, Google and SCIM clients, the operator) when it runs. The
`gwsync.cli.main` import-linter contract and tests/unit/cli/test_startup.py keep it so.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.core import Context
from typer._click.exceptions import UsageError  # typer vendors click (0.29) and exports only BadParameter
from typer.core import TyperGroup

from gwsync import __version__
from gwsync.cli import groups_command, report_commands, status_command, sync_commands
from gwsync.cli.emulate import emulate_app
from gwsync.cli.options import no_pydantic_plugins, output_option
from gwsync.text import escape_logs


@contextmanager
def _usage_errors_exit_1() -> Iterator[None]:
    """A usage error (unknown command or option, missing -f) exits 1, as every other mistake.

    click exits 2 on those, but 2 is `gwsync sync`'s PartiallySucceeded: a script must be able
    to tell "some items failed" from "the command was mistyped". The message stays click's.
    """
    try:
        yield
    except UsageError as exc:
        exc.exit_code = 1
        raise


class _Commands(TyperGroup):
    """The root command group: parses and runs a command; its usage errors exit 1, not 2."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: Context | None = None, **extra: Any
    ) -> Context:
        with _usage_errors_exit_1():  # the root's own options: `gwsync --bogus`
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Context) -> Any:
        with _usage_errors_exit_1():  # the command name, its options and arguments, typer.BadParameter
            return super().invoke(ctx)


app = typer.Typer(
    cls=_Commands,
    name="gwsync",
    help="Provision Google Workspace people and teams into SCIM 2.0 targets, from Kubernetes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help, like kubectl's: typer's rich help imports markdown-it and rich.traceback,
    # half of `gwsync --help`'s time (bench/README.md). Command output stays rich.
    rich_markup_mode=None,
    context_settings={"max_content_width": 120},  # a wide terminal shows each command's whole line
)
__all__ = ["app", "main"]


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"gwsync {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            # Eager: answered while parsing, before a missing command would be an error.
            is_eager=True,
            callback=_print_version,
            expose_value=False,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """The options of `gwsync` itself, before a command (the help text is the Typer's)."""
    escape_logs()  # warnings quote keys and answers from Google and the target


@app.command()
def demo(
    kubeconfig: Annotated[
        Path | None,
        typer.Option(help="Run against this kubeconfig's cluster (CRDs installed) instead of the emulator."),
    ] = None,
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="Namespace for the demo objects.")
    ] = "default",
) -> None:
    """The whole product in under a minute: a sample organization, a SCIM app, two syncs."""
    import logging

    from gwsync.cli.demo import WHAT_HAPPENED, DemoError, run_demo
    from gwsync.cli.output import fail, hanging, out

    def say(text: str) -> None:
        out.print(hanging("→", text, "bold cyan"))

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    escape_logs()
    logging.getLogger("kopf").setLevel(logging.ERROR)  # its start-up notices are not for this audience
    try:
        result = run_demo(out, say, kubeconfig=kubeconfig, namespace=namespace)
    except DemoError as exc:
        fail(str(exc))
    out.print(WHAT_HAPPENED)
    out.print(f"The demo took {result.seconds:.1f}s.")


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
    priority: Annotated[
        int | None,
        typer.Option(
            help="Peering priority: of several replicas only the highest syncs (default: random, no ties)."
        ),
    ] = None,
    tick: Annotated[
        float,
        typer.Option(
            min=0.05,
            help="Seconds between two checks of whether a sync is due (the schedule itself lives in status).",
        ),
    ] = 10.0,
    retry_delay: Annotated[
        float,
        typer.Option(
            min=1,
            help="Seconds before the first Retry of a failed or interrupted sync; it doubles with "
            "each failure, capped at half the schedule interval.",
        ),
    ] = 300.0,
    sync_lease: Annotated[
        float,
        typer.Option(
            min=5,
            help="Seconds a sync's lock outlives an operator that died holding it (renewed every "
            "quarter of it); then another replica marks that sync Interrupted and retries it.",
        ),
    ] = 60.0,
    keyless_account: Annotated[
        list[str] | None,
        typer.Option(
            "--keyless-account",
            help="NAMESPACE=EMAIL: GoogleProvisionings in NAMESPACE may use keyless delegation "
            "(spec.google.serviceAccountEmail) through the service account EMAIL, signed with the "
            "operator's own Google identity; *=EMAIL for every namespace. Repeat for more. Keyless "
            "specs naming an account not bound here are refused.",
        ),
    ] = None,
    operator_namespace: Annotated[
        str,
        typer.Option(
            envvar="GWSYNC_OPERATOR_NAMESPACE",
            help="The namespace the operator runs in (the Deployment sets it from the pod's): it keeps "
            "the key that signs every ledger there, in Secret gwsync-ledger-key, created when missing.",
        ),
    ] = "gwsync",
    allow_endpoint_overrides: Annotated[
        bool,
        typer.Option(
            "--allow-endpoint-overrides",
            help="Sync GoogleProvisionings that send credentials elsewhere than the defaults "
            "(google.apiEndpoint, a key's token_uri, a plain-http target, a custom CA bundle). "
            "Off: whoever may create a GoogleProvisioning cannot redirect the operator's "
            "credentials. For emulators, tests and Private Service Connect.",
        ),
    ] = False,
    cluster_wide_exclusivity: Annotated[
        bool,
        typer.Option(
            "--cluster-wide-exclusivity",
            help="One active GoogleProvisioning per SCIM target (URL and accountId) in the whole "
            "cluster, not per namespace. Only one whose token authenticated at the target can hold it, "
            "and tenants are never told the other's namespace or name.",
        ),
    ] = False,
) -> None:
    """Run the operator against the current kubeconfig or the in-cluster service account."""
    from datetime import timedelta

    from gwsync.controller.endpoints import parse_keyless_accounts
    from gwsync.controller.operator import run as run_operator

    try:
        keyless_accounts = parse_keyless_accounts(keyless_account or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--keyless-account") from None
    run_operator(
        namespaces=namespace or [],
        liveness=liveness,
        metrics_port=metrics_port,
        priority=priority,
        tick=tick,
        retry_base=timedelta(seconds=retry_delay),
        allow_endpoint_overrides=allow_endpoint_overrides,
        lease=timedelta(seconds=sync_lease),
        keyless_accounts=keyless_accounts,
        cluster_wide_exclusivity=cluster_wide_exclusivity,
        operator_namespace=operator_namespace,
    )


sync_commands.register(app)  # sync, plan
status_command.register(app)
report_commands.register(app)
groups_command.register(app)


@app.command()
def crds(
    reference: Annotated[
        bool,
        typer.Option("--reference", help="Print the Markdown field reference (docs/reference.md) instead."),
    ] = False,
) -> None:
    """Print the CustomResourceDefinitions generated from the API models."""
    from gwsync.api.crd import render_crds
    from gwsync.api.reference import render_reference

    typer.echo(render_reference() if reference else render_crds(), nl=False)


@app.command()
def validate(
    paths: Annotated[
        list[Path], typer.Argument(help="GoogleProvisioning YAML files or folders (GitOps repos).")
    ],
    output: Annotated[
        str,
        output_option(
            "FORMAT",
            "text (default), or json (or -): one object on standard output with every checked "
            "and skipped object and every problem, for scripts.",
        ),
    ] = "text",
) -> None:
    """Check GoogleProvisioning manifests offline against the CRD schema and its rules."""
    no_pydantic_plugins()
    from gwsync.cli.validate import FORMATS, validate_paths

    if output not in FORMATS:  # plain: validate prints without rich (gwsync.cli.validate)
        typer.echo(f"error: -o {output!r} is not an output format of validate; use text or json.", err=True)
        raise typer.Exit(1)
    raise typer.Exit(validate_paths(paths, output))


app.add_typer(emulate_app)


def main() -> None:
    app()
