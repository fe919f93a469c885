"""scim-sdk-server 1.30.0 (Maven Central, de.captaingoldfish) in a small Java app of ours, on loopback.

`javascim/` is the app: `pom.xml` (every version pinned) and two Java files, the library's
`ResourceEndpoint` behind the JDK's HTTP server with in-memory User and Group handlers. It
is built once with `mvn -q -B package` into ${XDG_CACHE_HOME:-~/.cache}/gwsync/maven/<hash of
the app's files>/ (the app's jar and lib/, the jars it needs), a no-op when that folder is
complete; a file lock keeps parallel test workers from building it twice, and the folder
appears whole or not at all (built beside it, then renamed: builds.py). Maven keeps what it downloads
in its own repository (~/.m2). A JVM takes about half a second to start and more to warm
up, so there is one server per test process, wiped between tests (a `wipe` line on its
stdin: process.LineServer); it exits when the tests do (its stdin closes).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from . import builds, process
from .process import Unavailable

APP = Path(__file__).resolve().parent / "javascim"
MAIN = "gwsync.interop.Main"
TOKEN = "scim-sdk-token"
BUILD_TIMEOUT = 900.0
JVM = [
    "-XX:TieredStopAtLevel=1",  # C1 only, and the JDK's class-data archive: 0.7 s to a first answer, not 1.1
    "-Xshare:auto",
    "-XX:+UseSerialGC",  # a small heap on a shared 2-core machine: no parallel GC threads
    "-Xmx256m",
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=error",
]
SERVER = process.LineServer("the scim-sdk-server app", "its stores")


def app_files() -> list[Path]:
    return [APP / "pom.xml", *sorted((APP / "src").rglob("*.java"))]


def build(work: Path) -> None:
    """The app's javascim.jar and lib/ (the jars it needs) in `work`, by mvn package."""
    shutil.copy2(APP / "pom.xml", work / "pom.xml")
    shutil.copytree(APP / "src", work / "src")
    done = process.run(["mvn", "-q", "-B", "package"], "mvn package", BUILD_TIMEOUT, cwd=work)
    if done.returncode != 0:
        said = (done.stdout + done.stderr).strip().splitlines()
        tail = " ".join(line for line in said if "ERROR" in line)[:600] or " ".join(said[-3:])
        raise Unavailable(f"mvn package of {APP.name} failed ({done.returncode}): {tail}")
    (work / "target" / "javascim.jar").rename(work / "javascim.jar")
    (work / "target" / "lib").rename(work / "lib")
    for leftover in ("target", "src", "pom.xml"):
        path = work / leftover
        shutil.rmtree(path) if path.is_dir() else path.unlink()


@cache
def built() -> Path:
    """The folder holding the app's javascim.jar and lib/, built from the app's files if not there yet."""
    for tool, why in (("java", "the app runs on Java 17"), ("mvn", "Maven builds the app")):
        if shutil.which(tool) is None:
            raise Unavailable(f"{tool} is not installed ({why})")
    sources = [
        str(path.relative_to(APP)).encode() + b"\0" + path.read_bytes() + b"\0" for path in app_files()
    ]
    return builds.built_once(builds.folder("maven") / builds.short_hash(*sources), build)


@contextmanager
def serving() -> Iterator[str]:
    """The SCIM base URL of the running app, with no user and no group."""
    app = built()
    classpath = f"{app / 'javascim.jar'}{os.pathsep}{app / 'lib' / '*'}"
    port = SERVER.start(["java", *JVM, "-cp", classpath, MAIN, TOKEN])
    SERVER.wipe()
    yield f"http://127.0.0.1:{port}/scim/v2"
