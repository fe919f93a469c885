"""`gwsync demo`: the whole product on a bundled organization, no cluster or Google account.

It starts the Google emulator on the bundled Acme organization, scim2-server as the target
and the Kubernetes emulator (or uses the cluster of a given kubeconfig), runs the real
operator against them, and walks through what a platform engineer does: apply a
GoogleProvisioning, read the first report, let the organization change (a hire, a
departure, a rename, a team move, a promotion), ask for a sync with the annotation, and
read the second report.
"""

import base64
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax

from gwsync.api import constants as c
from gwsync.api.report import TERMINAL_PHASES, Action, SyncReport
from gwsync.cli.output import hanging, plain
from gwsync.cli.reports import item_table
from gwsync.cli.sync_view import summary_table
from gwsync.cli.text import counted
from gwsync.controller.operator import serving_in_thread
from gwsync.kube import reports as kube_reports
from gwsync.kube.client import PROVISIONINGS, SECRETS, Kube, KubeConflict, KubeNotFound, Resource, connect
from gwsync.testing.google import google_emulator_in_thread
from gwsync.testing.kube import kube_emulator_in_thread
from gwsync.testing.org import sample_org
from gwsync.testing.orggen import next_day
from gwsync.testing.scim import run_scim_server

NAME = "acme"
SCIM_TOKEN = "demo-scim-token"
REPORT_TIMEOUT = 45.0


class DemoError(Exception):
    """The demo could not run; the message says why and what to do."""


@dataclass(frozen=True)
class DemoResult:
    first: SyncReport
    second: SyncReport
    changes: list[str]
    seconds: float


def provisioning(namespace: str, google_url: str, scim_url: str) -> dict[str, Any]:
    """The sample GoogleProvisioning: everyone, three teams, removals deactivate."""
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.PROVISIONING_KIND,
        "metadata": {"name": NAME, "namespace": namespace},
        "spec": {
            "google": {
                "adminEmail": "admin@acme.example",
                "credentialsSecretRef": {"name": "acme-google", "key": "credentials.json"},
                "apiEndpoint": google_url,
            },
            "target": {"scim": {"url": scim_url, "tokenSecretRef": {"name": "acme-scim", "key": "token"}}},
            "members": {"from": "AllUsers"},
            "teams": {
                "enabled": True,
                "mappings": [
                    {"team": "Engineering", "groups": ["engineering@acme.example"]},
                    {"team": "Sales", "groups": ["sales@acme.example"]},
                    {"team": "Design", "groups": ["design@acme.example"]},
                ],
            },
            "deprovision": {"action": "Deactivate"},
        },
    }


def secret(namespace: str, name: str, key: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {c.CREDENTIALS_LABEL: c.CREDENTIALS_LABEL_VALUE},  # gwsync uses no other Secret
        },
        "data": {key: base64.b64encode(value.encode()).decode()},
    }


def create(kube: Kube, resource: Resource, namespace: str, body: dict[str, Any], where: str) -> None:
    """Create an object; one left by an earlier run in a real cluster is not overwritten."""
    try:
        kube.create(resource, namespace, body)
    except KubeConflict:
        name = body["metadata"]["name"]
        raise DemoError(
            f"{body['kind']} {namespace}/{name} already exists in {where}; delete it "
            f"(kubectl delete {resource.plural} {name} -n {namespace}) or pass another --namespace."
        ) from None


def wait_for_report(
    kube: Kube, namespace: str, seen: set[str], timeout: float = REPORT_TIMEOUT
) -> SyncReport:
    """The next report of the demo provisioning not in `seen`, once its sync has completed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = [
            r for r in kube_reports.list_reports(kube, namespace, NAME) if r.metadata["name"] not in seen
        ]
        if fresh and fresh[0].status.phase in TERMINAL_PHASES:
            seen.add(fresh[0].metadata["name"])
            return fresh[0]
        time.sleep(0.1)  # polling the API server, as `kubectl get -w` would
    raise DemoError(f"No SyncReport of {namespace}/{NAME} completed within {timeout:.0f}s.")


def show_report(out: Console, kube: Kube, report: SyncReport, limit: int) -> None:
    status = report.status
    title = f"SyncReport {report.metadata['name']}  ·  trigger {report.spec.trigger}  ·  {status.phase}"
    out.print(Panel(summary_table(status.summary, status.message), title=plain(title), expand=False))
    changed = [i for i in kube_reports.iter_report_items(kube, report) if i.action is not Action.UNCHANGED]
    out.print(item_table(changed, title=f"What changed ({counted(len(changed), 'item')})", limit=limit))


@contextmanager
def cluster(
    kubeconfig: Path | None, namespace: str, say: Callable[[str], None]
) -> Iterator[tuple[Kube, str | None]]:
    """A Kube client and the server URL the operator uses (None: the kubeconfig's)."""
    if kubeconfig is not None:
        say(f"Using the cluster of {kubeconfig}")
        kube = connect(kubeconfig=kubeconfig)
        if not kube.namespace_exists(namespace):
            raise DemoError(
                f"Namespace {namespace} does not exist in the cluster of {kubeconfig}: create it with "
                f"`kubectl create namespace {namespace}` or pass another --namespace."
            )
        try:
            kube.list(PROVISIONINGS, namespace)
        except KubeNotFound:
            raise DemoError(
                f"The cluster of {kubeconfig} has no GoogleProvisioning CRD: "
                "install it with `kubectl apply -f crds/crds.yaml` and run the demo again."
            ) from None
        yield kube, None
        return
    say("Starting the Kubernetes API emulator")
    with kube_emulator_in_thread() as emulator:
        yield connect(str(emulator.url)), str(emulator.url)


def run_demo(
    out: Console, say: Callable[[str], None], *, kubeconfig: Path | None = None, namespace: str = "default"
) -> DemoResult:
    began = time.monotonic()
    org = sample_org()
    with ExitStack() as stack:
        say(
            f"Starting the Google Workspace emulator: {org.customer.primary_domain}, "
            f"{len(org.users)} people, {len(org.groups)} groups (nested)"
        )
        google = stack.enter_context(google_emulator_in_thread(org))
        say("Starting scim2-server as the SCIM 2.0 target application")
        scim = stack.enter_context(run_scim_server(token=SCIM_TOKEN))
        kube, server = stack.enter_context(cluster(kubeconfig, namespace, say))
        stack.callback(kube.close)
        where = f"the cluster of {kubeconfig}" if kubeconfig else "the emulator"
        key = google.service_account_key()
        create(kube, SECRETS, namespace, secret(namespace, "acme-google", "credentials.json", key), where)
        create(kube, SECRETS, namespace, secret(namespace, "acme-scim", "token", SCIM_TOKEN), where)
        say("Starting the gwsync operator")
        try:
            stack.enter_context(
                # The emulators are plain-http endpoints on loopback: an override the demo allows.
                serving_in_thread(
                    server=server,
                    kubeconfig=kubeconfig,
                    namespaces=[namespace],
                    tick=0.2,
                    allow_endpoint_overrides=True,
                    operator_namespace=namespace,  # the ledger key too: there may be no gwsync namespace
                )
            )
        except RuntimeError as exc:
            cause = f": {exc.__cause__}" if exc.__cause__ else ""
            raise DemoError(f"The gwsync operator could not start{cause}.") from None

        body = provisioning(namespace, google.url, scim.url)
        say("kubectl apply -f acme.yaml")
        manifest = yaml.safe_dump(body, sort_keys=False, allow_unicode=True, default_flow_style=None)
        out.print(Syntax(manifest, "yaml", background_color="default"))
        seen = {str(r.metadata["name"]) for r in kube_reports.list_reports(kube, namespace, NAME)}
        create(kube, PROVISIONINGS, namespace, body, where)
        first = wait_for_report(kube, namespace, seen)
        show_report(out, kube, first, limit=12)

        google.org, changes = next_day(google.org)
        say("A day later, in Google Workspace:")
        for change in changes:
            out.print(hanging("    •", change))
        requested = datetime.now(tz=UTC).isoformat(timespec="seconds")
        say(f'kubectl annotate gprov/{NAME} {c.SYNC_REQUESTED_AT}="{requested}" --overwrite')
        kube.patch(
            PROVISIONINGS, namespace, NAME, {"metadata": {"annotations": {c.SYNC_REQUESTED_AT: requested}}}
        )
        second = wait_for_report(kube, namespace, seen)
        show_report(out, kube, second, limit=50)
        return DemoResult(first, second, changes, time.monotonic() - began)


WHAT_HAPPENED = (
    "[bold]What just happened[/]\n"
    "1. A GoogleProvisioning was applied and the operator synced at once (trigger Initial): every "
    "active Google user became a SCIM user (the suspended and the archived ones did not), and the "
    "groups mapped in spec.teams became teams, nested groups included.\n"
    "2. The organization changed in Google. Annotating gwsync.io/sync-requested-at asked for a sync "
    "now (trigger Manual) instead of waiting for the daily one.\n"
    "3. The second report holds only the difference: the hire created, the promotion updated, the new "
    "email renamed (the same person, matched by Google id, not a removal and a creation), the "
    "departure deactivated (never deleted by default), and the team move as membership changes.\n"
    "Every item of both syncs is stored with its report. In a cluster, `gwsync report list`, "
    "`gwsync report show NAME --changed` and `gwsync report export NAME -o report.csv` read them."
)
