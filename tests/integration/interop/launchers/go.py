"""Go SCIM servers of the matrix: a small app of ours, built from pinned modules, run on loopback.

`built` compiles an app folder (go.mod, go.sum, *.go) with `go build` (GOFLAGS=-mod=readonly:
exactly the versions go.sum pins, fetched by Go from its module proxy into Go's own module
cache; -buildvcs=false: no git stamp) into
${XDG_CACHE_HOME:-~/.cache}/gwsync/go/<hash of the app's files>/<app>, once: a file lock keeps
parallel test workers from building it twice, and the binary is renamed into place only when
complete. `serving` starts it on 127.0.0.1; the app prints its port as its first line and exits
when its stdin closes. Whatever stops a server from being built or started
raises `Unavailable` with the reason.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import selectors
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from .node import Unavailable

BUILD_TIMEOUT = 900.0
START_TIMEOUT = 30.0


def cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gwsync" / "go"


def digest(app: Path) -> str:
    """The hash of the app's files (go.mod, go.sum, *.go): its folder in the cache."""
    hashed = hashlib.sha256()
    for source in sorted([app / "go.mod", app / "go.sum", *app.glob("*.go")]):
        hashed.update(source.name.encode() + b"\0" + source.read_bytes())
    return hashed.hexdigest()[:16]


@cache
def built(app: Path) -> Path:
    """The app's binary, built if not there yet."""
    go = shutil.which("go")
    if go is None:
        raise Unavailable("go is not installed (the Go SCIM server needs Go 1.26)")
    binary = cache_folder() / digest(app) / app.name
    binary.parent.mkdir(parents=True, exist_ok=True)
    with open(binary.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker building: wait for it, then reuse
        if binary.exists():
            return binary
        partial = binary.with_name(f".{app.name}.partial")
        env = {**os.environ, "GOFLAGS": "-mod=readonly -buildvcs=false", "GOTOOLCHAIN": "local"}
        try:
            done = subprocess.run(
                [go, "build", "-trimpath", "-o", str(partial), "."],
                cwd=app,
                env=env,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise Unavailable(f"go build of {app.name} did not finish in {BUILD_TIMEOUT:.0f} s") from exc
        if done.returncode != 0:  # what went wrong comes first (progress lines aside)
            said = [" ".join(line.split()) for line in done.stderr.splitlines() if line.strip()]
            reason = " ".join([line for line in said if not line.startswith("go: downloading")][:3])
            raise Unavailable(f"go build of {app.name} failed ({done.returncode}): {reason}")
        partial.rename(binary)
    return binary


@contextmanager
def serving(app: Path, env: Mapping[str, str] | None = None) -> Iterator[int]:
    """Run the app's binary; yields the port it listens on. It exits at the end of its stdin."""
    binary = built(app)
    # stderr to a file, not a pipe: a chatty server never blocks on a full pipe.
    with tempfile.TemporaryFile(mode="w+") as errors:
        process = subprocess.Popen(
            [str(binary)],
            env={**os.environ, **(env or {})},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        assert process.stdin is not None and process.stdout is not None
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(process.stdout, selectors.EVENT_READ)
                first = process.stdout.readline().strip() if selector.select(START_TIMEOUT) else ""
            if not first.isdigit():
                process.kill()
                process.wait()
                errors.seek(0)
                tail = " ".join(errors.read().strip().splitlines()[-3:])
                raise Unavailable(f"{app.name} did not start (exit {process.returncode}): {first} {tail}")
            yield int(first)
        finally:
            process.stdin.close()  # the app exits at the end of its stdin
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()
