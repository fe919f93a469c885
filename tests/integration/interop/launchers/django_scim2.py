"""django-scim2-server (PyPI) on SQLite, served in a thread by wsgiref, bearer token auth.

The package ships the app only: this is the smallest Django project around it (settings,
one URL include, migrations into a temporary SQLite file). Its access check is a dotted
path setting; ours accepts one bearer token. Wiped between tests through the ORM.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

TOKEN = "django-scim-token"
_configured: dict[str, Any] = {}


def bearer_only(request: Any) -> bool:
    return bool(request.headers.get("Authorization") == f"Bearer {TOKEN}")


class Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128


def _setup() -> Any:
    if "app" in _configured:
        return _configured["app"]
    import django
    from django.conf import settings

    folder = Path(tempfile.mkdtemp(prefix="gwsync-django-scim-"))
    settings.configure(
        DEBUG=False,
        SECRET_KEY="test-only",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django_scim2_server",
        ],
        MIDDLEWARE=[],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(folder / "scim.sqlite3"),
                # Django's advice for SQLite under concurrent writers: BEGIN IMMEDIATE, so a
                # read transaction never has to upgrade to a write lock (instant "database is locked").
                "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
            }
        },
        USE_TZ=True,
        SCIM2_SERVER_AUTH_CHECK=f"{__name__}.bearer_only",
    )
    django.setup()
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", verbosity=0)
    _configured["app"] = get_wsgi_application()
    return _configured["app"]


def _urls() -> list[Any]:
    from django.urls import include, path

    return [path("scim/v2/", include("django_scim2_server.urls"))]


def __getattr__(name: str) -> Any:  # ROOT_URLCONF reads urlpatterns lazily
    if name == "urlpatterns":
        return _urls()
    raise AttributeError(name)


def wipe() -> None:
    from django.contrib.auth.models import Group, User

    User.objects.all().delete()
    Group.objects.all().delete()


@contextmanager
def serving() -> Iterator[str]:
    """The SCIM base URL of a running, empty django-scim2-server."""
    app = _setup()
    wipe()
    server = make_server("127.0.0.1", 0, app, server_class=Threading, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, name="django-scim2-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/scim/v2"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
