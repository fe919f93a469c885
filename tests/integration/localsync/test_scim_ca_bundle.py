"""`gwsync sync` against a SCIM target whose certificate a private CA signed (caBundleSecretRef).

The operator reads that CA from the Secret the spec names; outside the cluster the person
passes the same PEM with --scim-ca-bundle-file. Both build the target with one factory
(gwsync.targets.scim.target_for), so the CLI no longer drops the bundle.
"""

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from scim2_server.memory import InMemoryStorage
from typer.testing import CliRunner

from gwsync.cli.main import app
from gwsync.testing.org import Org, OrgUser
from gwsync.testing.scim import BackloggedServer, scim_application

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

TOKEN = "tls-scim-token"
runner = CliRunner()


def flat(text: str) -> str:
    return " ".join(text.split())


def certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
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
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is not None:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        builder = builder.add_extension(san, critical=False)
    return builder.sign(signer, hashes.SHA256())


@dataclass
class TlsScim:
    """scim2-server behind TLS, its certificate signed by a CA of this test's own."""

    url: str
    ca_pem: str
    requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def tls_scim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsScim]:
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("gwsync test CA", ca_key, None)
    served = certificate("127.0.0.1", server_key, (ca, ca_key))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "server.pem").write_bytes(served.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "server.pem", folder / "server.key")

    scim_app = scim_application(TOKEN, InMemoryStorage())
    requests: list[str] = []

    def logged(environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        requests.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        return scim_app(environ, start_response)

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, logged, server_class=BackloggedServer, handler_class=QuietHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name="tls-scim", daemon=True)
    thread.start()
    try:
        ca_pem = ca.public_bytes(serialization.Encoding.PEM).decode()
        yield TlsScim(f"https://127.0.0.1:{server.server_port}/v2", ca_pem, requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def workspace(root: Path, scim: TlsScim, *, ca_bundle_ref: bool = True) -> list[str]:
    """The files of a local sync whose spec names caBundleSecretRef; the command's arguments."""
    manifest = {
        "apiVersion": "provisioning.gwsync.io/v1alpha1",
        "kind": "GoogleProvisioning",
        "metadata": {"name": "acme", "namespace": "people"},
        "spec": {
            "google": {
                "adminEmail": "admin@acme.example",
                "credentialsSecretRef": {"name": "acme-google", "key": "credentials.json"},
            },
            "target": {
                "scim": {
                    "url": scim.url,
                    "tokenSecretRef": {"name": "acme-scim", "key": "token"},
                }
                | ({"caBundleSecretRef": {"name": "acme-scim-ca", "key": "ca.crt"}} if ca_bundle_ref else {})
            },
        },
    }
    org = Org(
        admins=["admin@acme.example"],
        users=[
            OrgUser(id="2000", primary_email="admin@acme.example", given_name="Ada", family_name="Admin"),
            OrgUser(id="2001", primary_email="tls.jane@acme.example", given_name="Jane", family_name="Doe"),
        ],
    )
    (root / "acme.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    (root / "org.yaml").write_text(org.to_yaml(), encoding="utf-8")
    (root / "token").write_text(TOKEN, encoding="utf-8")
    args = ["sync", "-f", str(root / "acme.yaml"), "--directory-file", str(root / "org.yaml")]
    return [*args, "--scim-token-file", str(root / "token"), "--state", str(root / "ledger.json")]


def test_a_spec_naming_a_ca_bundle_syncs_over_tls_with_the_bundle_file(
    tmp_path: Path, tls_scim: TlsScim
) -> None:
    args = workspace(tmp_path, tls_scim)
    (tmp_path / "ca.pem").write_text(tls_scim.ca_pem, encoding="utf-8")

    result = runner.invoke(app, [*args, "--scim-ca-bundle-file", str(tmp_path / "ca.pem")])

    assert result.exit_code == 0, result.output
    assert "Succeeded: 2 users created" in flat(result.stdout)
    assert tls_scim.requests.count("POST /v2/Users") == 2


def test_a_spec_naming_a_ca_bundle_without_the_file_stops_before_any_request(
    tmp_path: Path, tls_scim: TlsScim
) -> None:
    args = workspace(tmp_path, tls_scim)
    seen = len(tls_scim.requests)

    result = runner.invoke(app, args)

    assert result.exit_code == 1
    assert flat(result.stderr) == (
        f"error: GoogleProvisioning acme trusts {tls_scim.url} through spec.target.scim.caBundleSecretRef "
        "(Secret acme-scim-ca, key ca.crt), which gwsync cannot read outside the cluster: pass that PEM CA "
        "bundle with --scim-ca-bundle-file FILE."
    )
    assert len(tls_scim.requests) == seen
    assert not (tmp_path / "ledger.json").exists()


def test_a_target_whose_ca_is_not_trusted_is_named_with_the_field_and_the_flag(
    tmp_path: Path, tls_scim: TlsScim
) -> None:
    args = workspace(tmp_path, tls_scim, ca_bundle_ref=False)

    result = runner.invoke(app, args)

    assert result.exit_code == 1
    message = flat(result.stderr)
    assert message.startswith(
        f"error: The SCIM target {tls_scim.url} cannot be reached: TLS verification failed"
    )
    assert message.endswith(
        "add the server's CA to spec.target.scim.caBundleSecretRef (gwsync sync and plan: "
        "--scim-ca-bundle-file FILE)."
    )
