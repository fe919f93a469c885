"""`gwsync report list|show`: what a person reading sync reports in a cluster sees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.integration.cli.helpers import Gwsync, assert_error, provisioning, rendered_keys

from gwsync.api.provisioning import MembershipCounts, SyncSummary, TeamCounts, UserCounts
from gwsync.api.report import Action, FieldChange, ItemType, ReportItem, Result, SyncReport, Trigger
from gwsync.kube import reports
from gwsync.kube.client import Kube
from gwsync.testing.kube import PROVISIONINGS, KubeEmulator

START = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)


def item(
    type_: ItemType, key: str, action: Action, result: Result, *, changed: bool, details: str = ""
) -> ReportItem:
    changes = [FieldChange(field="displayName", from_="Old", to=details)] if changed and details else []
    return ReportItem(
        type=type_,
        key=key,
        source_id=f"g-{key}",
        target_id=f"t-{key}",
        action=action,
        result=result,
        data_changed=changed,
        changes=changes,
        details=details,
    )


ITEMS = [
    item(
        ItemType.USER,
        "alice@acme.example",
        Action.CREATE,
        Result.SUCCEEDED,
        changed=True,
        details="Zoë Ångström",
    ),
    item(
        ItemType.USER,
        "bruno@acme.example",
        Action.UPDATE,
        Result.SUCCEEDED,
        changed=True,
        details="François Lefèvre",
    ),
    item(ItemType.USER, "chen@acme.example", Action.UNCHANGED, Result.SUCCEEDED, changed=False),
    item(
        ItemType.USER,
        "dmitri@acme.example",
        Action.DEPROVISION,
        Result.FAILED,
        changed=False,
        details="Target refused: 409 [/userName] is locked",  # brackets are text, not rich markup
    ),
    item(
        ItemType.USER,
        "eve@acme.example",
        Action.CREATE,
        Result.SKIPPED,
        changed=True,
        details="Skipped: the email is outside the domain",
    ),
    item(ItemType.TEAM, "Designers", Action.CREATE, Result.SUCCEEDED, changed=True),
    item(ItemType.TEAM, "Platform", Action.UNCHANGED, Result.SUCCEEDED, changed=False),
    item(
        ItemType.MEMBERSHIP, "Designers/frank@acme.example", Action.ADD_MEMBER, Result.SUCCEEDED, changed=True
    ),
    item(
        ItemType.MEMBERSHIP,
        "Platform/grace@acme.example",
        Action.REMOVE_MEMBER,
        Result.FAILED,
        changed=True,
        details="Target refused: 404 no such member",
    ),
]
ALL_KEYS = {i.key for i in ITEMS}
SUMMARY = SyncSummary(
    users=UserCounts(created=1, updated=1, deprovisioned=0, unchanged=1, failed=1),
    teams=TeamCounts(created=1, unchanged=1),
    memberships=MembershipCounts(added=1, failed=1),
)


def finish(
    kube: Kube, report: SyncReport, items: list[ReportItem], *, minutes: float, phase: str
) -> SyncReport:
    return reports.finish_report(
        kube,
        report,
        phase=phase,
        message=f"{phase}: 2 items failed; see the report's items.",
        summary=SUMMARY,
        items=items,
        now=(report.status.start_time or START) + timedelta(minutes=minutes),
    )


@pytest.fixture(scope="module")
def seeded(kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]) -> dict[str, str]:
    """Two provisionings: acme with two finished syncs and a running one, globex with one."""
    globex = emulator.seed(PROVISIONINGS, provisioning("globex"))
    first = reports.start_report(kube, acme, Trigger.INITIAL, now=START)
    first = finish(kube, first, ITEMS[:3], minutes=1, phase="Succeeded")
    second = reports.start_report(kube, acme, Trigger.SCHEDULED, now=START + timedelta(days=1))
    second = finish(kube, second, ITEMS, minutes=1.2, phase="PartiallySucceeded")
    other = reports.start_report(kube, globex, Trigger.MANUAL, now=START + timedelta(hours=2))
    other = finish(kube, other, ITEMS[:1], minutes=0.5, phase="Succeeded")
    running = reports.start_report(kube, acme, Trigger.MANUAL, now=START + timedelta(days=2))
    return {
        "first": first.metadata["name"],
        "second": second.metadata["name"],
        "other": other.metadata["name"],
        "running": running.metadata["name"],
    }


def test_report_list_shows_every_report_of_the_namespace_oldest_first(
    gwsync: Gwsync, seeded: dict[str, str]
) -> None:
    result = gwsync("report", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    rows = {label: next(line for line in lines if name in line) for label, name in seeded.items()}
    assert "acme" in rows["first"] and "Initial" in rows["first"] and "Succeeded" in rows["first"]
    assert "globex" in rows["other"] and "Manual" in rows["other"]
    assert "PartiallySucceeded" in rows["second"] and "1m12s" in rows["second"]
    assert "2025-03-15 09:26" in rows["second"]
    assert "Running" in rows["running"]
    assert "oldest first" in result.stdout
    order = [lines.index(rows[key]) for key in ("first", "second", "running")]
    assert order == sorted(order)


def test_report_list_wide_adds_each_message(gwsync: Gwsync, seeded: dict[str, str]) -> None:
    result = gwsync("report", "list", "--wide")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if seeded["second"] in line)
    assert "PartiallySucceeded: 2 items failed; see the report's items." in row


def test_report_list_filters_by_provisioning(gwsync: Gwsync, seeded: dict[str, str]) -> None:
    result = gwsync("report", "list", "--provisioning", "globex")
    assert result.exit_code == 0, result.output
    assert seeded["other"] in result.stdout
    assert seeded["first"] not in result.stdout and seeded["second"] not in result.stdout

    result = gwsync("report", "list", "-p", "nobody")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "No SyncReports for GoogleProvisioning default/nobody yet; one is created when a sync starts."
    )


def test_report_show_prints_the_summary_and_every_item(gwsync: Gwsync, seeded: dict[str, str]) -> None:
    name = seeded["second"]
    result = gwsync("report", "show", name)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"SyncReport default/{name}" in out
    for shown in (
        "PartiallySucceeded",
        "Scheduled",
        "default/acme",
        "2025-03-15T09:26:53Z",
        "2025-03-15T09:28:05Z",
        "1m12s",
        "PartiallySucceeded: 2 items failed; see the report's items.",
        "1 created, 1 updated, 0 renamed, 0 adopted, 0 deprovisioned, 0 held, 1 unchanged, 1 failed",
        "1 created, 1 unchanged, 0 failed",
        "1 added, 0 removed, 1 failed",
        "Target refused: 409 [/userName] is locked",
    ):
        assert shown in out, shown
    assert rendered_keys(out) == ALL_KEYS
    assert out.rstrip().endswith("9 items.")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--result", "Failed"], {"dmitri@acme.example", "Platform/grace@acme.example"}),
        (
            ["--result", "failed", "--result", "SKIPPED"],
            {"dmitri@acme.example", "Platform/grace@acme.example", "eve@acme.example"},
        ),
        (["--action", "AddMember"], {"Designers/frank@acme.example"}),
        (
            ["--action", "create,unchanged"],
            {"alice@acme.example", "eve@acme.example", "Designers", "chen@acme.example", "Platform"},
        ),
        (["--type", "Team"], {"Designers", "Platform"}),
        (["--type", "membership"], {"Designers/frank@acme.example", "Platform/grace@acme.example"}),
        (
            ["--changed"],
            {
                "alice@acme.example",
                "bruno@acme.example",
                "eve@acme.example",
                "Designers",
                "Designers/frank@acme.example",
                "Platform/grace@acme.example",
            },
        ),
        (["--unchanged"], {"chen@acme.example", "dmitri@acme.example", "Platform"}),
        (["--search", "LEFÈVRE"], {"bruno@acme.example"}),
        (["--search", "refused"], {"dmitri@acme.example", "Platform/grace@acme.example"}),
        (
            ["--type", "User", "--changed", "--result", "Succeeded"],
            {"alice@acme.example", "bruno@acme.example"},
        ),
    ],
)
def test_report_show_filters_select_exactly_the_matching_items(
    gwsync: Gwsync, seeded: dict[str, str], options: list[str], expected: set[str]
) -> None:
    result = gwsync("report", "show", seeded["second"], *options)
    assert result.exit_code == 0, result.output
    assert rendered_keys(result.stdout) == expected
    assert result.stdout.rstrip().endswith(f"{len(expected)} of 9 items match the filters.")


def test_report_show_says_when_no_item_matches(gwsync: Gwsync, seeded: dict[str, str]) -> None:
    result = gwsync("report", "show", seeded["second"], "--search", "nobody-at-all")
    assert result.exit_code == 0, result.output
    assert rendered_keys(result.stdout) == set()
    assert result.stdout.rstrip().endswith("0 of 9 items match the filters.")


def test_report_show_limit_keeps_the_first_items_and_says_how_many_were_left_out(
    gwsync: Gwsync, seeded: dict[str, str]
) -> None:
    result = gwsync("report", "show", seeded["second"], "--limit", "2")
    assert result.exit_code == 0, result.output
    assert rendered_keys(result.stdout) == {"alice@acme.example", "bruno@acme.example"}
    assert "7 more items not shown; use filters or `report export`." in result.stdout


def test_an_unknown_filter_value_names_the_allowed_values(gwsync: Gwsync, seeded: dict[str, str]) -> None:
    assert_error(
        gwsync("report", "show", seeded["second"], "--result", "Done"),
        "--result 'Done' is not a known result; use one of Succeeded, Failed, Skipped, Planned.",
    )
    assert_error(
        gwsync("report", "export", seeded["second"], "--type", "Group"),
        "--type 'Group' is not a known item type; use one of User, Team, Membership.",
    )


def test_a_running_report_is_refused_by_show_and_export(
    gwsync: Gwsync, seeded: dict[str, str], tmp_path: Path
) -> None:
    name = seeded["running"]
    sentence = f"Report {name} is still running; it can be viewed and exported once the sync completes."
    assert_error(gwsync("report", "show", name), sentence)
    assert_error(gwsync("report", "export", name), sentence)
    assert_error(gwsync("report", "export", name, "-o", str(tmp_path / "items.csv")), sentence)
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_report_is_named_with_the_command_that_lists_them(
    gwsync: Gwsync, seeded: dict[str, str]
) -> None:
    message = "SyncReport default/nope does not exist; list reports with `gwsync report list`."
    assert_error(gwsync("report", "show", "nope"), message)
    assert_error(gwsync("report", "export", "nope"), message)
    assert_error(
        gwsync("report", "show", "nope", "-n", "gwsync"),
        "SyncReport gwsync/nope does not exist; list reports with `gwsync report list -n gwsync`.",
    )
