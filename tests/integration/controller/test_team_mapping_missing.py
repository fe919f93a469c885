"""A team mapping whose Google group no longer exists (issue 26, point 4), as the cluster shows it:
the sync is PartiallySucceeded, Ready=False names the mapping to fix, and the Event says it too."""

from .conftest import World, eventually

TEAMS = {
    "enabled": True,
    "mappings": [
        {"team": "Engineering", "groups": ["eng@acme.example"]},
        {"team": "Sales", "groups": ["sales@acme.example"]},
    ],
}
FIX = (
    "Team Sales was left as it is: Group sales@acme.example does not exist in this Google Workspace "
    "organization; fix the group email in members.groups or teams.mappings."
)


async def test_a_mapped_group_missing_in_google_is_named_in_the_condition_and_the_event(world: World) -> None:
    await world.start()
    await world.create(world.provisioning(teams=TEAMS))

    [report] = await eventually(world.finished)
    status = report["status"]
    assert status["phase"] == "PartiallySucceeded", status.get("message")
    assert status["summary"]["users"]["created"] == 3 and status["summary"]["teams"]["created"] == 1
    [failed] = [item for item in status["items"] if item["result"] == "Failed"]
    assert (failed["type"], failed["key"]) == ("Team", "Sales")
    ready = await eventually(lambda: world.condition_is("Ready", "False"))
    assert ready["reason"] == "ItemsFailed"
    assert FIX in ready["message"]
    [event] = await eventually(lambda: world.events("SyncSucceeded") or None)
    assert FIX in event["message"] and "PartiallySucceeded" in event["message"]
    assert [g["displayName"] for g in world.scim.groups()] == ["Engineering"]
