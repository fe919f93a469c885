"""Reaching the cluster like kubectl does, for the commands that read what the operator recorded.

The connection whose API and config problems end as one sentence on stderr with exit code 1,
reading a GoogleProvisioning, and the formatting shared by `report` and `status`. It imports
the Kubernetes client, so only command bodies import it (the options are in `options.py`).
"""

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from gwsync.api.provisioning import GoogleProvisioningSpec, SyncSummary
from gwsync.cli.options import ClusterOptions
from gwsync.cli.output import fail, plain
from gwsync.kube.client import (
    PROVISIONINGS,
    Kube,
    KubeApiError,
    KubeConfigError,
    KubeNotFound,
    connect,
    context_namespace,
    kubeconfig_path,
)
from gwsync.kube.reports import (
    format_duration,
    timestamp,
)

PHASE_STYLES = {
    "Succeeded": "green",
    "PartiallySucceeded": "yellow",
    "Failed": "bold red",
    "Blocked": "bold yellow",
    "Interrupted": "red",
    "Running": "cyan",
    "Pending": "cyan",
}


def _namespace(options: ClusterOptions) -> str:
    """The namespace given, else the context's (a bare --server has no context: default)."""
    if options.namespace:
        return options.namespace
    if options.server:
        return "default"
    return context_namespace(options.kubeconfig, options.context)


def _source(options: ClusterOptions) -> str:
    """Where the server address came from, for messages."""
    if options.server:
        return ""
    if options.kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        return " (in-cluster configuration)"
    path = kubeconfig_path(options.kubeconfig) or "~/.kube/config"
    context = f", context {options.context}" if options.context else ""
    return f" (from kubeconfig {path}{context})"


def _unreachable(server: str, options: ClusterOptions, exc: KubeApiError) -> str:
    where = f"the Kubernetes API server at {server}{_source(options)}"
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return (
            f"The TLS certificate of {where} is not trusted; check the cluster's certificate-authority "
            "in the kubeconfig"
        )
    return (
        f"Cannot reach {where}; check that the cluster is running, or choose another one with "
        "--kubeconfig or --context"
    )


@contextmanager
def cluster(options: ClusterOptions) -> Iterator[tuple[Kube, str]]:
    """A connected client and the namespace to read; API and config problems become one sentence."""
    try:
        kube = connect(options.server, kubeconfig=options.kubeconfig, context=options.context)
    except KubeConfigError as exc:
        fail(str(exc))
    namespace = _namespace(options)
    try:
        yield kube, namespace
    except KubeApiError as exc:
        if exc.status == 0:
            fail(_unreachable(kube.server, options, exc))
        if exc.status in (401, 403):
            fail(
                f"{exc} (the Kubernetes API refused the request); check that your kubeconfig user may "
                f"read gwsync resources in namespace {namespace}"
            )
        fail(str(exc))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        fail(
            f"An object in namespace {namespace} does not match gwsync's API ({where}: {first['msg']}); "
            "use a gwsync CLI of the same version as the operator"
        )
    finally:
        kube.close()


def list_hint(namespace: str) -> str:
    return "" if namespace == "default" else f" -n {namespace}"


def read_provisioning(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    try:
        return kube.get(PROVISIONINGS, namespace, name)
    except KubeNotFound:
        fail(
            f"GoogleProvisioning {namespace}/{name} does not exist; list them with "
            f"`kubectl get gprov -n {namespace}`."
        )


def provisioning_spec(obj: dict[str, Any], namespace: str, name: str) -> GoogleProvisioningSpec:
    try:
        return GoogleProvisioningSpec.model_validate(obj.get("spec") or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in ("spec", *first["loc"]))
        fail(
            f"GoogleProvisioning {namespace}/{name} is not valid ({where}: {first['msg']}); "
            "check it with `gwsync validate`"
        )


# -- formatting --------------------------------------------------------------------------------


def styled(value: str, styles: dict[str, str]) -> Text:
    return plain(value, styles.get(value, ""))


def format_time(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return "-"
    shown = timestamp(moment)
    if now is None:
        return shown
    if moment <= now:
        return f"{shown} ({format_duration(now - moment)} ago)"
    return f"{shown} (in {format_duration(moment - now)})"


def summary_lines(summary: SyncSummary) -> list[tuple[str, str]]:
    users, teams, members = summary.users, summary.teams, summary.memberships
    return [
        (
            "Users",
            f"{users.created} created, {users.updated} updated, {users.renamed} renamed, "
            f"{users.adopted} adopted, {users.deprovisioned} deprovisioned, {users.held} held, "
            f"{users.unchanged} unchanged, {users.failed} failed",
        ),
        ("Teams", f"{teams.created} created, {teams.unchanged} unchanged, {teams.failed} failed"),
        ("Memberships", f"{members.added} added, {members.removed} removed, {members.failed} failed"),
    ]


def fields_grid(rows: Iterable[tuple[str, RenderableType]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="ellipsis")
    for label, value in rows:
        grid.add_row(label, plain(value, multiline=True) if isinstance(value, str) else value)
    return grid
