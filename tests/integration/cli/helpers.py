"""Running `gwsync report|status|groups` as a user does, and reading what they print."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import typer
from click.testing import Result
from typer.testing import CliRunner

from gwsync.cli import groups_command, report_commands, status_command

# Wide enough that rich never folds a key or a message, so assertions see whole values.
WIDE = {"COLUMNS": "250"}

PROVISIONING: dict[str, Any] = {
    "apiVersion": "provisioning.gwsync.io/v1alpha1",
    "kind": "GoogleProvisioning",
    "metadata": {"name": "acme", "namespace": "default"},
    "spec": {
        "google": {
            "adminEmail": "admin@acme.example",
            "credentialsSecretRef": {"name": "acme-google", "key": "credentials.json"},
        },
        "target": {
            "scim": {
                "url": "http://127.0.0.1:1/scim/v2",
                "tokenSecretRef": {"name": "acme-scim", "key": "token"},
            }
        },
    },
}


def provisioning(name: str, **spec: Any) -> dict[str, Any]:
    obj = copy.deepcopy(PROVISIONING)
    obj["metadata"]["name"] = name
    obj["spec"].update(spec)
    return obj


def build_app() -> typer.Typer:
    app = typer.Typer()
    for commands in (report_commands, status_command, groups_command):
        commands.register(app)
    return app


@dataclass
class Gwsync:
    """`gwsync ...` pointed at one API server, in a wide terminal."""

    server: str
    app: typer.Typer

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(self.app, [*args, "--server", self.server], env=WIDE)


def invoke(*args: str) -> Result:
    """`gwsync ...` exactly as typed (no --server added)."""
    return CliRunner().invoke(build_app(), list(args), env=WIDE)


def assert_error(result: Result, message: str) -> None:
    """Exit 1 with exactly `error: <message>` on stderr: no traceback, nothing else."""
    assert result.stderr == f"error: {message}\n", result.output
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output


_ROW = re.compile(r"[│|]")


def rendered_keys(output: str) -> set[str]:
    """The Key column of the item table as rendered (rows of six cells: Type, Key, Action, ...)."""
    keys = set()
    for line in output.splitlines():
        cells = [cell.strip() for cell in _ROW.split(line)]
        if len(cells) == 8 and cells[1] in ("User", "Team", "Membership"):
            keys.add(cells[2])
    return keys
