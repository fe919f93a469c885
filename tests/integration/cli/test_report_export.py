"""`gwsync report export`: every item of a 10,000-item sync as CSV that spreadsheets read back intact."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.integration.cli.helpers import Gwsync

from gwsync.api.provisioning import SyncSummary, UserCounts
from gwsync.api.report import Action, FieldChange, ItemType, ReportItem, Result, Trigger
from gwsync.kube import reports
from gwsync.kube.client import Kube

START = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
COUNT = 10_000
NAMES = [
    "Zoë Ångström",
    "François Lefèvre",
    'Ødegård, "Ola" Jr.',
    "李 小龍",
    "Renée\r\nO'Brien",
    "Ñandú; Peña",
]


def items() -> list[ReportItem]:
    made = []
    for index in range(COUNT):
        name = NAMES[index % len(NAMES)]
        failed = index % 97 == 0
        changed = index % 3 == 0
        made.append(
            ReportItem(
                type=ItemType.USER,
                key=f"user{index:05d}@acme.example",
                source_id=str(10**20 + index),
                target_id=None if failed else f"t-{index}",
                action=Action.UPDATE if changed else Action.UNCHANGED,
                result=Result.FAILED if failed else Result.SUCCEEDED,
                data_changed=changed,
                changes=[FieldChange(field="displayName", from_="Old, name", to=name)] if changed else [],
                details=f"Target refused: 409 uniqueness on userName ({name})" if failed else name,
            )
        )
    return made


ITEMS = items()


def expected_row(item: ReportItem) -> dict[str, str]:
    return {
        "type": item.type.value,
        "key": item.key,
        "action": item.action.value,
        "result": item.result.value,
        "dataChanged": "true" if item.data_changed else "false",
        "changes": "; ".join(f"{c.field}: {c.from_} -> {c.to}" for c in item.changes),
        "details": item.details,
        "sourceId": item.source_id or "",
        "targetId": item.target_id or "",
    }


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture(scope="module")
def report(kube: Kube, acme: dict[str, Any]) -> str:
    started = reports.start_report(kube, acme, Trigger.SCHEDULED, now=START)
    finished = reports.finish_report(
        kube,
        started,
        phase="PartiallySucceeded",
        message="104 users failed.",
        summary=SyncSummary(users=UserCounts(updated=3230, unchanged=6666, failed=104)),
        items=ITEMS,
        now=START + timedelta(minutes=3),
    )
    return str(finished.metadata["name"])


def test_export_to_a_file_round_trips_every_item(gwsync: Gwsync, report: str, tmp_path: Path) -> None:
    target = tmp_path / "items.csv"
    result = gwsync("report", "export", report, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == f"Wrote {COUNT} items to {target}.\n"
    raw = target.read_bytes()
    assert raw.startswith(b"type,key,action,result,dataChanged,changes,details,sourceId,targetId\r\n")
    rows = read_csv(raw.decode("utf-8"))
    assert rows == [expected_row(item) for item in ITEMS]
    assert {row["details"] for row in rows} >= set(NAMES)
    assert [path.name for path in tmp_path.iterdir()] == ["items.csv"], "no temporary file is left behind"


@pytest.mark.parametrize("dash", [[], ["-o", "-"]], ids=["no -o", "-o -"])
def test_export_to_stdout_round_trips_every_item(gwsync: Gwsync, report: str, dash: list[str]) -> None:
    result = gwsync("report", "export", report, *dash)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    rows = read_csv(result.stdout_bytes.decode("utf-8"))
    assert len(rows) == COUNT
    assert rows == [expected_row(item) for item in ITEMS]


def test_filters_apply_to_the_export(gwsync: Gwsync, report: str, tmp_path: Path) -> None:
    failed = [expected_row(item) for item in ITEMS if item.result is Result.FAILED]
    target = tmp_path / "failed.csv"
    result = gwsync("report", "export", report, "--result", "failed", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.stderr == f"Wrote {len(failed)} items to {target}.\n"
    assert read_csv(target.read_bytes().decode("utf-8")) == failed

    result = gwsync("report", "export", report, "--changed", "--search", "ZOË")
    assert result.exit_code == 0, result.output
    wanted = [expected_row(item) for item in ITEMS if item.data_changed and "zoë" in item.details.casefold()]
    assert wanted and read_csv(result.stdout_bytes.decode("utf-8")) == wanted


def test_an_unwritable_output_file_is_one_sentence(gwsync: Gwsync, report: str, tmp_path: Path) -> None:
    target = tmp_path / "missing-folder" / "items.csv"
    result = gwsync("report", "export", report, "-o", str(target))
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"error: Cannot write {target}: No such file or directory; choose another file with -o.\n"
    )


def test_export_as_json_lines_round_trips_every_item(gwsync: Gwsync, report: str, tmp_path: Path) -> None:
    result = gwsync("report", "export", report, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout_bytes.decode("utf-8").splitlines()
    assert [ReportItem.model_validate_json(line) for line in lines] == ITEMS
    first = json.loads(lines[0])  # camelCase, as in the report's status: what jq scripts use
    assert first == {
        "type": "User",
        "key": "user00000@acme.example",
        "sourceId": str(10**20),
        "action": "Update",
        "result": "Failed",
        "dataChanged": True,
        "changes": [{"field": "displayName", "from": "Old, name", "to": NAMES[0]}],
        "details": f"Target refused: 409 uniqueness on userName ({NAMES[0]})",
    }

    target = tmp_path / "failed.jsonl"
    result = gwsync("report", "export", report, "--format", "JSONL", "--result", "failed", "-o", str(target))
    failed = [item for item in ITEMS if item.result is Result.FAILED]
    assert result.exit_code == 0, result.output
    assert result.stderr == f"Wrote {len(failed)} items to {target}.\n"
    stored = target.read_text(encoding="utf-8").splitlines()
    assert [ReportItem.model_validate_json(line) for line in stored] == failed


def test_an_unknown_export_format_is_one_sentence(gwsync: Gwsync, report: str) -> None:
    result = gwsync("report", "export", report, "--format", "xml")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "error: --format 'xml' is not a known export format; use csv or jsonl.\n"
