"""Node SCIM servers of the matrix: pinned npm packages installed once, the app run on loopback.

`install.sh` beside this file runs `npm ci` on an app folder's exact package.json and
package-lock.json into ${XDG_CACHE_HOME:-~/.cache}/gwsync/npm/<hash of both files>, once
(a no-op when that folder is complete). `serving` starts the app with that node_modules,
on 127.0.0.1 and a port the app picks (0: a free one) and prints as its first line.
Whatever stops a server from being installed or started raises `Unavailable` with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
INSTALL = HERE / "install.sh"
INSTALL_TIMEOUT = 600.0
START_TIMEOUT = 30.0


class Unavailable(Exception):
    """The server cannot be installed or started on this machine; str() says why."""


@cache
def installed(app: Path) -> Path:
    """The folder holding `app`'s node_modules, installed by install.sh if not yet there."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise Unavailable(f"{tool} is not installed (the Node SCIM servers need Node 20 and npm)")
    try:
        done = subprocess.run(
            ["bash", str(INSTALL), str(app)],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise Unavailable(f"npm ci for {app.name} did not finish in {INSTALL_TIMEOUT:.0f} s") from exc
    if done.returncode != 0:
        tail = " ".join(done.stderr.strip().splitlines()[-3:])
        raise Unavailable(f"npm ci for {app.name} failed ({done.returncode}): {tail}")
    return Path(done.stdout.strip().splitlines()[-1])


@contextmanager
def serving(app: Path, script: str, env: Mapping[str, str] | None = None) -> Iterator[int]:
    """Run `node <app>/<script>` with its installed packages; yields the port it listens on."""
    modules = installed(app) / "node_modules"
    # stderr to a file, not a pipe: a chatty server never blocks on a full pipe.
    with tempfile.TemporaryFile(mode="w+") as errors:
        process = subprocess.Popen(
            ["node", str(app / script)],
            env={**os.environ, "NODE_PATH": str(modules), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        try:
            assert process.stdout is not None
            first = process.stdout.readline().strip()  # the app prints its port once listening
            if not first.isdigit():
                process.kill()
                process.wait(timeout=START_TIMEOUT)
                errors.seek(0)
                tail = " ".join(errors.read().strip().splitlines()[-3:])
                raise Unavailable(f"node {script} did not start (exit {process.returncode}): {first} {tail}")
            yield int(first)
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()
