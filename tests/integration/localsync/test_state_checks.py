"""`gwsync sync` never skips removals silently, and checks its ledger before the first write (issue 24,
points 1 and 2).

Without --state the ledger is the GoogleProvisioning's own file in the current folder, named on
standard error, so the next run finds it and deprovisions who left; `plan` with no ledger says
removals cannot be planned. A state file is checked before any request: it must belong to this
target (the file records the normalized URL and accountId), and its folder must take a new file.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gwsync.cli.main import app
from gwsync.testing.org import sample_org
from gwsync.testing.orggen import next_day
from gwsync.testing.scim import run_scim_server

from .test_sync_command import TOKEN, Workspace, flat, provisioning, runner

DEFAULT = "people-acme.ledger.json"


@pytest.fixture
def work(tmp_path: Path) -> Iterator[Workspace]:
    with run_scim_server(token=TOKEN) as scim:
        yield Workspace(tmp_path, scim)


def test_sync_without_state_keeps_the_ledger_in_a_named_default_file_and_removes_leavers(
    work: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(work.root)
    args = ["sync", "-f", str(work.manifest), "--directory-file", str(work.org)]
    args += ["--scim-token-file", str(work.token)]

    first = runner.invoke(app, args)

    assert first.exit_code == 0, first.output
    assert flat(first.stderr) == (
        f"note: State file: ./{DEFAULT} (no --state given: the default for people/acme)."
    )
    assert len(json.loads((work.root / DEFAULT).read_text(encoding="utf-8"))["users"]) == 38
    work.snapshot(next_day(sample_org())[0])  # sam.taylor leaves Google
    second = runner.invoke(app, [*args[:4], str(work.org), *args[5:]])
    assert second.exit_code == 0, second.output
    assert work.scim.user_by_name("sam.taylor@acme.example")["active"] is False


def test_plan_without_a_ledger_says_removals_cannot_be_planned(
    work: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(work.root)
    args = ["plan", "-f", str(work.manifest), "--directory-file", str(work.org)]

    result = runner.invoke(app, [*args, "--scim-token-file", str(work.token), "--summary"])

    assert result.exit_code == 0, result.output
    assert flat(result.stderr) == (
        f"note: No --state given and no ./{DEFAULT} here: removals cannot be planned without the ledger "
        "`gwsync sync` keeps; pass it with --state FILE."
    )
    missing = work.run("plan", "--summary")
    assert flat(missing.stderr) == (
        f"note: State file {work.state} does not exist yet: removals cannot be planned until a sync has "
        "written it."
    )


def test_a_ledger_of_another_target_is_refused_before_any_request(work: Workspace) -> None:
    assert work.run("sync").exit_code == 0
    saved = work.state.read_bytes()
    assert json.loads(saved)["target"] == {"url": work.scim.url}
    # The same URL spelled otherwise is the same target; another account at it is not.
    other = provisioning(work.scim.url.replace("/v2", "//v2/"))
    other["spec"]["target"]["scim"]["accountId"] = "globex"
    work.manifest = work.write("globex.yaml", yaml.safe_dump(other))
    work.scim.reset_log()

    result = work.run("sync")

    assert result.exit_code == 1
    assert flat(result.stderr) == (
        f"error: State file {work.state} is the ledger of {work.scim.url}, not of {work.scim.url} "
        "(accountId globex) (GoogleProvisioning acme's target): pass this target's ledger with --state "
        "FILE, or a new file name to start one."
    )
    assert work.scim.request_log == [] and work.state.read_bytes() == saved


def test_an_unwritable_state_file_is_refused_before_the_first_write(work: Workspace) -> None:
    # Tests run as root, who may write any folder: a "folder" that is a file stops root too.
    work.state = work.token / "ledger.json"

    result = work.run("sync")

    assert result.exit_code == 1
    assert flat(result.stderr) == (
        f"error: State file {work.state} cannot be written: {work.token} is a file, not a folder; pass "
        "--state a file in a folder you can write."
    )
    assert work.scim.request_log == []
