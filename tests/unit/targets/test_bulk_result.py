"""One operation's result in a BulkResponse, as the report shows it (targets.scim.bulk_result)."""

import pytest

from gwsync.sync.ports import TargetError
from gwsync.targets.scim import bulk_result
from gwsync.targets.scim.bulk import Operation


async def nothing(_: list[str]) -> None:
    return None


async def test_a_create_gives_the_id_of_its_response_or_of_its_location() -> None:
    create = Operation("POST", "/Users", "creating ann@acme.com", nothing)
    assert bulk_result(create, {"status": "201", "response": {"id": "u1"}}) == "u1"
    assert bulk_result(create, {"status": "201", "location": "https://t/v2/Users/u2"}) == "u2"


async def test_a_create_answered_without_an_id_fails_its_item() -> None:
    create = Operation("POST", "/Users", "creating ann@acme.com", nothing)
    with pytest.raises(TargetError) as refused:
        bulk_result(create, {"status": "201", "location": ""})
    assert str(refused.value) == "Target failed while creating ann@acme.com: its answer has no id"


async def test_other_writes_give_no_id() -> None:
    update = Operation("PATCH", "/Users/u1", "updating ann@acme.com", nothing)
    assert bulk_result(update, {"status": "200", "location": "https://t/v2/Users/u1"}) is None
