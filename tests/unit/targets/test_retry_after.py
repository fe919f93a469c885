"""How long a SCIM provider's Retry-After may hold a sync (docs/reliability.md)."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from gwsync.targets.scim import MAX_RETRY_AFTER, retry_after_seconds


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("0", 0.0), ("-3", 0.0), (None, 1.5), ("soon", 1.5), ("nan", 0.0)],
)
def test_seconds_are_honoured_and_nonsense_falls_back_to_the_back_off(
    header: str | None, seconds: float
) -> None:
    assert retry_after_seconds(header, 1.5) == seconds


def test_a_provider_asking_for_a_day_holds_the_sync_two_minutes_at_most() -> None:
    assert MAX_RETRY_AFTER == 120.0
    assert retry_after_seconds("86400", 0.0) == 120.0
    assert retry_after_seconds("inf", 0.0) == 120.0
    tomorrow = format_datetime(datetime.now(UTC) + timedelta(days=1), usegmt=True)
    assert retry_after_seconds(tomorrow, 0.0) == 120.0


def test_an_http_date_is_the_time_left_until_it() -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25.0 <= retry_after_seconds(soon, 0.0) <= 30.0
