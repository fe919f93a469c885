"""scim-sdk-server 1.30.0 (Maven Central, de.captaingoldfish) in a small Java app of ours, on loopback.

`javascim/` is the app: `pom.xml` (every version pinned) and two Java files, the library's
`ResourceEndpoint` behind the JDK's HTTP server with in-memory User and Group handlers. It
is built once with `mvn -q -B package` into ${XDG_CACHE_HOME:-~/.cache}/gwsync/maven/<hash of
the app's files>/ (the app's jar and lib/, the jars it needs), a no-op when that folder is
complete; a file lock keeps parallel test workers from building it twice, and the folder
appears whole or not at all (built beside it, then renamed). Maven keeps what it downloads
in its own repository (~/.m2). A JVM takes about half a second to start and more to warm
up, so there is one server per test process, wiped between tests (a `wipe` line on its
stdin); it exits when the tests do (its stdin closes).
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import os
import selectors
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import IO, Any

from .node import Unavailable

APP = Path(__file__).resolve().parent / "javascim"
MAIN = "gwsync.interop.Main"
TOKEN = "scim-sdk-token"
BUILD_TIMEOUT = 900.0
ANSWER_TIMEOUT = 60.0
JVM = [
    "-XX:TieredStopAtLevel=1",  # C1 only, and the JDK's class-data archive: 0.7 s to a first answer, not 1.1
    "-Xshare:auto",
    "-XX:+UseSerialGC",  # a small heap on a shared 2-core machine: no parallel GC threads
    "-Xmx256m",
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=error",
]
_running: dict[str, Any] = {}


def app_files() -> list[Path]:
    return [APP / "pom.xml", *sorted((APP / "src").rglob("*.java"))]


def cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gwsync" / "maven"


@cache
def built() -> Path:
    """The folder holding the app's javascim.jar and lib/, built from the app's files if not there yet."""
    for tool, why in (("java", "the app runs on Java 17"), ("mvn", "Maven builds the app")):
        if shutil.which(tool) is None:
            raise Unavailable(f"{tool} is not installed ({why})")
    digest = hashlib.sha256()
    for path in app_files():
        digest.update(str(path.relative_to(APP)).encode() + b"\0" + path.read_bytes() + b"\0")
    dest = cache_folder() / digest.hexdigest()[:16]
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{dest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker building: wait for it, then reuse
        if (dest / ".complete").exists():
            return dest
        work = Path(tempfile.mkdtemp(prefix=".build-", dir=dest.parent))
        try:
            shutil.copy2(APP / "pom.xml", work / "pom.xml")
            shutil.copytree(APP / "src", work / "src")
            try:
                done = subprocess.run(
                    ["mvn", "-q", "-B", "package"],
                    cwd=work,
                    capture_output=True,
                    text=True,
                    timeout=BUILD_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise Unavailable(f"mvn package did not finish in {BUILD_TIMEOUT:.0f} s") from exc
            if done.returncode != 0:
                said = (done.stdout + done.stderr).strip().splitlines()
                tail = " ".join(line for line in said if "ERROR" in line)[:600] or " ".join(said[-3:])
                raise Unavailable(f"mvn package of {APP.name} failed ({done.returncode}): {tail}")
            (work / "target" / "javascim.jar").rename(work / "javascim.jar")
            (work / "target" / "lib").rename(work / "lib")
            for leftover in ("target", "src", "pom.xml"):
                path = work / leftover
                shutil.rmtree(path) if path.is_dir() else path.unlink()
            (work / ".complete").touch()
            shutil.rmtree(dest, ignore_errors=True)  # a build that died half-way
            work.rename(dest)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return dest


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
        raise Unavailable(f"the scim-sdk-server app did not answer (exit {process.returncode}): {tail}")
    return line.strip()


def _start() -> tuple[subprocess.Popen[str], IO[str], int]:
    if "process" in _running and _running["process"].poll() is None:
        return _running["process"], _running["errors"], _running["port"]
    app = built()
    # stderr to a file, not a pipe: never blocks the server; open as long as the process runs.
    errors = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
    classpath = f"{app / 'javascim.jar'}{os.pathsep}{app / 'lib' / '*'}"
    process = subprocess.Popen(
        ["java", *JVM, "-cp", classpath, MAIN, TOKEN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    first = answer(process, errors)
    if not first.isdigit():
        process.kill()
        process.wait()
        raise Unavailable(f"the scim-sdk-server app did not start: {first}")
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


@contextmanager
def serving() -> Iterator[str]:
    """The SCIM base URL of the running app, with no user and no group."""
    process, errors, port = _start()
    assert process.stdin is not None
    process.stdin.write("wipe\n")
    process.stdin.flush()
    if (said := answer(process, errors)) != "wiped":
        raise Unavailable(f"the scim-sdk-server app did not wipe its stores: {said}")
    yield f"http://127.0.0.1:{port}/scim/v2"
