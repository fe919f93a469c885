"""Serving an asyncio server from a thread of its own, for blocking callers.

A blocking client (the Google client, the kubernetes client, kubectl in a subprocess) called
from the loop that serves its emulator would deadlock it; synchronous tests, the CLI and the
benchmarks therefore run each emulator in its own thread and event loop.
"""

import asyncio
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import TypeVar

T = TypeVar("T")
STARTUP_SECONDS = 30.0


@contextmanager
def serving_in_thread(running: Callable[[], AbstractAsyncContextManager[T]], name: str) -> Iterator[T]:
    """Enter `running()` on a new loop in a daemon thread; yield what it yields; stop on exit."""
    started: queue.Queue[tuple[T, Callable[[], object]] | BaseException] = queue.Queue()

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        try:
            async with running() as served:
                started.put((served, lambda: loop.call_soon_threadsafe(stop.set)))
                await stop.wait()
        except BaseException as exc:
            started.put(exc)
            raise

    thread = threading.Thread(target=asyncio.run, args=(serve(),), name=name, daemon=True)
    thread.start()
    outcome = started.get(timeout=STARTUP_SECONDS)
    if isinstance(outcome, BaseException):
        raise outcome
    served, stop = outcome
    try:
        yield served
    finally:
        stop()
        thread.join(timeout=STARTUP_SECONDS)
