"""`gwsync report show|list|export` and `status` on objects whose names and messages are hostile.

Keys and display names come from Google, details and condition messages quote the SCIM target:
whoever controls either can put escape sequences or rich markup in them. Shown in a terminal,
they must appear as visible text, never act (recolour, clear, hyperlink, overwrite, ring).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from tests.integration.cli.helpers import Gwsync, provisioning, rendered_keys

from gwsync.api.provisioning import SyncSummary, UserCounts
from gwsync.api.report import Action, ItemType, ReportItem, Result, Trigger
from gwsync.kube import reports
from gwsync.kube.client import Kube
from gwsync.kube.reports import timestamp
from gwsync.testing.kube import PROVISIONINGS, KubeEmulator

START = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
NOW = datetime.now(UTC).replace(microsecond=0)

# Raw value -> what the terminal must show instead.
CLEAR_AND_RECOLOUR = ("\x1b[2J\x1b[31mowned@acme.example", "\\x1b[2J\\x1b[31mowned@acme.example")
HYPERLINK = (
    "\x1b]8;;https://evil.example/\x1b\\click@acme.example\x1b]8;;\x1b\\",
    "\\x1b]8;;https://evil.example/\\x1b\\click@acme.example\\x1b]8;;\\x1b\\",
)
OVERWRITE_AND_BELL = (
    "jane@acme.example\rroot@acme.example\x07",
    "jane@acme.example\\rroot@acme.example\\x07",
)
MARKUP = ("[bold]x[/bold]@acme.example", "[bold]x[/bold]@acme.example")
MARKUP_LINK = (
    "[link=https://evil.example]y[/link]@acme.example",
    "[link=https://evil.example]y[/link]@acme.example",
)
EIGHT_BIT_CSI = ("\x9b31mc1@acme.example", "\\x9b31mc1@acme.example")
FORMULA = ('=HYPERLINK("https://evil.example","x")', '=HYPERLINK("https://evil.example","x")')
KEYS = [CLEAR_AND_RECOLOUR, HYPERLINK, OVERWRITE_AND_BELL, MARKUP, MARKUP_LINK, EIGHT_BIT_CSI, FORMULA]

DETAILS = (
    "SCIM 400: \x1b[8m[red]hidden[/red]\x1b[0m\x1b]8;;https://evil.example\x07link",
    "SCIM 400: \\x1b[8m[red]hidden[/red]\\x1b[0m\\x1b]8;;https://evil.example\\x07link",
)
MESSAGE = (
    "1 user failed: \x1b[1A\x1b[2K[green]all good[/green]",
    "1 user failed: \\x1b[1A\\x1b[2K[green]all good[/green]",
)

RAW_CONTROLS = ("\x1b", "\x07", "\r", "\x9b", "\x08")

# Characters a terminal does not act on but that hide or reorder what it shows (Unicode Cf, Zl,
# Zp) and C1 controls: each is shown as its escape.
INVISIBLE = [
    ("\u202eelpmaxe.live@nhoj", "\\u202eelpmaxe.live@nhoj"),
    ("line\u2028break\u2029@acme.example", "line\\u2028break\\u2029@acme.example"),
    ("zero\u200bwidth\ufeff@acme.example", "zero\\u200bwidth\\ufeff@acme.example"),
    ("next\x85line\x9b@acme.example", "next\\x85line\\x9b@acme.example"),
]
INVISIBLE_DETAILS = (
    "SCIM 400: \u202eseliated\u2028\u200b\x1b[31m",
    "SCIM 400: \\u202eseliated\\u2028\\u200b\\x1b[31m",
)
RAW_INVISIBLE = ("\u202e", "\u2028", "\u2029", "\u200b", "\ufeff", "\x85", "\x9b", "\x1b")


def item(key: str) -> ReportItem:
    return ReportItem(
        type=ItemType.USER,
        key=key,
        source_id="104857600000000000001",
        target_id="t-1",
        action=Action.CREATE,
        result=Result.FAILED,
        data_changed=True,
        changes=[],
        details=DETAILS[0],
    )


def assert_no_raw_controls(output: str) -> None:
    # CliRunner is no terminal, so rich writes no styles: any escape in the output came from the data.
    found = [repr(char) for char in RAW_CONTROLS if char in output]
    assert not found, f"raw control characters reached the terminal: {found}"


@pytest.fixture(scope="module")
def report(kube: Kube, emulator: KubeEmulator) -> str:
    acme = emulator.seed(PROVISIONINGS, provisioning("acme"))
    started = reports.start_report(kube, acme, Trigger.SCHEDULED, now=START)
    finished = reports.finish_report(
        kube,
        started,
        phase="PartiallySucceeded",
        message=MESSAGE[0],
        summary=SyncSummary(users=UserCounts(failed=len(KEYS))),
        items=[item(raw) for raw, _ in KEYS],
        now=START + timedelta(minutes=1),
    )
    return str(finished.metadata["name"])


def test_report_show_prints_hostile_keys_and_details_as_visible_text(gwsync: Gwsync, report: str) -> None:
    result = gwsync("report", "show", report)
    assert result.exit_code == 0, result.output
    assert_no_raw_controls(result.output)
    assert rendered_keys(result.stdout) == {shown for _, shown in KEYS}
    assert result.stdout.count(DETAILS[1]) == len(KEYS)
    assert f"Message       {MESSAGE[1]}" in result.stdout


def test_report_list_prints_a_hostile_message_as_visible_text(gwsync: Gwsync, report: str) -> None:
    result = gwsync("report", "list", "--wide")
    assert result.exit_code == 0, result.output
    assert_no_raw_controls(result.output)
    [row] = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith(report)]
    assert row.endswith(
        f"PartiallySucceeded  2025-03-14 09:26  1m0s            0        0        0       7  {MESSAGE[1]}"
    )


def test_a_search_for_a_hostile_key_shows_only_that_item(gwsync: Gwsync, report: str) -> None:
    result = gwsync("report", "show", report, "--search", "[link=")
    assert result.exit_code == 0, result.output
    assert rendered_keys(result.stdout) == {MARKUP_LINK[1]}
    assert f"1 of {len(KEYS)} items match the filters." in result.stdout


def test_report_export_neutralises_formulas_and_escapes(gwsync: Gwsync, report: str) -> None:
    result = gwsync("report", "export", report)
    assert result.exit_code == 0, result.output
    assert_no_raw_controls(result.stdout.replace("\r\n", ""))
    rows = list(csv.DictReader(io.StringIO(result.stdout_bytes.decode("utf-8"), newline="")))
    assert [row["key"] for row in rows] == [shown for _, shown in KEYS[:-1]] + ["'" + FORMULA[1]]
    assert {row["details"] for row in rows} == {DETAILS[1]}


def test_status_prints_hostile_conditions_and_names_as_visible_text(
    gwsync: Gwsync, emulator: KubeEmulator
) -> None:
    obj = provisioning("globex")
    obj["status"] = {
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": "[blink]SyncFailed[/blink]",
                "message": MESSAGE[0],
                "lastTransitionTime": timestamp(NOW - timedelta(hours=1)),
            },
            {
                "type": "Active",
                "status": "False",
                "reason": "AnotherProvisioningActive",
                "message": HYPERLINK[0],
                "lastTransitionTime": timestamp(NOW - timedelta(hours=1)),
            },
        ],
        "google": {"customerId": "C03\x1b[5m", "primaryDomain": "[link=https://evil.example]acme[/link]"},
        "lastSync": {"report": "globex-\x1b[2J", "phase": "Failed", "trigger": "Scheduled"},
    }
    emulator.seed(PROVISIONINGS, obj)
    result = gwsync("status", "globex")
    assert result.exit_code == 0, result.output
    assert_no_raw_controls(result.output)
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") == 6}
    assert "[blink]SyncFailed[/blink]" in rows["Ready"] and MESSAGE[1] in rows["Ready"]
    assert HYPERLINK[1] in rows["Active"]
    assert f"no (AnotherProvisioningActive: {HYPERLINK[1]})" in result.stdout
    assert "customer C03\\x1b[5m, domain [link=https://evil.example]acme[/link]" in result.stdout
    assert "Last sync     globex-\\x1b[2J Failed, Scheduled" in result.stdout


@pytest.fixture(scope="module")
def invisible_report(kube: Kube, emulator: KubeEmulator) -> str:
    initech = emulator.seed(PROVISIONINGS, provisioning("initech"))
    started = reports.start_report(kube, initech, Trigger.MANUAL, now=START)
    items = [item(raw).model_copy(update={"details": INVISIBLE_DETAILS[0]}) for raw, _ in INVISIBLE]
    finished = reports.finish_report(
        kube,
        started,
        phase="PartiallySucceeded",
        message=INVISIBLE_DETAILS[0],
        summary=SyncSummary(users=UserCounts(failed=len(items))),
        items=items,
        now=START + timedelta(minutes=1),
    )
    return str(finished.metadata["name"])


def test_report_show_escapes_format_characters_and_separators(gwsync: Gwsync, invisible_report: str) -> None:
    result = gwsync("report", "show", invisible_report)
    assert result.exit_code == 0, result.output
    found = [repr(char) for char in RAW_INVISIBLE if char in result.output]
    assert not found, f"invisible characters reached the terminal: {found}"
    assert rendered_keys(result.stdout) == {shown for _, shown in INVISIBLE}
    assert result.stdout.count(INVISIBLE_DETAILS[1]) == len(INVISIBLE) + 1  # and the message


def export_jsonl(gwsync: Gwsync, report: str, *, terminal: bool) -> str:
    """`gwsync report export --format jsonl` in a process of its own, its stdout a terminal
    (a pseudo-terminal, as an ssh session has) or a pipe."""
    command = [sys.executable, "-c", "from gwsync.cli.main import main; main()"]
    command += ["report", "export", report, "--format", "jsonl", "--server", gwsync.server]
    if not terminal:
        done = subprocess.run(command, capture_output=True, timeout=60, check=True)
        return done.stdout.decode("utf-8")
    controller, terminal_end = os.openpty()
    with subprocess.Popen(command, stdout=terminal_end, stderr=subprocess.PIPE) as process:
        os.close(terminal_end)
        shown = bytearray()
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the process closed its end
                break
            if not chunk:
                break
            shown += chunk
        os.close(controller)
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    return shown.decode("utf-8").replace("\r\n", "\n")  # the terminal's own line ends


def test_jsonl_export_to_a_terminal_escapes_them_and_stays_the_same_json(
    gwsync: Gwsync, invisible_report: str
) -> None:
    shown = export_jsonl(gwsync, invisible_report, terminal=True)
    found = [repr(char) for char in RAW_INVISIBLE if char in shown]
    assert not found, f"invisible characters reached the terminal: {found}"
    assert "\\u202eelpmaxe.live@nhoj" in shown  # the JSON escape, as a reader sees it
    values = [json.loads(line) for line in shown.splitlines()]
    assert [(v["key"], v["details"]) for v in values] == [(raw, INVISIBLE_DETAILS[0]) for raw, _ in INVISIBLE]


def test_jsonl_export_to_a_pipe_is_the_json_as_it_is(gwsync: Gwsync, invisible_report: str) -> None:
    written = export_jsonl(gwsync, invisible_report, terminal=False)
    assert "\u202eelpmaxe.live@nhoj" in written  # raw: scripts and jq read it unchanged
    values = [json.loads(line) for line in written.rstrip("\n").split("\n")]  # not splitlines(): U+2028
    assert [(v["key"], v["details"]) for v in values] == [(raw, INVISIBLE_DETAILS[0]) for raw, _ in INVISIBLE]
