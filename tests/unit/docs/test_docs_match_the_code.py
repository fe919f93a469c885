"""README and docs/ say what the code does: commands exist, condition reasons are real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gwsync.cli.main import app

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text(encoding="utf-8")
GUIDE = (ROOT / "docs" / "googleprovisioning.md").read_text(encoding="utf-8")
SOURCE = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "operator" / "gwsync").rglob("*.py"))


def section(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 3)
    return text[start : end if end != -1 else None]


def test_the_two_commands_are_the_makefile_targets_ci_runs() -> None:
    block = section(README, "Two commands")
    assert "make demo" in block and "make test" in block
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo: ", makefile, re.M) and re.search(r"^test: ", makefile, re.M)
    assert (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().endswith("make test")


COMMANDS = sorted(
    {
        tuple(line.split()[1:3]) if line.split()[1] in {"report", "groups", "emulate"} else (line.split()[1],)
        for line in section(README, "Command reference").splitlines()
        if line.startswith("gwsync ")
    }
)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_documented_command_exists(command: tuple[str, ...]) -> None:
    # "report list|show|export" documents three subcommands
    subcommands = command[-1].split("|") if len(command) == 2 else [""]
    for sub in subcommands:
        args = [command[0], *([sub] if sub else []), "--help"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, (args, result.output)


def test_every_troubleshooting_reason_is_one_the_operator_sets() -> None:
    table = section(README, "Troubleshooting, by condition reason")
    documented = set(re.findall(r"\(`([A-Z][A-Za-z]+)`\)", table))
    assert {"GoogleAuthFailed", "AnotherProvisioningActive", "DeprovisioningBlocked"} <= documented
    for reason in documented:
        assert f'"{reason}"' in SOURCE, f"{reason} is documented but the operator never sets it"
    guide = set(re.findall(r"`([A-Z][A-Za-z]+)`", section(GUIDE, "Conditions")))
    assert documented - {"Ready", "Connected"} <= guide | {"AwaitingFirstSync", "SyncPending"}
