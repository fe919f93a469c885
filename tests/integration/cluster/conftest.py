"""The operator against a real kube-apiserver, installed the way a user installs it.

One control plane per test session (etcd, kube-apiserver, kube-controller-manager, built by
`make control-plane`), with `kubectl apply -k manifests/` applied to it. Each test gets a
namespace of its own, the Google emulator and scim2-server on loopback, and `gwsync run` as a
subprocess logged in with a TokenRequest token of the Deployment's ServiceAccount — so the
ClusterRole in manifests/ is exactly what the API server enforces.

In CI (CI=true) a control plane that cannot be built or started fails the run with the
reason; elsewhere these tests skip with it.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest
import yaml
from tests.integration.orgs import provisioning_manifest, small_org

from gwsync.api.constants import ALLOW_ENDPOINT_OVERRIDES_FLAG, CREDENTIALS_LABEL, CREDENTIALS_LABEL_VALUE
from gwsync.kube import reports as kube_reports
from gwsync.kube.blobs import BlobCorrupt, gunzip_chunks, read_chunks
from gwsync.kube.client import CONFIG_MAPS, PROVISIONINGS, REPORTS, SECRETS, Kube, KubeNotFound, connect
from gwsync.kube.labels import provisioning_labels
from gwsync.kube.ledger_key import LEDGER_KEY_FIELD, LEDGER_KEY_SECRET
from gwsync.testing.controlplane import ControlPlane, ControlPlaneUnavailable, binaries
from gwsync.testing.google import GoogleEmulator, google_emulator_in_thread
from gwsync.testing.kube import kubectl_path
from gwsync.testing.leaks import assert_no_leaks, private_key_lines
from gwsync.testing.org import Org
from gwsync.testing.scim import ScimServer, run_scim_server

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[3]
SCIM_TOKEN = "scim-token-cluster-s3cr3t"
OPERATOR_NAMESPACE = "gwsync"
OPERATOR_ACCOUNT = "gwsync"
TICK = "0.2"
GPROV_API = "/apis/provisioning.gwsync.io/v1alpha1"
_PLANE = pytest.StashKey["ControlPlane"]()


def eventually(probe: Callable[[], T | None], *, seconds: float = 60, what: str = "the condition") -> T:
    """Poll `probe` until it returns something other than None; fail after a deadline."""
    deadline = time.monotonic() + seconds
    while (result := probe()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(0.05)  # a poll interval, not a wait for an outcome
    return result


def kubectl(
    kubeconfig: Path, *args: str, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [kubectl_path(), "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
        input=stdin,
    )


CLI_OUTPUTS: list[tuple[str, str]] = []
"""What `gwsync` printed during the current test: the cluster fixture scans it for secrets."""


def gwsync(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The `gwsync` CLI as a user runs it; its stdout and stderr are kept for the secret scan."""
    command = [str(Path(sys.executable).parent / "gwsync"), *args]
    wide = {**os.environ, "COLUMNS": "250"}  # report names whole in tables (no terminal here)
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300, env=wide)
    CLI_OUTPUTS.append((f"gwsync {' '.join(args[:3])}", done.stdout + done.stderr))
    if check:
        done.check_returncode()
    return done


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def install(plane: ControlPlane) -> subprocess.CompletedProcess[str]:
    """`kubectl apply -k manifests/` as a user runs it: once."""
    return kubectl(plane.admin_kubeconfig, "apply", "-k", str(REPO / "manifests"), check=False)


def unavailable(exc: ControlPlaneUnavailable) -> NoReturn:
    """No control plane here: in CI that fails the test with the reason; elsewhere it skips."""
    if os.environ.get("CI"):
        pytest.fail(f"CI needs the real control plane, and it is unavailable: {exc}", pytrace=False)
    pytest.skip(f"no real control plane: {exc}")


@pytest.fixture(scope="session")
def control_plane(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ControlPlane]:
    try:
        plane = ControlPlane(tmp_path_factory.mktemp("control-plane"), bin=binaries())
        plane.start()
    except ControlPlaneUnavailable as exc:
        unavailable(exc)
    request.config.stash[_PLANE] = plane
    try:
        installed = install(plane)
        assert installed.returncode == 0, f"kubectl apply -k manifests/ failed:\n{installed.stderr}"
        yield plane
    finally:
        plane.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    plane = item.config.stash.get(_PLANE, None)
    if plane is not None and report.failed and "control_plane" in getattr(item, "fixturenames", ()):
        report.sections.append(("control-plane logs", plane.tails()))
    return report


@dataclass
class Operator:
    """`gwsync run` as a subprocess, logging to a file."""

    argv: list[str]
    env: dict[str, str]
    log: Path
    metrics_port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Operator:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(self.argv, env=self.env, stdout=sink, stderr=subprocess.STDOUT)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def metrics(self) -> str:
        """What /metrics serves now ("" when the process is gone)."""
        if self.process is None or self.process.poll() is not None or not self.metrics_port:
            return ""
        try:
            url = f"http://127.0.0.1:{self.metrics_port}/metrics"
            with urllib.request.urlopen(url, timeout=10) as answer:
                return str(answer.read().decode("utf-8", "replace"))
        except OSError:
            return ""


@dataclass
class Cluster:
    """One test's namespace on the real server, its emulators and its operator(s)."""

    plane: ControlPlane
    namespace: str
    google: GoogleEmulator
    scim: ScimServer
    tmp: Path
    kube: Kube
    operator_kubeconfig: Path
    operators: list[Operator] = field(default_factory=list)
    secret_values: dict[str, str] = field(default_factory=dict)

    @property
    def admin(self) -> Path:
        return self.plane.admin_kubeconfig

    # -- the operator -------------------------------------------------------------------------------

    def start_operator(
        self, *extra: str, kubeconfig: Path | None = None, allow_endpoint_overrides: bool = True
    ) -> Operator:
        """`gwsync run` as the Deployment runs it, plus --allow-endpoint-overrides (the emulators
        are plain-http loopback endpoints) unless a test of that guard says otherwise."""
        index = len(self.operators)
        env = {
            **os.environ,
            "KUBECONFIG": str(kubeconfig or self.operator_kubeconfig),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("KUBERNETES_SERVICE_HOST", None)
        port = free_port()
        argv = [
            str(Path(sys.executable).parent / "gwsync"), "run",
            "--metrics-port", str(port),
            "--tick", TICK,
            *([ALLOW_ENDPOINT_OVERRIDES_FLAG] if allow_endpoint_overrides else []),
            *extra,
        ]  # fmt: skip
        operator = Operator(argv, env, self.tmp / f"operator-{index}.log", port).start()
        self.operators.append(operator)
        return operator

    def operator_logs(self) -> str:
        return "\n".join(operator.text() for operator in self.operators)

    # -- objects ----------------------------------------------------------------------------------------

    def provisioning(self, name: str = "acme", **spec: Any) -> dict[str, Any]:
        return provisioning_manifest(name, self.namespace, self.google.url, self.scim.url, **spec)

    def apply(self, *objects: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        document = yaml.safe_dump_all(list(objects))
        return kubectl(self.admin, "apply", "-f", "-", stdin=document)

    def annotate(self, name: str, key: str, value: str) -> None:
        kubectl(
            self.admin, "annotate", f"gprov/{name}", "-n", self.namespace, f"{key}={value}", "--overwrite"
        )

    def request_sync(self, name: str = "acme") -> str:
        value = f"request-{secrets.token_hex(4)}"
        self.annotate(name, "gwsync.io/sync-requested-at", value)
        return value

    def gprov(self, name: str = "acme") -> dict[str, Any]:
        try:
            return self.kube.get(PROVISIONINGS, self.namespace, name)
        except KubeNotFound:
            return {}

    def status(self, name: str = "acme") -> dict[str, Any]:
        return self.gprov(name).get("status") or {}

    def condition(self, type_: str, name: str = "acme") -> dict[str, Any] | None:
        return next((x for x in self.status(name).get("conditions") or [] if x["type"] == type_), None)

    def condition_is(self, type_: str, state: str, name: str = "acme") -> dict[str, Any] | None:
        found = self.condition(type_, name)
        return found if found is not None and found["status"] == state else None

    def reports(self, name: str = "acme") -> list[dict[str, Any]]:
        found = self.kube.list(REPORTS, self.namespace, provisioning_labels(name))
        return sorted(
            found, key=lambda r: ((r.get("status") or {}).get("startTime", ""), r["metadata"]["name"])
        )

    def finished(self, name: str = "acme", count: int = 1) -> list[dict[str, Any]] | None:
        done = [
            r
            for r in self.reports(name)
            if (r.get("status") or {}).get("phase") not in (None, "Pending", "Running")
        ]
        return done if len(done) >= count else None

    def wait_finished(self, name: str = "acme", count: int = 1, seconds: float = 90) -> list[dict[str, Any]]:
        return eventually(
            lambda: self.finished(name, count),
            seconds=seconds,
            what=f"{count} finished SyncReport(s) of {name}",
        )

    def triggers(self, name: str = "acme") -> list[str]:
        return [r["spec"]["trigger"] for r in self.reports(name)]

    def events(self, reason: str | None = None) -> list[dict[str, Any]]:
        found = json.loads(kubectl(self.admin, "get", "events", "-n", self.namespace, "-o", "json").stdout)[
            "items"
        ]
        return [e for e in found if reason is None or e.get("reason") == reason]

    def config_maps(self) -> list[dict[str, Any]]:
        return self.kube.list(CONFIG_MAPS, self.namespace)

    def seed_secret(self, name: str, key: str, value: str, *, labelled: bool = True) -> None:
        """A Secret, labelled gwsync.io/credentials=true (gwsync uses no other) unless told not."""
        labels = {CREDENTIALS_LABEL: CREDENTIALS_LABEL_VALUE} if labelled else {}
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": self.namespace, "labels": labels},
            "data": {key: base64.b64encode(value.encode()).decode()},
        }
        self.kube.create(SECRETS, self.namespace, body)
        self.secret_values[f"Secret {name} key {key}"] = value

    # -- the secret scan (docs/security.md) ------------------------------------------------------

    def secrets(self) -> dict[str, str]:
        """Every secret value of this test: seeded Secrets, what Google's emulator issued, and the
        operator's ledger signing key (as its Secret holds it, and in hex)."""
        found: dict[str, str] = {}
        for name, value in self.secret_values.items():
            found[name] = value
            if '"private_key"' in value:
                found.update((f"{name}, {line}", text) for line, text in private_key_lines(value).items())
        found.update(self.google.issued_credentials())
        try:
            key = self.kube.get(SECRETS, OPERATOR_NAMESPACE, LEDGER_KEY_SECRET)["data"][LEDGER_KEY_FIELD]
        except KubeNotFound:
            return found
        found["ledger signing key"] = key
        found["ledger signing key, hex"] = base64.b64decode(key).hex()
        return found

    def cluster_outputs(self) -> list[tuple[str, str]]:
        """What the operator wrote that people see: status, reports and items, Events, ConfigMaps
        (the ledger and item chunks decompressed), and each running operator's /metrics."""
        channels: list[tuple[str, str]] = []
        for gprov in self.kube.list(PROVISIONINGS, self.namespace):
            name = gprov["metadata"]["name"]
            channels.append((f"GoogleProvisioning {name}", json.dumps(gprov)))
            ledger = ((gprov.get("status") or {}).get("ledger") or {}).get("configMaps") or []
            if ledger:
                channels.append((f"ledger of {name}", self._decoded(partial(ledger_text, self, ledger))))
        for report in self.kube.list(REPORTS, self.namespace):
            name = report["metadata"]["name"]
            channels.append((f"SyncReport {name}", json.dumps(report)))
            channels.append((f"items of SyncReport {name}", self._decoded(partial(items_text, self, name))))
        channels.append(("Events", json.dumps(self.events())))
        channels.extend((f"ConfigMap {cm['metadata']['name']}", json.dumps(cm)) for cm in self.config_maps())
        channels.extend((f"metrics of operator {i}", op.metrics()) for i, op in enumerate(self.operators))
        return channels

    @staticmethod
    def _decoded(read: Callable[[], str]) -> str:
        """Decompressed ConfigMap chunks; "" when a test removed or broke them on purpose (their
        raw ConfigMaps are scanned anyway)."""
        try:
            return read()
        except (BlobCorrupt, KubeNotFound, ValueError):
            return ""


def ledger_text(cluster: Cluster, names: list[str]) -> str:
    raw = b"".join(gunzip_chunks(read_chunks(cluster.kube, cluster.namespace, names)))
    return raw.decode("utf-8", "replace")


def items_text(cluster: Cluster, report: str) -> str:
    parsed = kube_reports.read_report(cluster.kube, cluster.namespace, report)
    if parsed.status.item_store is None:
        return ""
    return "\n".join(item.model_dump_json() for item in kube_reports.iter_report_items(cluster.kube, parsed))


@pytest.fixture(scope="session")
def operator_kubeconfig(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kubeconfig holding a TokenRequest token of the Deployment's own ServiceAccount."""
    token = control_plane.service_account_token(OPERATOR_NAMESPACE, OPERATOR_ACCOUNT)
    return control_plane.kubeconfig(tmp_path_factory.mktemp("sa") / "kubeconfig", token=token, user="gwsync")


@pytest.fixture
def org() -> Org:
    return small_org()


@pytest.fixture
def cluster(
    control_plane: ControlPlane, operator_kubeconfig: Path, org: Org, tmp_path: Path
) -> Iterator[Cluster]:
    namespace = f"t-{secrets.token_hex(4)}"
    kube = connect(kubeconfig=control_plane.admin_kubeconfig)
    kubectl(control_plane.admin_kubeconfig, "create", "namespace", namespace)
    with google_emulator_in_thread(copy.deepcopy(org)) as google, run_scim_server(SCIM_TOKEN) as scim:
        built = Cluster(control_plane, namespace, google, scim, tmp_path, kube, operator_kubeconfig)
        built.seed_secret("google", "key.json", google.service_account_key())
        built.seed_secret("scim", "token", SCIM_TOKEN)
        CLI_OUTPUTS.clear()
        channels: list[tuple[str, str]] = []
        secret_values: dict[str, str] = {}
        try:
            yield built
            channels = built.cluster_outputs()  # before the objects go
            secret_values = built.secrets()  # while the client is open
        finally:
            # The operator watches the whole cluster, like the Deployment: this test's
            # GoogleProvisionings go first, while the operator still runs to release its
            # finalizer, so that no later test's operator meets them; the namespace controller
            # removes the rest in the background.
            admin = control_plane.admin_kubeconfig
            kubectl(admin, "delete", "gprov", "--all", "-n", namespace, "--timeout=60s", check=False)
            kubectl(admin, "delete", "namespace", namespace, "--wait=false", check=False)
            for operator in built.operators:
                operator.stop()
            kube.close()
        # Every real-server operator run is scanned: its log, what it wrote, what the CLI printed.
        channels.extend((f"log of operator {i}", op.text()) for i, op in enumerate(built.operators))
        channels.extend(CLI_OUTPUTS)
        assert_no_leaks(secret_values, channels)
