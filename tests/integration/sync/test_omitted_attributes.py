"""spec.attributes.omit: default attributes an app must not hold are neither sent nor compared."""

from dataclasses import replace

from gwsync.api.report import Action, Result
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.lightscim import run_light_scim
from gwsync.testing.memory import StaticSource

from .conftest import org, person, spec

OMIT = {"omit": ["title", "photos"]}


async def test_omitted_attributes_are_never_sent_and_their_changes_write_nothing() -> None:
    people = [person(1), person(2)]
    with run_light_scim() as scim:
        async with ScimTarget(scim.url, scim.token) as target:
            first = await run_sync(StaticSource(org(people)), target, spec(attributes=OMIT), Ledger.empty())
            stored = {u["userName"]: u for u in scim.users.resources.values()}

            # Google changes the title and the photo of user1 (omitted), the department of user2.
            moved = [
                replace(people[0], title="CTO", photo_url="https://photos.example/new.jpg", photo_etag="e2"),
                replace(people[1], department="Sales"),
            ]
            scim.reset_log()
            second = await run_sync(StaticSource(org(moved)), target, spec(attributes=OMIT), first.ledger)
            writes = [(r.method, r.path) for r in scim.log if r.write]

    assert first.phase == "Succeeded", first.message
    for user in stored.values():
        assert "title" not in user and "photos" not in user
        assert user["name"] == {
            "givenName": user["name"]["givenName"],
            "familyName": user["name"]["familyName"],
        }
        assert user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] == {"department": "R&D"}
    assert second.phase == "Succeeded", second.message
    items = {i.key: i for i in second.items}
    assert (items["user1@acme.com"].action, items["user1@acme.com"].result) == (
        Action.UNCHANGED,
        Result.SUCCEEDED,
    )
    assert items["user2@acme.com"].action is Action.UPDATE
    assert [c.field for c in items["user2@acme.com"].changes] == ["department"]
    assert writes == [("PATCH", f"/v2/Users/{stored['user2@acme.com']['id']}")]
