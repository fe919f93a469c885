"""Canaille 0.3.6 (PyPI) through pytest-iam 0.3.0: its SCIM server, in a thread, OAuth-protected.

pytest-iam's `Server` runs Canaille with the in-memory database on a local port. gwsync needs
what a real deployment gives a provisioning client: an OAuth client registered in Canaille
and a bearer token got with the client_credentials grant from Canaille's own token endpoint
(not written into its store). One Canaille per test session; users and groups are wiped
between tests through its backend.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_started: dict[str, Any] = {}
CLIENT_ID, CLIENT_SECRET = "gwsync", "gwsync-client-secret"


def configuration(port: int) -> dict[str, Any]:
    """pytest-iam's own test configuration (its iam_configuration fixture), SCIM on."""
    from joserfc.jwk import JWKRegistry

    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain http on loopback
    jwk = JWKRegistry.generate_key("RSA", 2048)
    jwk.ensure_kid()
    return {
        "TESTING": True,
        "ENV_FILE": None,
        "SECRET_KEY": str(uuid.uuid4()),
        "WTF_CSRF_ENABLED": False,
        "PREFERRED_URL_SCHEME": "http",
        "SERVER_NAME": f"localhost:{port}",
        "CANAILLE": {
            "DATABASE": "memory",
            "JAVASCRIPT": False,
            "ACL": {"DEFAULT": {"PERMISSIONS": ["use_oidc", "manage_oidc"]}},
            "LOGGING": {
                "version": 1,
                "disable_existing_loggers": False,
                "handlers": {"canaille": {"class": "logging.NullHandler"}},
                "loggers": {"canaille": {"level": "WARNING", "handlers": ["canaille"]}},
            },
        },
        "CANAILLE_OIDC": {"ACTIVE_JWKS": [jwk.as_dict(private=True)]},
        "CANAILLE_SCIM": {"ENABLE_SERVER": True},
    }


def _start() -> Any:
    if "server" in _started:
        return _started["server"]
    import portpicker
    from canaille import create_app
    from canaille.backends import Backend
    from pytest_iam import Server

    port = portpicker.pick_unused_port()
    app = create_app(config=configuration(port), env_file=None, env_prefix="GWSYNC_CANAILLE_")
    server = Server(app, port, Backend.instance)
    threading.Thread(target=server.httpd.serve_forever, name="canaille", daemon=True).start()
    with app.app_context():
        client = server.models.Client(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            client_name="gwsync",
            grant_types=["client_credentials"],
            response_types=["token"],
            token_endpoint_auth_method="client_secret_basic",
            scope=["openid"],
            redirect_uris=[],
        )
        server.backend.save(client)
    _started["server"] = server
    return server


def bearer_token(base: str) -> str:
    """A token from Canaille's token endpoint, by the OAuth client_credentials grant."""
    request = urllib.request.Request(
        base + "oauth/token", data=urllib.parse.urlencode({"grant_type": "client_credentials"}).encode()
    )
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    request.add_header("Authorization", f"Basic {basic}")  # client_secret_basic
    with urllib.request.urlopen(request, timeout=30) as answer:
        return str(json.loads(answer.read())["access_token"])


def wipe(server: Any) -> None:
    with server.app.app_context():
        for model in (server.models.Group, server.models.User):
            for instance in server.backend.query(model):
                server.backend.delete(instance)


@contextmanager
def serving() -> Iterator[tuple[str, str]]:
    """(SCIM base URL, bearer token) of a running Canaille with no user and no group."""
    server = _start()
    wipe(server)
    yield server.url + "scim/v2", bearer_token(server.url)
