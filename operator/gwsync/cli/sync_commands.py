"""`gwsync sync` and `gwsync plan`: gwsync without a cluster.

Declares the commands only; their bodies import `sync_view` (the Google and SCIM clients,
the emulators) when one runs.
"""

from pathlib import Path
from typing import Annotated

import typer

from gwsync.cli.options import no_pydantic_plugins, output_option

ManifestOption = Annotated[
    Path, typer.Option("--filename", "-f", help="The GoogleProvisioning YAML (one object).")
]
CredentialsOption = Annotated[
    Path | None,
    typer.Option(help="Service-account key JSON, for a spec using credentialsSecretRef."),
]
TokenOption = Annotated[Path | None, typer.Option(help="File holding the SCIM bearer token.")]
CaBundleOption = Annotated[
    Path | None,
    typer.Option(
        help="PEM CA certificates to trust for the SCIM target besides the system's, for a spec using "
        "caBundleSecretRef.",
    ),
]
DirectoryOption = Annotated[
    Path | None,
    typer.Option(
        help="Serve this organization snapshot instead of calling Google: YAML with customer, admins, "
        "users and groups (docs/local.md).",
    ),
]
StateOption = Annotated[
    Path | None,
    typer.Option(
        help="NAMESPACE-NAME.ledger.json in the current folder unless given (named after the "
        "GoogleProvisioning): the ledger of managed users and teams, which removals are planned from; "
        "created when missing, updated as it goes.",
        show_default=False,
    ),
]


def sync(
    filename: ManifestOption,
    google_credentials: CredentialsOption = None,
    scim_token_file: TokenOption = None,
    scim_ca_bundle_file: CaBundleOption = None,
    directory_file: DirectoryOption = None,
    state: StateOption = None,
    dry_run: Annotated[bool, typer.Option(help="Plan only: change nothing in the target.")] = False,
    approve_removals: Annotated[
        bool, typer.Option(help="Apply removals the deprovisioning safety limit would hold.")
    ] = False,
    output: Annotated[
        str | None,
        output_option(
            "FILE",
            "Write the SyncReport with every item to FILE (.json, .yaml or .yml; `gwsync report show "
            "--file FILE` reads it back), or - for JSON on standard output (the summary then goes to "
            "standard error).",
        ),
    ] = None,
) -> None:
    """Run one sync outside the cluster and print its report.

    Exit code: 0 Succeeded, 1 Failed (or a mistake in the command), 2 PartiallySucceeded (some
    items failed), 3 Blocked (removals held by the safety limit), 130 Interrupted (Ctrl-C: the
    writes in flight are answered, the ledger and the report are saved).
    """
    no_pydantic_plugins()  # before the first model, before the first request
    from gwsync.cli.sync_view import check_report_output, local_sync, run_sync

    check_report_output(output)  # before anything is written to the target
    request = local_sync(
        filename, google_credentials, scim_token_file, directory_file, state,
        dry_run=dry_run, approve_removals=approve_removals, scim_ca_bundle_file=scim_ca_bundle_file,
    )  # fmt: skip
    run_sync(request, output)


def plan(
    filename: ManifestOption,
    google_credentials: CredentialsOption = None,
    scim_token_file: TokenOption = None,
    scim_ca_bundle_file: CaBundleOption = None,
    directory_file: DirectoryOption = None,
    state: StateOption = None,
    show_unchanged: Annotated[bool, typer.Option("--all", help="List unchanged items too.")] = False,
    summary: Annotated[
        bool, typer.Option("--summary", help="Print the counts and the outcome only, no item.")
    ] = False,
    output: Annotated[
        str,
        output_option(
            "FORMAT",
            "table (default), or json (or -): the dry run's SyncReport with every item on "
            "standard output (with --summary, without its items), for scripts.",
        ),
    ] = "table",
) -> None:
    """Show what a sync would change, changing nothing (a dry run)."""
    no_pydantic_plugins()
    from gwsync.cli.output import fail
    from gwsync.cli.sync_view import PLAN_FORMATS, local_sync, run_plan

    if output not in PLAN_FORMATS:
        fail(f"-o {output!r} is not an output format of plan; use table or json")
    request = local_sync(
        filename, google_credentials, scim_token_file, directory_file, state, dry_run=True, planning=True,
        scim_ca_bundle_file=scim_ca_bundle_file,
    )  # fmt: skip
    run_plan(request, show_unchanged=show_unchanged, summary=summary, output=output)


def register(app: typer.Typer) -> None:
    app.command()(sync)
    app.command()(plan)
