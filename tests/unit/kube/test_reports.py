"""Report names, durations and the notable items kept in status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gwsync.api.report import Action, ItemType, ReportItem, Result
from gwsync.kube.reports import NotableItems, format_duration, report_name, timestamp


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.4, "0s"), (45, "45s"), (72, "1m12s"), (3600, "1h0m0s"), (3725, "1h2m5s"), (-3, "0s")],
)
def test_durations_read_like_go_durations(seconds: float, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


def test_report_names_carry_the_utc_start_time() -> None:
    paris = timezone(timedelta(hours=1))
    start = datetime(2025, 3, 14, 10, 26, 53, tzinfo=paris)
    assert report_name("acme", start) == "acme-20250314-092653"
    assert report_name("acme", start, attempt=2) == "acme-20250314-092653-2"
    assert timestamp(start) == "2025-03-14T09:26:53Z"


def item(n: int, action: Action, result: Result) -> ReportItem:
    return ReportItem(type=ItemType.USER, key=f"u{n}@acme.com", action=action, result=result)


def test_notable_items_put_failures_first_and_skip_unchanged() -> None:
    notable = NotableItems(limit=4)
    unchanged = item(0, Action.UNCHANGED, Result.SUCCEEDED)
    created = item(1, Action.CREATE, Result.SUCCEEDED)
    failed = item(2, Action.UPDATE, Result.FAILED)
    planned = item(3, Action.DEPROVISION, Result.PLANNED)
    for each in (unchanged, created, failed, planned):
        notable.add(each)
    assert notable.items() == [failed, created, planned]


def test_notable_items_stop_at_the_limit() -> None:
    notable = NotableItems(limit=3)
    for n in range(10):
        notable.add(item(n, Action.CREATE, Result.SUCCEEDED if n % 2 else Result.FAILED))
    assert [each.key for each in notable.items()] == ["u0@acme.com", "u2@acme.com", "u4@acme.com"]


def test_datetimes_are_utc() -> None:
    assert timestamp(datetime(2025, 1, 1, tzinfo=UTC)) == "2025-01-01T00:00:00Z"
