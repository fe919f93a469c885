"""`gwsync report show|export --file`: what goes wrong with a report file is one sentence, exit 1."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from gwsync.cli.main import app

runner = CliRunner()

REPORT: dict[str, Any] = {
    "apiVersion": "provisioning.gwsync.io/v1alpha1",
    "kind": "SyncReport",
    "metadata": {"name": "acme-20261204-101500", "namespace": "people"},
    "spec": {"provisioningRef": {"name": "acme"}, "trigger": "Manual", "dryRun": False},
    "status": {
        "phase": "PartiallySucceeded",
        "message": "1 user created; 1 item failed and will be retried by the next sync (0 users unchanged).",
        "summary": {"users": {"created": 1, "failed": 1}},
        "itemCount": 2,
        "items": [
            {"type": "User", "key": "ann@acme.example", "action": "Create", "result": "Succeeded"},
            {
                "type": "User",
                "key": "bob@acme.example",
                "action": "Create",
                "result": "Failed",
                "details": "409 uniqueness",
            },
        ],
    },
}


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_a_yaml_report_file_is_shown_and_exported_with_the_filters(tmp_path: Path) -> None:
    path = tmp_path / "report.yaml"
    path.write_text(yaml.safe_dump(REPORT), encoding="utf-8")
    code, out, _ = invoke("report", "show", "--file", str(path), "--result", "failed")
    assert code == 0
    assert "SyncReport people/acme-20261204-101500" in out and "409 uniqueness" in out
    assert out.rstrip().endswith("1 of 2 items match the filters.")
    target = tmp_path / "failed.jsonl"
    code, _, err = invoke("report", "export", "--file", str(path), "--result", "failed", "-o", str(target))
    assert (code, err) == (0, f"Wrote 1 item to {target}.\n")
    assert [json.loads(line)["key"] for line in target.read_text().splitlines()] == ["bob@acme.example"]


MISTAKES = [
    (["report", "show", "--file", "{root}/nope.json"], "The report file {root}/nope.json does not exist."),
    (
        ["report", "show", "--file", "{root}/gprov.yaml"],
        "The report file {root}/gprov.yaml holds a GoogleProvisioning; pass a file `gwsync sync -o` wrote.",
    ),
    (
        ["report", "show", "--file", "{root}/broken.json"],
        "The report file {root}/broken.json is neither JSON nor YAML (a syntax error at line 2); pass a "
        "file `gwsync sync -o` wrote.",
    ),
    (
        ["report", "show"],
        "Name the SyncReport to read (see `gwsync report list`), or give --file FILE written by "
        "`gwsync sync -o`.",
    ),
    (
        ["report", "export", "acme-20261204-101500", "--file", "{root}/report.json"],
        "Give the name of a SyncReport in the cluster or --file FILE, not both.",
    ),
    (
        ["report", "export", "--file", "{root}/report.json", "-o", "{root}/items.xlsx"],
        "-o {root}/items.xlsx: an export is written as .csv or .jsonl; name the file so, or pass -o - for "
        "standard output.",
    ),
    (
        ["report", "export", "--file", "{root}/report.json", "--format", "jsonl", "-o", "{root}/items.csv"],
        "-o {root}/items.csv ends in .csv but --format is jsonl; name the file .jsonl, or leave "
        "--format out.",
    ),
]


@pytest.mark.parametrize(
    ("args", "message"), MISTAKES, ids=[" ".join(a[:3]) + f" #{i}" for i, (a, _) in enumerate(MISTAKES)]
)
def test_report_file_mistakes_are_one_sentence_and_exit_1(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "report.json").write_text(json.dumps(REPORT), encoding="utf-8")
    (tmp_path / "gprov.yaml").write_text(
        "kind: GoogleProvisioning\nmetadata: {name: acme}\n", encoding="utf-8"
    )
    (tmp_path / "broken.json").write_text('{"kind": "SyncReport",\n  [', encoding="utf-8")
    code, _, err = invoke(*(arg.format(root=tmp_path) for arg in args))
    assert (code, " ".join(err.split())) == (1, f"error: {message.format(root=tmp_path)}")
    assert not (tmp_path / "items.csv").exists()
