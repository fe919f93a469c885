"""Node SCIM servers of the matrix: pinned npm packages installed once, the app run on loopback.

`install.sh` beside this file runs `npm ci` on an app folder's exact package.json and
package-lock.json into ${XDG_CACHE_HOME:-~/.cache}/gwsync/npm/<hash of both files>, once
(a no-op when that folder is complete). `serving` starts the app with that node_modules,
on 127.0.0.1 and a port the app picks (0: a free one) and prints as its first line.
Whatever stops a server from being installed or started raises `Unavailable` with the reason.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from . import process
from .process import Unavailable

HERE = Path(__file__).resolve().parent
INSTALL = HERE / "install.sh"
INSTALL_TIMEOUT = 600.0

__all__ = ["Unavailable", "installed", "serving"]  # Unavailable: what the interop tests catch


@cache
def installed(app: Path) -> Path:
    """The folder holding `app`'s node_modules, installed by install.sh if not yet there."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise Unavailable(f"{tool} is not installed (the Node SCIM servers need Node 20 and npm)")
    done = process.run(["bash", str(INSTALL), str(app)], f"npm ci for {app.name}", INSTALL_TIMEOUT)
    if done.returncode != 0:
        raise Unavailable(f"npm ci for {app.name} failed ({done.returncode}): {process.tail(done.stderr)}")
    return Path(done.stdout.strip().splitlines()[-1])


@contextmanager
def serving(app: Path, script: str, env: Mapping[str, str] | None = None) -> Iterator[int]:
    """Run `node <app>/<script>` with its installed packages; yields the port it listens on."""
    env = {"NODE_PATH": str(installed(app) / "node_modules"), **(env or {})}
    with process.serving(["node", str(app / script)], f"node {script}", env) as port:
        yield port
