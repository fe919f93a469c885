"""Canaille 0.3.6 (PyPI) through pytest-iam 0.3.0: its SCIM server as a process, OAuth-protected.

Canaille cannot run in gwsync's virtualenv (with the scim2-models 0.12 gwsync needs, every
User/Group answer is a 500), so it gets its own: `canaille/requirements.txt` (every package
pinned) is installed once by package name from PyPI into
${XDG_CACHE_HOME:-~/.cache}/gwsync/python/canaille-<hash of that file and the Python version>,
a no-op when that folder is complete (a file lock keeps parallel test workers from
installing it twice). `canaille/serve.py` then runs in it: Canaille as pytest-iam's `Server`
(in-memory database, loopback), one OAuth client registered. gwsync gets what a real
deployment gives a provisioning client: a bearer token from Canaille's own token endpoint by
the client_credentials grant. One process per test process, wiped between tests (a `wipe`
line on its stdin: process.LineServer); it exits when the tests do (its stdin closes).
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from . import builds, process
from .process import Unavailable

HERE = Path(__file__).resolve().parent / "canaille"
REQUIREMENTS = HERE / "requirements.txt"
SERVE = HERE / "serve.py"
CLIENT_ID, CLIENT_SECRET = "gwsync", "gwsync-client-secret"
INSTALL_TIMEOUT = 900.0
SERVER = process.LineServer("Canaille", "its store")


@cache
def installed() -> Path:
    """The Canaille virtualenv, built from requirements.txt if not there yet."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    digest = builds.short_hash(REQUIREMENTS.read_bytes(), python.encode())
    venv = builds.folder("python") / f"canaille-{digest}"
    # built in place, not renamed: a virtualenv's scripts name its folder
    with builds.locked(Path(f"{venv}.lock")):
        if (venv / ".complete").exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)  # an install that died half-way
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [
                str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                "--disable-pip-version-check", "--no-deps", "--only-binary=:all:",
                "-r", str(REQUIREMENTS),
            ],
        ]  # fmt: skip
        for step in steps:
            done = process.run(step, "installing Canaille", INSTALL_TIMEOUT)
            if done.returncode != 0:
                tail = process.tail(done.stderr)
                raise Unavailable(f"installing Canaille failed ({done.returncode}): {tail}")
        (venv / ".complete").touch()
    return venv


def bearer_token(base: str) -> str:
    """A token from Canaille's token endpoint, by the OAuth client_credentials grant."""
    request = urllib.request.Request(
        base + "oauth/token", data=urllib.parse.urlencode({"grant_type": "client_credentials"}).encode()
    )
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    request.add_header("Authorization", f"Basic {basic}")  # client_secret_basic
    with urllib.request.urlopen(request, timeout=30) as answered:
        return str(json.loads(answered.read())["access_token"])


@contextmanager
def serving() -> Iterator[tuple[str, str]]:
    """(SCIM base URL, bearer token) of a running Canaille with no user and no group."""
    port = SERVER.start([str(installed() / "bin" / "python"), str(SERVE), CLIENT_ID, CLIENT_SECRET])
    SERVER.wipe()
    base = f"http://localhost:{port}/"  # its SERVER_NAME: Flask answers 404 to another host
    yield base + "scim/v2", bearer_token(base)
