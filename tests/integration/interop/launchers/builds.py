"""Where the launchers keep what they build: ${XDG_CACHE_HOME:-~/.cache}/gwsync/<kind>/<hash>.

A folder there is named by a hash of the files it is built from, so a changed app gets a new
one. It is built once: a file lock beside it keeps parallel test workers from building it
twice, and it appears whole or not at all (built in a folder beside it, then renamed).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def folder(kind: str) -> Path:
    """The cache folder of one kind of build (go, maven, python)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gwsync" / kind


def short_hash(*chunks: bytes) -> str:
    """The first 16 hex digits of the SHA-256 of `chunks`, one after the other."""
    return hashlib.sha256(b"".join(chunks)).hexdigest()[:16]


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the file lock `path` (another worker holding it: wait for it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def built_once(dest: Path, build: Callable[[Path], None], ready: str = ".complete") -> Path:
    """`dest`, made by `build(folder)` and renamed into place unless `dest/ready` is there already."""
    with locked(Path(f"{dest}.lock")):
        if (dest / ready).exists():
            return dest
        work = Path(tempfile.mkdtemp(prefix=".build-", dir=dest.parent))
        try:
            build(work)
            (work / ready).touch()
            shutil.rmtree(dest, ignore_errors=True)  # a build that died half-way
            work.rename(dest)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return dest
