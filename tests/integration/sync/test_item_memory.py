"""Every item of a sync is kept until its report is stored, so an item must be light.

Issue 23: the operator peaked at 526 MiB during an initial sync of 100,000 users, over the
Deployment's 512Mi; a created user's item weighed 1,136 bytes and was copied once written,
so each user held two (bench/operator_memory.py measures the whole operator). Measured here
as the bytes the items hold, each object counted once (what many items share, such as one
set of field names or an enum member, counts once in all), not with timings.
"""

import gc
import sys
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from gwsync.api.report import Action, ReportItem, Result
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.lightscim import run_light_scim
from gwsync.testing.memory import StaticSource

from .conftest import org, person, spec

PEOPLE = 300
ITEM_BYTES = 800  # a created user's item, its values and strings, once written (1,344 before issue 23)


def held_bytes(items: Iterable[ReportItem]) -> int:
    """Bytes of the items and of everything they refer to (classes apart), each object once."""
    seen: set[int] = set()
    total = 0
    stack: list[Any] = list(items)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type | ModuleType):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


async def initial_sync(**server: Any) -> list[ReportItem]:
    people = [person(i) for i in range(PEOPLE)]
    with run_light_scim(**server) as scim:
        async with ScimTarget(scim.url, scim.token) as target:
            outcome = await run_sync(StaticSource(org(people)), target, spec(), Ledger.empty())
    assert outcome.phase == "Succeeded", outcome.message
    assert [(i.action, i.result) for i in outcome.items] == [(Action.CREATE, Result.SUCCEEDED)] * PEOPLE
    return outcome.items


async def test_the_items_of_creates_written_while_google_is_read_are_light() -> None:
    items = await initial_sync(bulk_max_operations=100)  # into Bulk: sync.early writes them

    assert held_bytes(items) / PEOPLE < ITEM_BYTES


async def test_the_items_of_creates_written_one_request_each_are_light() -> None:
    items = await initial_sync()  # no Bulk: apply writes them

    assert held_bytes(items) / PEOPLE < ITEM_BYTES
