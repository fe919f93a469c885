"""Canaille's SCIM server through pytest-iam, as a process: run by its own virtualenv's Python.

Not part of gwsync's environment (it imports Canaille, pytest-iam and the scim2-models they
work with; see requirements.txt beside it). `launchers/canaille_iam.py` builds that
virtualenv and runs this file. It starts Canaille as pytest-iam's `Server` does for its own
fixture (in-memory database, loopback), registers one OAuth client allowed the
client_credentials grant, prints the port once listening, then obeys one command a line on
stdin: `wipe` deletes every user and group and answers `wiped`. It exits when stdin closes
(the test process is gone), so it never outlives the tests.
"""

from __future__ import annotations

import os
import sys
import threading
import uuid
from typing import Any

CLIENT_ID, CLIENT_SECRET = sys.argv[1], sys.argv[2]


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


def main() -> None:
    import portpicker
    from canaille import create_app
    from canaille.backends import Backend
    from pytest_iam import Server

    port = portpicker.pick_unused_port()
    app = create_app(config=configuration(port), env_file=None, env_prefix="GWSYNC_CANAILLE_")
    server = Server(app, port, Backend.instance)
    # wsgiref serves one request at a time; a longer listen queue than its 5 keeps concurrent
    # clients waiting instead of having their connections dropped.
    server.httpd.socket.listen(128)
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
    print(port, flush=True)
    for line in sys.stdin:
        if line.strip() == "wipe":
            with app.app_context():
                for model in (server.models.Group, server.models.User):
                    for instance in server.backend.query(model):
                        server.backend.delete(instance)
            print("wiped", flush=True)
    server.httpd.shutdown()


if __name__ == "__main__":
    main()
