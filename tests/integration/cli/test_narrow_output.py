"""Output piped or read in an 80-column terminal: every line fits, no email is cut in two.

Each command runs as a whole `gwsync` process with COLUMNS=80 and its output captured (not a
terminal), as `gwsync demo | less` or a CI log shows it. tests/conftest.py drops the COLUMNS
the workers inherit, so it is set here explicitly.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from gwsync.api.provisioning import SyncSummary, UserCounts
from gwsync.api.report import Action, ItemType, ReportItem, Result, Trigger
from gwsync.kube import reports
from gwsync.kube.client import Kube
from gwsync.testing.kube import KubeEmulator
from gwsync.testing.org import sample_org
from gwsync.testing.orggen import next_day

GWSYNC = str(Path(sys.executable).parent / "gwsync")
NARROW = {"COLUMNS": "80", "NO_COLOR": "1"}
EMAIL = re.compile(r"[\w.+-]*@[\w-]+(?:\.[\w-]+)*")
START = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)


def gwsync(*args: str) -> str:
    done = subprocess.run(
        [GWSYNC, *args],
        env={**os.environ, **NARROW},
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def assert_fits_80_columns_with_whole_emails(output: str, emails: set[str]) -> None:
    lines = output.splitlines()
    assert [line for line in lines if cell_len(line) > 80] == []
    found = {match.rstrip(".") for line in lines for match in EMAIL.findall(line)}
    # A cut email leaves a piece on each line: a piece is not one of the emails, or one is missing.
    assert found - emails == set()
    assert emails & found, "the output shows none of the emails"


def test_the_demo_fits_80_columns_and_never_cuts_an_email() -> None:
    before = sample_org()
    after, _ = next_day(before)
    emails = {u.primary_email for org in (before, after) for u in org.users}
    emails |= {g.email for g in before.groups}
    output = gwsync("demo")
    assert_fits_80_columns_with_whole_emails(output, emails)
    # Too narrow for the table's six columns: each item is stacked, its key on a line of its own.
    assert "│ amelie.martin@acme.example " in output
    assert "│ User · Rename · Succeeded · changed " in output


LONG = "constance.vanderbilt-montgomery@subsidiary.acme.example"
ITEMS = [
    ReportItem(
        type=ItemType.USER,
        key=LONG,
        action=Action.RENAME,
        result=Result.SUCCEEDED,
        data_changed=True,
        details=f"Email changed from constance.vanderbilt@acme.example to {LONG}.",
    ),
    ReportItem(
        type=ItemType.MEMBERSHIP,
        key=f"Platform Engineering/{LONG}",
        action=Action.ADD_MEMBER,
        result=Result.FAILED,
        data_changed=True,
        details="Target refused: 404 no such member platform-engineering@acme.example.",
    ),
    ReportItem(
        type=ItemType.USER,
        key="bo@acme.example",
        action=Action.UNCHANGED,
        result=Result.SUCCEEDED,
        data_changed=False,
    ),
]
REPORT_EMAILS = {
    LONG,
    "constance.vanderbilt@acme.example",
    "platform-engineering@acme.example",
    "bo@acme.example",
}


@pytest.fixture(scope="module")
def finished(kube: Kube, acme: dict[str, Any]) -> str:
    """The name of a finished SyncReport of acme holding ITEMS."""
    report = reports.start_report(kube, acme, Trigger.MANUAL, now=START)
    report = reports.finish_report(
        kube,
        report,
        phase="PartiallySucceeded",
        message=f"PartiallySucceeded: adding {LONG} to Platform Engineering failed; see the items.",
        summary=SyncSummary(users=UserCounts(renamed=1, unchanged=1)),
        items=ITEMS,
        now=START + timedelta(minutes=1),
    )
    return str(report.metadata["name"])


def test_report_show_fits_80_columns_and_never_cuts_an_email(emulator: KubeEmulator, finished: str) -> None:
    output = gwsync("report", "show", finished, "--server", str(emulator.url).rstrip("/"))
    assert_fits_80_columns_with_whole_emails(output, REPORT_EMAILS)
    assert "3 items." in output


def test_report_list_fits_80_columns_with_whole_names(emulator: KubeEmulator, finished: str) -> None:
    output = gwsync("report", "list", "--server", str(emulator.url).rstrip("/"))
    lines = output.splitlines()
    assert [line for line in lines if cell_len(line) > 80] == []
    # The start time (the name holds it), the trigger and the duration make way for the whole name.
    assert [line.split()[:2] for line in lines if finished in line] == [[finished, "PartiallySucceeded"]]
