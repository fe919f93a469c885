"""Every `--help` names only files and documents the repository has (DESIGN.md is not one)."""

import re
from pathlib import Path

import typer.main
from typer.testing import CliRunner

from gwsync.cli.main import app

ROOT = Path(__file__).resolve().parents[3]
# A path a person would look for: a folder/file.ext or a bare FILE.md, e.g. docs/reference.md.
FILE = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*[\w.-]+\.(?:md|py|yaml|yml|json|toml))\b")
# Example names a help text may use for the person's own files, not the repository's.
THEIRS = {"report.json", "ORG.yaml", "key.json", "NAMESPACE-NAME.ledger.json"}


def every_command() -> list[list[str]]:
    """The argv of every command and group, the root included: ["report", "show"], ..."""
    found: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_help_texts_refer_only_to_files_the_repository_has() -> None:
    commands = every_command()
    assert ["report", "show"] in commands and ["sync"] in commands
    missing = {}
    for path in commands:
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "400"})
        assert result.exit_code == 0, (path, result.output)
        assert "DESIGN" not in result.stdout, path
        for name in FILE.findall(result.stdout):
            if name not in THEIRS and not (ROOT / name).exists():
                missing[" ".join(path)] = name
    assert missing == {}
