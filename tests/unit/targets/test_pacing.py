"""The pacer on its own: AIMD on requests in flight, and Retry-After pausing every new request."""

import asyncio
import time

import pytest

from gwsync.targets.scim.pacing import Pacer, Ticket


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_429_halves_the_requests_in_flight_once_per_round() -> None:
    pacer = Pacer(8)
    sent_together = [await pacer.acquire() for _ in range(8)]

    for ticket in sent_together:  # a storm: every request of the round answered 429
        pacer.throttled(ticket, None)

    assert pacer.allowed == 4  # one cut for the round, not eight
    pacer.throttled(Ticket(pacer.round), None)  # a request sent after the cut: a new round
    assert pacer.allowed == 2
    for _ in range(5):
        pacer.throttled(Ticket(pacer.round), None)
    assert pacer.allowed == 1 and pacer.limit == 1.0  # never below one request at a time
    assert pacer.throttled_count == 8 + 1 + 5


async def test_answers_grow_the_limit_back_a_quarter_slot_per_round_up_to_the_ceiling() -> None:
    pacer = Pacer(4)
    pacer.throttled(Ticket(0), None)
    pacer.throttled(Ticket(1), None)
    assert pacer.allowed == 1

    answers = 0
    while pacer.allowed < 2:
        pacer.succeeded(Ticket(pacer.round))
        answers += 1
    assert answers == 6  # four rounds of a quarter slot, each round one to two answers

    for _ in range(1000):
        pacer.succeeded(Ticket(pacer.round))
    assert pacer.limit == 4.0 and pacer.allowed == 4


async def test_answers_to_requests_sent_before_the_cut_do_not_grow_the_limit() -> None:
    pacer = Pacer(8)
    before = Ticket(pacer.round)
    pacer.throttled(before, None)
    for _ in range(100):
        pacer.succeeded(before)
    assert pacer.allowed == 4


async def test_requests_beyond_the_limit_wait_their_turn_in_order() -> None:
    pacer = Pacer(2)
    first, second = await pacer.acquire(), await pacer.acquire()
    served: list[str] = []

    async def request(name: str) -> None:
        async with pacer.slot():
            served.append(name)

    waiting = [asyncio.ensure_future(request(name)) for name in ("third", "fourth")]
    await asyncio.sleep(0)
    assert served == [] and pacer.in_flight == 2

    pacer.succeeded(first)
    pacer.release()
    await asyncio.gather(*waiting)
    assert served == ["third", "fourth"] and pacer.in_flight == 1
    del second


async def test_a_cut_limit_lets_no_new_request_in_until_enough_have_answered() -> None:
    pacer = Pacer(4)
    tickets = [await pacer.acquire() for _ in range(4)]
    pacer.throttled(tickets[0], None)  # allowed 2, four still in flight
    pacer.release()
    next_one = asyncio.ensure_future(pacer.acquire())
    pacer.release()
    await asyncio.sleep(0)
    assert not next_one.done()  # three were in flight, then two: not below the limit of 2

    pacer.release()
    await next_one
    assert pacer.in_flight == 2


async def test_retry_after_holds_back_every_new_request_until_then() -> None:
    pacer = Pacer(8)
    refused = await pacer.acquire()
    pacer.throttled(refused, 0.05)
    pacer.release()
    resume_at = pacer.resume_at

    await asyncio.gather(*(pacer.acquire() for _ in range(3)))

    assert time.monotonic() >= resume_at  # none was let through before Retry-After was over
    assert pacer.in_flight == 3


def test_retry_after_pauses_for_the_longest_time_asked() -> None:
    clock = Clock()
    pacer = Pacer(8, clock=clock)
    pacer.throttled(Ticket(0), 2.0)
    pacer.throttled(Ticket(0), 0.5)  # a shorter answer does not shorten the pause
    assert pacer.pause_left() == 2.0
    clock.now += 1.5
    assert pacer.pause_left() == 0.5
    clock.now += 1.0
    assert pacer.pause_left() == 0.0


async def test_a_request_given_up_while_waiting_leaves_no_slot_taken() -> None:
    pacer = Pacer(1)
    await pacer.acquire()
    waiting = asyncio.ensure_future(pacer.acquire())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    pacer.release()
    assert pacer.in_flight == 0
    await asyncio.wait_for(pacer.acquire(), timeout=5)
    assert pacer.in_flight == 1


async def test_a_request_given_up_just_before_its_turn_passes_the_slot_on() -> None:
    # A sync stopping (a refused token) cancels requests waiting for a slot while others end.
    pacer = Pacer(1)
    await pacer.acquire()
    given_up = asyncio.ensure_future(pacer.acquire())
    next_in_line = asyncio.ensure_future(pacer.acquire())
    await asyncio.sleep(0)
    given_up.cancel()
    pacer.release()  # the hand-over meets the cancelled waiter first
    with pytest.raises(asyncio.CancelledError):
        await given_up
    await asyncio.wait_for(next_in_line, timeout=5)
    assert pacer.in_flight == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"ceiling": 0}, "the concurrency ceiling must be at least 1"),
        ({"ceiling": 4, "decrease": 1.0}, "the decrease factor must be between 0 and 1"),
        ({"ceiling": 4, "increase": 0.0}, "the increase must be positive"),
    ],
)
def test_settings_out_of_range_are_refused(arguments: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        Pacer(**arguments)  # type: ignore[arg-type]
