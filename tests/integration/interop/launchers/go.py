"""Go SCIM servers of the matrix: a small app of ours, built from pinned modules, run on loopback.

`built` compiles an app folder (go.mod, go.sum, *.go) with `go build` (GOFLAGS=-mod=readonly:
exactly the versions go.sum pins, fetched by Go from its module proxy into Go's own module
cache; -buildvcs=false: no git stamp) into
${XDG_CACHE_HOME:-~/.cache}/gwsync/go/<hash of the app's files>/<app>, once: a file lock keeps
parallel test workers from building it twice, and its folder is renamed into place only when
complete (builds.py). `serving` starts it on 127.0.0.1; the app prints its port as its first
line and exits when its stdin closes. Whatever stops a server from being built or started
raises `Unavailable` with the reason.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from . import builds, process
from .process import Unavailable

BUILD_TIMEOUT = 900.0


def digest(app: Path) -> str:
    """The hash of the app's files (go.mod, go.sum, *.go): its folder in the cache."""
    sources = sorted([app / "go.mod", app / "go.sum", *app.glob("*.go")])
    return builds.short_hash(*(source.name.encode() + b"\0" + source.read_bytes() for source in sources))


@cache
def built(app: Path) -> Path:
    """The app's binary, built if not there yet."""
    go = shutil.which("go")
    if go is None:
        raise Unavailable("go is not installed (the Go SCIM server needs Go 1.26)")

    def build(work: Path) -> None:
        env = {**os.environ, "GOFLAGS": "-mod=readonly -buildvcs=false", "GOTOOLCHAIN": "local"}
        command = [go, "build", "-trimpath", "-o", str(work / app.name), "."]
        done = process.run(command, f"go build of {app.name}", BUILD_TIMEOUT, cwd=app, env=env)
        if done.returncode != 0:  # what went wrong comes first (progress lines aside)
            said = [" ".join(line.split()) for line in done.stderr.splitlines() if line.strip()]
            reason = " ".join([line for line in said if not line.startswith("go: downloading")][:3])
            raise Unavailable(f"go build of {app.name} failed ({done.returncode}): {reason}")

    folder = builds.folder("go") / digest(app)
    return builds.built_once(folder, build, ready=app.name) / app.name


@contextmanager
def serving(app: Path, env: Mapping[str, str] | None = None) -> Iterator[int]:
    """Run the app's binary; yields the port it listens on. It exits at the end of its stdin."""
    with process.serving([str(built(app))], app.name, env, stdin=True) as port:
        yield port
