"""Page chains: page after page by page token, a token seen twice ends the read, and a thread
may follow the tokens ahead of the reading."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from gwsync.sources.google.calls import DirectoryApi
from gwsync.sync.ports import SourceUnavailable

AHEAD_PAGES = 8  # user pages asked before they are read (at least 2: see pages); a page is ~1 MB parsed

Item = TypeVar("Item")


def pages(
    calls: DirectoryApi,
    what: str,
    request: Callable[[Any, str | None], Any],
    parse: Callable[[Mapping[str, Any]], tuple[list[Item], str | None]],
    ahead: ThreadPoolExecutor | None = None,
) -> Iterator[list[Item]]:
    """Each page's items, parsed; a page token seen before ends the read (the list would loop).

    With `ahead`, a thread there follows the page tokens from answer to answer
    (`_follow`), so the chain of requests never waits for a page to be read here.
    """

    def fetch(token: str | None, page: int) -> dict[str, Any]:
        return calls.call(f"Reading {what} (page {page})", lambda api: request(api, token))

    answers: queue.Queue[dict[str, Any] | BaseException | None] | None = None
    stop = threading.Event()
    if ahead is not None:
        answers = queue.Queue(maxsize=AHEAD_PAGES)
        ahead.submit(_follow, fetch, answers, stop)

    def answer_of(token: str | None, page: int) -> dict[str, Any]:
        nonlocal answers
        if answers is not None:
            got = answers.get()
            if isinstance(got, BaseException):
                raise got
            if got is not None:
                return got
            answers = None  # the thread stopped following: the rest is asked here
        return fetch(token, page)

    seen: set[str] = set()
    page = 1
    try:
        answer = answer_of(None, page)
        while True:
            label = f"Reading {what} (page {page})"
            items, token = calls.parse_answer(label, parse, answer)  # a fault in the page is said first
            del answer
            yield items
            if not token:
                return
            if token in seen:
                raise SourceUnavailable(
                    f"{label} failed: Google returned a page token it had already returned, so the "
                    "listing would never end; nothing was read."
                )
            seen.add(token)
            page += 1
            answer = answer_of(token, page)
    finally:
        stop.set()
        if answers is not None:  # a follower blocked on a full queue puts one more and stops
            with contextlib.suppress(queue.Empty):
                while True:
                    answers.get_nowait()


def _follow(
    fetch: Callable[[str | None, int], dict[str, Any]],
    answers: queue.Queue[dict[str, Any] | BaseException | None],
    stop: threading.Event,
) -> None:
    """Ask page after page, each with the token of the answer before, into `answers`: then
    None once a page has no usable token (or one already followed), or the error that ended
    the chain, where its page would have been. Stops at `stop`; `answers` holds at most
    AHEAD_PAGES, so memory does not grow when reading is slower than asking."""
    token: str | None = None
    page, followed = 1, set[str]()
    try:
        while not stop.is_set():
            answer = fetch(token, page)
            answers.put(answer)
            token = _early_token(answer)
            if token is None or token in followed:
                break
            followed.add(token)
            page += 1
    except BaseException as exc:  # handed to the reader, which raises it in its own thread
        answers.put(exc)
        return
    answers.put(None)


def _early_token(page: Mapping[str, Any]) -> str | None:
    """The next page's token before the page is read (None when it is not one: parsing says so)."""
    token = page.get("nextPageToken")
    return token if type(token) is str and token else None
