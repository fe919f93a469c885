"""Server processes of the launchers: a tool run to build one, and the server run on loopback.

Every server prints the port it listens on as its first line on stdout. `serving` runs one for
the length of a `with`; `LineServer` keeps one per test process and speaks to it by lines (a
`wipe` line answered `wiped`); it exits when the tests do (its stdin closes). stderr goes to a
file, not a pipe: a chatty server never blocks on a full pipe, and its last lines say why it
stopped. Whatever stops a server from being built or started raises `Unavailable` with the reason.
"""

from __future__ import annotations

import atexit
import os
import selectors
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, Any

START_TIMEOUT = 30.0
ANSWER_TIMEOUT = 60.0


class Unavailable(Exception):
    """The server cannot be installed or started on this machine; str() says why."""


def tail(text: str) -> str:
    """The last three lines of what a process said, on one line."""
    return " ".join(text.strip().splitlines()[-3:])


def run(
    command: Sequence[str], what: str, timeout: float, **options: Any
) -> subprocess.CompletedProcess[str]:
    """`command` run to its end (its output captured); Unavailable if it takes over `timeout` s."""
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, **options
        )
    except subprocess.TimeoutExpired as exc:
        raise Unavailable(f"{what} did not finish in {timeout:.0f} s") from exc


def next_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The process's next line on stdout, stripped; "" if it ends or says nothing in `timeout` s."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        return process.stdout.readline().strip() if selector.select(timeout) else ""


def killed(process: subprocess.Popen[str], errors: IO[str]) -> str:
    """Kill the process; the last lines of its stderr."""
    process.kill()
    process.wait()
    errors.seek(0)
    return tail(errors.read())


def stop(process: subprocess.Popen[str]) -> None:
    """End the process: the end of its stdin if it reads one, else SIGTERM; killed after 5 s."""
    if process.poll() is None:
        if process.stdin is not None:
            process.stdin.close()  # the server exits at the end of its stdin
        else:
            process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


@contextmanager
def serving(
    command: Sequence[str], name: str, env: Mapping[str, str] | None = None, *, stdin: bool = False
) -> Iterator[int]:
    """Run `command`; yields the port it prints first. With `stdin`, it exits at the end of its stdin."""
    with tempfile.TemporaryFile(mode="w+") as errors:
        process = subprocess.Popen(
            list(command),
            env={**os.environ, **(env or {})},
            stdin=subprocess.PIPE if stdin else None,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        try:
            first = next_line(process, START_TIMEOUT)
            if not first.isdigit():
                said = killed(process, errors)
                raise Unavailable(f"{name} did not start (exit {process.returncode}): {first} {said}")
            yield int(first)
        finally:
            stop(process)


class LineServer:
    """One server process per test process, started at its first use, spoken to by lines."""

    def __init__(self, name: str, stores: str) -> None:
        self.name = name  # in messages: "<name> did not answer"
        self.stores = stores  # in messages: "<name> did not wipe <stores>"
        self.process: subprocess.Popen[str] | None = None
        self.errors: IO[str] | None = None
        self.port = 0

    def start(self, command: Sequence[str]) -> int:
        """The port of the running server, started with `command` unless it runs already."""
        if self.process is not None and self.process.poll() is None:
            return self.port
        self.errors = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115  (open as long as the process runs)
        self.process = subprocess.Popen(
            list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors, text=True
        )
        first = self.answer()
        if not first.isdigit():
            self.process.kill()
            self.process.wait()
            raise Unavailable(f"{self.name} did not start: {first}")
        atexit.register(stop, self.process)
        self.port = int(first)
        return self.port

    def answer(self) -> str:
        """The server's next line, within ANSWER_TIMEOUT; Unavailable if it dies or stays silent."""
        assert self.process is not None and self.errors is not None
        line = next_line(self.process, ANSWER_TIMEOUT)
        if not line:
            said = killed(self.process, self.errors)
            raise Unavailable(f"{self.name} did not answer (exit {self.process.returncode}): {said}")
        return line

    def wipe(self) -> None:
        """Empty the server's stores (a `wipe` line, answered `wiped`)."""
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write("wipe\n")
        self.process.stdin.flush()
        if (said := self.answer()) != "wiped":
            raise Unavailable(f"{self.name} did not wipe {self.stores}: {said}")
