"""`gwsync emulate google|scim`: the test emulators as standalone servers.

For trying gwsync against a real cluster without a Google account or a SCIM app (the e2e
suite runs them as sidecars of the operator's pod), and for poking at the APIs with curl.
They run until interrupted (Ctrl-C or SIGTERM).
"""

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the emulators import aiohttp and scim2-server: only a running command needs them
    from gwsync.testing.org import Org

emulate_app = typer.Typer(
    name="emulate",
    help="Run the Google Directory API or SCIM emulator as a standalone server (for trying gwsync).",
    no_args_is_help=True,
)
HostOption = Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 for every interface).")]


def _stop_on_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.default_int_handler)


@emulate_app.command()
def google(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 18081,
    host: HostOption = "127.0.0.1",
    directory_file: Annotated[
        Path | None, typer.Option(help="Organization snapshot to serve (default: the bundled Acme sample).")
    ] = None,
    key_out: Annotated[
        Path | None, typer.Option(help="Write the emulated service account's JSON key here.")
    ] = None,
) -> None:
    """Serve the Directory API, the OAuth token endpoint and IAM signJwt over an org snapshot."""
    import asyncio

    from gwsync.cli.output import fail, out
    from gwsync.testing.org import OrgError, load_org, sample_org

    try:
        org = load_org(directory_file) if directory_file else sample_org()
    except OrgError as exc:
        fail(str(exc))
    _stop_on_sigterm()
    try:
        asyncio.run(_serve_google(org, host, port, key_out))
    except KeyboardInterrupt:
        out.print("Google emulator stopped.")
    except OSError as exc:
        fail(f"The Google emulator cannot listen on {host}:{port}: {exc.strerror}.")


async def _serve_google(org: "Org", host: str, port: int, key_out: Path | None) -> None:
    import asyncio

    from gwsync.cli.output import out
    from gwsync.cli.text import counted
    from gwsync.testing.google import running_google_emulator

    async with running_google_emulator(org, host=host, port=port) as emulator:
        if key_out is not None:
            key_out.write_text(emulator.service_account_key(), encoding="utf-8")
        admin = org.admins[0] if org.admins else "(no admins: delegation will be refused)"
        out.print(
            f"Google emulator serving {org.customer.primary_domain} ({counted(len(org.users), 'user')}, "
            f"{counted(len(org.groups), 'group')}) at {emulator.url}; delegation subject {admin}"
            + (f"; service-account key in {key_out}." if key_out else "."),
            soft_wrap=True,
        )
        await asyncio.Event().wait()


@emulate_app.command()
def scim(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 18082,
    host: HostOption = "127.0.0.1",
    token: Annotated[str, typer.Option(help="The bearer token clients must send.")] = "demo-scim-token",
) -> None:
    """Serve scim2-server (an in-memory SCIM 2.0 service provider) at /v2."""
    from gwsync.cli.output import fail, out
    from gwsync.testing.scim import run_scim_server

    _stop_on_sigterm()
    try:
        with run_scim_server(token=token, host=host, port=port) as server:
            out.print(f"SCIM emulator serving at {server.url} (bearer token required).", soft_wrap=True)
            threading.Event().wait()
    except KeyboardInterrupt:
        out.print("SCIM emulator stopped.")
    except OSError as exc:
        fail(f"The SCIM emulator cannot listen on {host}:{port}: {exc.strerror}.")
