"""The one back-off rule of both adapters and SCIM Bulk (gwsync.backoff, docs/reliability.md)."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from gwsync.backoff import MAX_RETRY_AFTER, Backoff, retry_after_seconds

NOW = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)


def clock() -> float:
    return NOW.timestamp()


def http_date(offset: timedelta) -> str:
    return format_datetime(NOW + offset, usegmt=True)


def test_retry_after_in_seconds_and_as_an_http_date_are_both_read() -> None:
    assert retry_after_seconds("7", 0.0, now=clock) == 7.0
    assert retry_after_seconds(http_date(timedelta(seconds=30)), 0.0, now=clock) == 30.0


def test_a_retry_after_asking_for_a_day_is_capped_at_two_minutes() -> None:
    assert MAX_RETRY_AFTER == 120.0
    assert retry_after_seconds("86400", 0.0, now=clock) == MAX_RETRY_AFTER
    assert retry_after_seconds(http_date(timedelta(days=1)), 0.0, now=clock) == MAX_RETRY_AFTER
    assert Backoff(0.5, 30.0, draw=lambda: 0.0).delay(1, "86400") == MAX_RETRY_AFTER + 0.025


@pytest.mark.parametrize(
    "header",
    [None, "", "soon", "²", "Fri, 32 Foo 2026 25:61:61 GMT", "Mon, 01 Jan 99999 00:00:00 GMT", "\u202e7"],
)
def test_a_missing_or_garbage_retry_after_falls_back_to_the_back_off(header: str | None) -> None:
    assert retry_after_seconds(header, 1.5, now=clock) == 1.5
    assert Backoff(1.0, 30.0, draw=lambda: 1.0).delay(3, header) == 4.0


def test_a_retry_after_date_already_past_says_retry_now_and_the_back_off_applies() -> None:
    assert retry_after_seconds(http_date(-timedelta(minutes=5)), 1.5, now=clock) == 0.0
    policy = Backoff(1.0, 30.0, draw=lambda: 1.0)
    assert policy.delay(2, http_date(-timedelta(minutes=5))) == 2.0
    assert policy.delay(2, "0") == 2.0


def test_retry_after_is_a_floor_with_a_tenth_of_the_jittered_step_on_top() -> None:
    low, high = Backoff(2.0, 30.0, draw=lambda: 0.0), Backoff(2.0, 30.0, draw=lambda: 1.0)
    assert low.delay(1, "5") == 5.0 + 0.1
    assert high.delay(1, "5") == 5.0 + 0.2
    assert high.delay(1, "1") == 1.2  # what the server asks, even when the back-off is longer


def test_the_step_doubles_from_the_base_up_to_the_cap() -> None:
    policy = Backoff(0.5, 4.0)
    assert [policy.step(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert policy.step(10_000) == 4.0  # no overflow on a very long run of refusals
    with pytest.raises(ValueError, match="attempts are counted from 1"):
        policy.step(0)


@pytest.mark.parametrize("draw", [0.0, 0.25, 0.999999])
def test_the_jitter_stays_between_half_the_step_and_the_step(draw: float) -> None:
    policy = Backoff(1.0, 8.0, draw=lambda: draw)
    for attempt in range(1, 8):
        step = policy.step(attempt)
        assert step / 2 <= policy.delay(attempt) <= step <= 8.0


def test_real_draws_spread_the_retries_of_clients_refused_together() -> None:
    policy = Backoff(1.0, 8.0)
    waits = {policy.delay(3) for _ in range(50)}
    assert len(waits) > 1 and all(2.0 <= wait <= 4.0 for wait in waits)
