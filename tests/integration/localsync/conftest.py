"""Local syncs run in-process, their standard error captured (no terminal): gwsync would print a
progress line every 5 s there. A slow machine must not add such a line to the exact messages these
tests check, so the interval is an hour, unless a test sets its own (test_interrupt.py)."""

import pytest


@pytest.fixture(autouse=True)
def no_progress_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GWSYNC_PROGRESS_SECONDS", "3600")
