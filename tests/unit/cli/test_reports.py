"""Report filters and CSV export, as a person reading or exporting a report sees them."""

import csv
import io

import pytest

from gwsync.api.report import (
    Action,
    FieldChange,
    ItemType,
    ProvisioningRef,
    ReportItem,
    Result,
    SyncReport,
    SyncReportSpec,
    Trigger,
)
from gwsync.cli.reports import ItemFilter, ReportNotReady, ensure_complete, write_csv

NAMES = ["Zoë Ångström", "François Lefèvre", "李 小龍", 'Ødegård, "Ola"', "Renée\nO'Brien"]


def _items(count: int) -> list[ReportItem]:
    items = []
    for index in range(count):
        name = NAMES[index % len(NAMES)]
        failed = index % 97 == 0
        items.append(
            ReportItem(
                type=ItemType.USER,
                key=f"user{index}@acme.com",
                source_id=str(10**20 + index),
                target_id=f"t-{index}" if not failed else None,
                action=Action.UPDATE if index % 3 == 0 else Action.UNCHANGED,
                result=Result.FAILED if failed else Result.SUCCEEDED,
                data_changed=index % 3 == 0,
                changes=[FieldChange(field="displayName", from_="Old", to=name)] if index % 3 == 0 else [],
                details=f"Target refused: 409 uniqueness on userName ({name})" if failed else name,
            )
        )
    return items


def test_csv_export_of_ten_thousand_items_round_trips() -> None:
    items = _items(10_000)
    buffer = io.StringIO(newline="")
    assert write_csv(items, buffer) == 10_000
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue(), newline="")))
    assert len(rows) == 10_000
    for item, row in zip(items, rows, strict=True):
        assert row["key"] == item.key
        assert row["details"] == item.details
        assert row["action"] == item.action.value
        assert row["result"] == item.result.value
        assert row["sourceId"] == item.source_id
    assert rows[3]["changes"] == 'displayName: Old -> Ødegård, "Ola"'


def test_csv_header_names_every_column() -> None:
    buffer = io.StringIO()
    write_csv([], buffer)
    assert buffer.getvalue() == "type,key,action,result,dataChanged,changes,details,sourceId,targetId\r\n"


def test_filters_select_exactly_the_matching_items() -> None:
    items = _items(1_000)
    failed = list(ItemFilter(results=frozenset({Result.FAILED})).apply(items))
    assert [i.key for i in failed] == [f"user{n}@acme.com" for n in range(0, 1_000, 97)]
    changed = list(ItemFilter(changed=True).apply(items))
    assert len(changed) == len([n for n in range(1_000) if n % 3 == 0])
    unchanged_actions = list(ItemFilter(actions=frozenset({Action.UNCHANGED})).apply(items))
    assert all(i.action is Action.UNCHANGED for i in unchanged_actions)
    assert len(unchanged_actions) + len(changed) == 1_000
    found = list(ItemFilter(search="ZOË").apply(items))
    assert len(found) == 200 and all("Zoë" in i.details for i in found)
    both = list(ItemFilter(results=frozenset({Result.FAILED}), changed=True).apply(items))
    assert [i.key for i in both] == [f"user{n}@acme.com" for n in range(0, 1_000, 97) if n % 3 == 0]
    assert list(ItemFilter(types=frozenset({ItemType.TEAM})).apply(items)) == []


@pytest.mark.parametrize("phase", ["Pending", "Running"])
def test_a_running_report_is_refused(phase: str) -> None:
    report = SyncReport(
        metadata={"name": "acme-20261125-010203"},
        spec=SyncReportSpec(provisioning_ref=ProvisioningRef(name="acme"), trigger=Trigger.MANUAL),
    )
    report.status.phase = phase  # type: ignore[assignment]
    with pytest.raises(ReportNotReady) as raised:
        ensure_complete(report)
    assert str(raised.value) == (
        "Report acme-20261125-010203 is still running; it can be viewed and exported once the sync completes."
    )
