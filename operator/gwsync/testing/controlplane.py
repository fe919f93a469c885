"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager.

This is envtest's idea (controller-runtime) for a Python operator: the real API server, so
what our KMock model of it cannot show is checked for real — RBAC, structural-schema pruning,
CEL rules, server-side printer columns, watch semantics, size limits, the garbage collector
and namespace finalization. There is no kubelet: nothing here runs Pods.

The binaries are built from their Go modules by ``tests/controlplane/build.sh`` (``make
control-plane``) into a cache folder keyed by version; ``binaries()`` finds them there.

``ControlPlane.start`` generates a CA and a serving certificate (SANs 127.0.0.1, localhost),
a service-account signing key (so the TokenRequest API works) and a static admin token, then
starts the three servers on free loopback ports, each logging to a file of its own, and
waits for ``/readyz``. Every process is stopped through its own handle.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

K8S_VERSION: Final = "v1.34.4"
ETCD_VERSION: Final = "v3.6.4"
BINARIES: Final = ("etcd", "kube-apiserver", "kube-controller-manager")
STARTUP_SECONDS: Final = 90.0
STOP_SECONDS: Final = 15.0
LOG_TAIL_LINES: Final = 40


class ControlPlaneUnavailable(Exception):
    """The control plane cannot be built or started here; the message says why and what to do."""


def cache_dir() -> Path:
    """Where ``tests/controlplane/build.sh`` puts the binaries of the pinned versions."""
    explicit = os.environ.get("GWSYNC_CONTROL_PLANE_DIR")
    if explicit:
        return Path(explicit)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "gwsync" / "control-plane" / f"{K8S_VERSION}-etcd{ETCD_VERSION}"


def binaries(folder: Path | None = None) -> dict[str, Path]:
    """The three server binaries; ControlPlaneUnavailable names what is missing and the fix."""
    where = folder or cache_dir()
    found = {name: where / name for name in BINARIES}
    missing = [name for name, path in found.items() if not os.access(path, os.X_OK)]
    if missing:
        raise ControlPlaneUnavailable(
            f"the control-plane binaries {', '.join(missing)} are not in {where}; "
            "build them once with `make control-plane` (needs Go >= 1.24 and the Go module proxy)"
        )
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- certificates ------------------------------------------------------------------------------


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate(
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None = None,
    *,
    sans: tuple[str, ...] = (),
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = dt.datetime.now(dt.UTC)
    issuer_name, signer = (issuer[0].subject, issuer[1]) if issuer else (name, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if sans:
        names: list[x509.GeneralName] = []
        for san in sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                names.append(x509.DNSName(san))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(signer, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


# --- the servers -------------------------------------------------------------------------------


@dataclass
class Server:
    """One process of the control plane, with its command line and its log file."""

    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(  # our own argv, no shell
                self.argv, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_SECONDS)

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager, started in `root`."""

    root: Path
    bin: dict[str, Path] = field(default_factory=binaries)
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    etcd_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    servers: dict[str, Server] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    @property
    def ca_path(self) -> Path:
        return self.root / "pki" / "ca.crt"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.root / "admin.kubeconfig"

    # -- start and stop -----------------------------------------------------------------------------

    def start(self, *, controller_manager: bool = True) -> ControlPlane:
        """Start etcd and kube-apiserver (ready when this returns), then kube-controller-manager.

        Without ``controller_manager`` nothing garbage-collects, finalizes namespaces or
        aggregates ClusterRoles: enough, and quicker, for what only needs the API server.
        """
        self._write_pki()
        self.kubeconfig(self.admin_kubeconfig, token=self.admin_token, user="admin")
        self.servers = {
            "etcd": Server("etcd", self._etcd_argv(), self.root / "etcd.log"),
            "kube-apiserver": Server(
                "kube-apiserver", self._apiserver_argv(), self.root / "kube-apiserver.log"
            ),
            "kube-controller-manager": Server(
                "kube-controller-manager",
                self._controller_manager_argv(),
                self.root / "kube-controller-manager.log",
            ),
        }
        try:
            self.servers["etcd"].start()
            self._wait(f"http://127.0.0.1:{self.etcd_port}/health", "etcd", tls=False)
            self.start_apiserver()
            if controller_manager:
                self.servers["kube-controller-manager"].start()
        except BaseException:
            self.stop()
            raise
        return self

    def start_apiserver(self) -> None:
        """Start (or start again) kube-apiserver and wait until /readyz answers ok."""
        self.servers["kube-apiserver"].start()
        self._wait(f"{self.url}/readyz", "kube-apiserver")

    def stop_apiserver(self) -> None:
        self.servers["kube-apiserver"].stop()

    def stop(self) -> None:
        for name in reversed(BINARIES):
            server = self.servers.get(name)
            if server is not None:
                server.stop()

    def tails(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines of each server's log, for a failing test's output."""
        return "\n".join(
            f"----- {name} (last {lines} lines of {server.log}) -----\n{server.tail(lines)}"
            for name, server in self.servers.items()
        )

    # -- clients ---------------------------------------------------------------------------------------

    def kubeconfig(self, path: Path, *, token: str, user: str = "user", namespace: str = "default") -> Path:
        """A kubeconfig for this server (CA verified) authenticating with a bearer token."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "gwsync-test",
                    "cluster": {"server": self.url, "certificate-authority": str(self.ca_path)},
                }
            ],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [
                {"name": user, "context": {"cluster": "gwsync-test", "user": user, "namespace": namespace}}
            ],
            "current-context": user,
        }
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        path.chmod(0o600)
        return path

    def request(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """One JSON request to the API server (admin by default); HTTP errors raise."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token or self.admin_token}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, context=self._tls(), timeout=30) as response:
            payload = response.read()
        return json.loads(payload) if payload else {}

    def service_account_token(self, namespace: str, name: str, *, seconds: int = 7200) -> str:
        """A TokenRequest token of a ServiceAccount (what a Pod of that account would mount)."""
        answer = self.request(
            "POST",
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"expirationSeconds": seconds},
            },
        )
        return str(answer["status"]["token"])

    # -- internals -------------------------------------------------------------------------------------

    def _write_pki(self) -> None:
        pki = self.root / "pki"
        pki.mkdir(parents=True, exist_ok=True)
        ca_key = _key()
        ca = _certificate("gwsync-test-ca", ca_key)
        serving_key = _key()
        serving = _certificate("kube-apiserver", serving_key, (ca, ca_key), sans=("127.0.0.1", "localhost"))
        signing_key = _key()
        files = {
            "ca.crt": _pem(ca),
            "apiserver.crt": _pem(serving),
            "apiserver.key": _pem_key(serving_key),
            "sa.key": _pem_key(signing_key),
            "sa.pub": signing_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            # A static token of a system:masters member: the test's (and kubectl's) admin.
            "tokens.csv": f'{self.admin_token},admin,admin-uid,"system:masters"\n'.encode(),
        }
        for name, content in files.items():
            (pki / name).write_bytes(content)
            (pki / name).chmod(0o600)

    def _etcd_argv(self) -> list[str]:
        peer = free_port()
        client = f"http://127.0.0.1:{self.etcd_port}"
        return [
            str(self.bin["etcd"]),
            "--name=gwsync-test",
            f"--data-dir={self.root / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=gwsync-test=http://127.0.0.1:{peer}",
            # Tests throw the data away: no fsync keeps etcd fast on a shared disk.
            "--unsafe-no-fsync",
            "--log-level=warn",
        ]

    def _apiserver_argv(self) -> list[str]:
        pki = self.root / "pki"
        return [
            str(self.bin["kube-apiserver"]),
            f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.api_port}",
            f"--cert-dir={pki}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--token-auth-file={pki / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            "--service-cluster-ip-range=10.0.0.0/24",
            f"--service-account-issuer={self.url}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            # No serviceaccount controller makes default ServiceAccounts, so the admission
            # plugin that requires them is off (envtest does the same).
            "--disable-admission-plugins=ServiceAccount",
            "--allow-privileged=true",
            "--v=1",
        ]

    def _controller_manager_argv(self) -> list[str]:
        return [
            str(self.bin["kube-controller-manager"]),
            f"--kubeconfig={self.admin_kubeconfig}",
            # Garbage collection and namespace deletion, and the aggregation that fills the
            # built-in edit/view/admin ClusterRoles with the rules of labelled ones (tenant RBAC).
            "--controllers=garbage-collector-controller,namespace-controller,"
            "clusterrole-aggregation-controller",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--secure-port={free_port()}",
            "--v=1",
        ]

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_path))

    def _wait(self, url: str, name: str, *, tls: bool = True) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        last = ""
        while time.monotonic() < deadline:
            code = self.servers[name].exited()
            if code is not None:
                raise ControlPlaneUnavailable(
                    f"{name} exited with code {code} while starting:\n{self.servers[name].tail()}"
                )
            request = urllib.request.Request(url)
            if tls:
                request.add_header("Authorization", f"Bearer {self.admin_token}")
            try:
                with urllib.request.urlopen(
                    request, context=self._tls() if tls else None, timeout=5
                ) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError) as exc:
                last = str(exc)
            time.sleep(0.2)  # a start-up poll interval, not a wait for an outcome
        raise ControlPlaneUnavailable(
            f"{name} did not become ready within {STARTUP_SECONDS:.0f} s ({last}):\n"
            + self.servers[name].tail()
        )


@contextmanager
def running_control_plane(root: Path) -> Iterator[ControlPlane]:
    """Start a control plane in `root`; stop every process it started on exit."""
    plane = ControlPlane(root)
    plane.start()
    try:
        yield plane
    finally:
        plane.stop()


def go_available() -> bool:
    return shutil.which("go") is not None
