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
line on its stdin); it exits when the tests do (its stdin closes).
"""

from __future__ import annotations

import atexit
import base64
import fcntl
import hashlib
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import IO, Any

from .node import Unavailable

HERE = Path(__file__).resolve().parent / "canaille"
REQUIREMENTS = HERE / "requirements.txt"
SERVE = HERE / "serve.py"
CLIENT_ID, CLIENT_SECRET = "gwsync", "gwsync-client-secret"
INSTALL_TIMEOUT = 900.0
ANSWER_TIMEOUT = 60.0
_running: dict[str, Any] = {}


def cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gwsync" / "python"


@cache
def installed() -> Path:
    """The Canaille virtualenv, built from requirements.txt if not there yet."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    digest = hashlib.sha256(REQUIREMENTS.read_bytes() + python.encode()).hexdigest()[:16]
    venv = cache_folder() / f"canaille-{digest}"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker installing: wait for it, then reuse
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
            try:
                done = subprocess.run(
                    step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
                )
            except subprocess.TimeoutExpired as exc:
                raise Unavailable(f"installing Canaille did not finish in {INSTALL_TIMEOUT:.0f} s") from exc
            if done.returncode != 0:
                tail = " ".join(done.stderr.strip().splitlines()[-3:])
                raise Unavailable(f"installing Canaille failed ({done.returncode}): {tail}")
        (venv / ".complete").touch()
    return venv


def answer(process: subprocess.Popen[str], errors: IO[str]) -> str:
    """The server's next line on stdout, within ANSWER_TIMEOUT; Unavailable if it dies."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        line = process.stdout.readline() if selector.select(ANSWER_TIMEOUT) else ""
    if not line:
        process.kill()
        process.wait()
        errors.seek(0)
        tail = " ".join(errors.read().strip().splitlines()[-3:])
        raise Unavailable(f"Canaille did not answer (exit {process.returncode}): {tail}")
    return line.strip()


def _start() -> tuple[subprocess.Popen[str], IO[str], int]:
    if "process" in _running and _running["process"].poll() is None:
        return _running["process"], _running["errors"], _running["port"]
    python = installed() / "bin" / "python"
    # stderr to a file, not a pipe: never blocks the server; open as long as the process runs.
    errors = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
    process = subprocess.Popen(
        [str(python), str(SERVE), CLIENT_ID, CLIENT_SECRET],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    first = answer(process, errors)
    if not first.isdigit():
        process.kill()
        raise Unavailable(f"Canaille did not start: {first}")
    _running.update(process=process, errors=errors, port=int(first))
    atexit.register(_stop, process)
    return process, errors, int(first)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        assert process.stdin is not None
        process.stdin.close()  # the server exits at the end of its stdin
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
    process, errors, port = _start()
    assert process.stdin is not None
    process.stdin.write("wipe\n")
    process.stdin.flush()
    if (said := answer(process, errors)) != "wiped":
        raise Unavailable(f"Canaille did not wipe its store: {said}")
    base = f"http://localhost:{port}/"  # its SERVER_NAME: Flask answers 404 to another host
    yield base + "scim/v2", bearer_token(base)
