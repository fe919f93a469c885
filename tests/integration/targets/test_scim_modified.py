"""meta.lastModified is read: the engine picks the live one of two users sharing an externalId
by it (issue 16, bug 3), so it must come through from a real server."""

from datetime import datetime

from gwsync.sync.ports import UserAttributes
from gwsync.targets.scim import ScimTarget
from gwsync.testing.scim import run_scim_server


async def test_the_user_changed_last_reads_as_the_most_recently_modified() -> None:
    with run_scim_server() as scim:
        stale = scim.seed_user("jane.old@acme.com", externalId="1001")
        live = scim.seed_user("jane@acme.com", externalId="1001")
        async with ScimTarget(scim.url, scim.token) as target:
            await target.update_user(stale, UserAttributes("jane.old@acme.com", title="Engineer"), ["title"])
            before = {u.id: u.modified for u in await target.list_users()}
            await target.update_user(live, UserAttributes("jane@acme.com", title="CTO"), ["title"])
            after = {u.id: u.modified for u in await target.list_users()}
    assert all(before.values()) and all(after.values())
    assert datetime.fromisoformat(str(before[stale])) >= datetime.fromisoformat(str(before[live]))
    assert datetime.fromisoformat(str(after[live])) >= datetime.fromisoformat(str(after[stale]))
    assert after[live] != before[live] and after[stale] == before[stale]
