"""Canaille 0.3.6 through pytest-iam 0.3.0: its SCIM quirks are real, and gwsync copes.

Canaille runs in its own virtualenv (launchers/canaille_iam.py: with the scim2-models 0.12
gwsync needs, every User/Group answer of Canaille 0.3.6 is a 500). What its answers show:
OAuth bearer tokens only; `count` is a 500 (compared as a string) and a list without it is
everything; filters are not supported and a `?filter=` is ignored; its User schema requires
name.formatted, knows no emails.type, declares externalId readOnly and never returned, photos
readOnly and userName immutable; groups list their members by userName; userName is not
unique. Each test fails when Canaille changes, so docs/targets.md must change with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from gwsync.api.report import Action, Result
from gwsync.sync.engine import run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.memory import StaticSource

from .backend import USER_SCHEMA, HttpBackend
from .scenarios import PEOPLE, org, spec
from .servers import CANAILLE, started


@pytest.fixture
def canaille() -> Iterator[HttpBackend]:
    with started(CANAILLE) as served:
        yield served


call = HttpBackend.raw


def user(user_name: str, **attributes: Any) -> dict[str, Any]:
    return {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"formatted": "Renée Lefèvre", "givenName": "Renée", "familyName": "Lefèvre"},
        "emails": [{"value": user_name}],
        "active": True,
        **attributes,
    }


def test_an_oauth_client_credentials_token_is_accepted_and_another_is_refused(canaille: HttpBackend) -> None:
    status, config = call(canaille, "GET", "/ServiceProviderConfig")
    assert status == 200
    assert [s["type"] for s in config["authenticationSchemes"]] == ["oauthbearertoken"]
    assert call(canaille, "GET", "/ServiceProviderConfig", token="not-a-token")[0] == 401


def test_count_is_a_500_and_without_it_a_list_is_everything(canaille: HttpBackend) -> None:
    # parse_search_request: min(request.args["count"], 1000), a str against an int.
    for n in range(3):
        canaille.seed_user(f"user{n}@acme.com")
    assert call(canaille, "GET", "/Users?startIndex=1&count=2")[0] == 500
    status, page = call(canaille, "GET", "/Users?startIndex=1")
    assert (status, len(page["Resources"]), page["totalResults"]) == (200, 3, 3)


def test_filters_are_not_supported_and_a_filter_is_ignored(canaille: HttpBackend) -> None:
    config = call(canaille, "GET", "/ServiceProviderConfig")[1]
    assert config["filter"] == {"supported": False, "maxResults": 0}
    for n in range(2):
        canaille.seed_user(f"user{n}@acme.com")
    page = call(canaille, "GET", '/Users?filter=userName eq "nobody@acme.com"'.replace(" ", "%20"))[1]
    assert sorted(u["userName"] for u in page["Resources"]) == ["user0@acme.com", "user1@acme.com"]


def test_its_user_schema_bends_what_a_client_may_send(canaille: HttpBackend) -> None:
    schema = call(canaille, "GET", f"/Schemas/{USER_SCHEMA}")[1]
    attributes = {a["name"]: a for a in schema["attributes"]}
    name = {s["name"]: s.get("required", False) for s in attributes["name"]["subAttributes"]}
    assert name["formatted"] is True
    assert [s["name"] for s in attributes["emails"]["subAttributes"]] == ["value"]
    assert (attributes["externalId"]["mutability"], attributes["externalId"]["returned"]) == (
        "readOnly",
        "never",
    )
    assert attributes["photos"]["mutability"] == "readOnly"
    assert attributes["userName"]["mutability"] == "immutable"
    assert "userType" not in attributes
    # ...and it means it:
    status, error = call(
        canaille, "POST", "/Users", user("a@acme.com", name={"givenName": "A", "familyName": "B"})
    )
    assert (status, error["detail"]) == (
        400,
        "Field 'formatted' is required but value is missing or null: name",
    )
    typed = user("a@acme.com", emails=[{"value": "a@acme.com", "type": "work", "primary": True}])
    status, error = call(canaille, "POST", "/Users", typed)
    assert (status, error["detail"]) == (400, "Extra inputs are not permitted: emails, 0, type")
    status, created = call(canaille, "POST", "/Users", user("a@acme.com", externalId="g1"))
    assert status == 201 and "externalId" not in created
    rename = {"op": "replace", "path": "userName", "value": "b@acme.com"}
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [rename]}
    assert call(canaille, "PATCH", f"/Users/{created['id']}", patch)[0] == 500  # MutabilityException


def test_user_names_are_not_unique_and_groups_list_members_by_user_name(canaille: HttpBackend) -> None:
    first = canaille.seed_user("twin@acme.com")
    assert call(canaille, "POST", "/Users", user("twin@acme.com"))[0] == 201
    group = canaille.seed_group("Sales", [first])
    assert [m["value"] for m in call(canaille, "GET", f"/Groups/{group}")[1]["members"]] == ["twin@acme.com"]


async def test_gwsync_reads_its_schema_lists_without_count_and_says_what_it_cannot_do(
    canaille: HttpBackend,
) -> None:
    source = StaticSource(org(PEOPLE))
    async with ScimTarget(canaille.url, canaille.token, retry_base=0.01) as target:
        outcome = await run_sync(source, target, spec(), Ledger.empty())
        assert target.write_notes == [
            "The target (generic) does not support externalId, photos, userType; gwsync does not send them."
        ]
    assert outcome.phase == "Succeeded" and outcome.summary.users.created == len(PEOPLE)
    renee = next(u for u in canaille.users() if u["userName"] == "user1@acme.com")
    assert renee["name"]["formatted"] == "Renée Lefèvre-Çelik" and renee["emails"] == [
        {"value": "user1@acme.com"}
    ]
    sent = canaille.recorder.log
    assert not [r for r in sent if "filter" in r.query], "gwsync sent a filter to a server that has none"
    assert [r.query for r in sent if "count" in r.query] == ["startIndex=1&count=1"]  # then never again

    renamed = [*PEOPLE[:2], replace(PEOPLE[2], primary_email="dmitri@acme.com"), PEOPLE[3]]
    async with ScimTarget(canaille.url, canaille.token, retry_base=0.01) as target:
        second = await run_sync(StaticSource(org(renamed)), target, spec(), outcome.ledger)
    [item] = [i for i in second.items if i.key == "dmitri@acme.com"]
    assert (item.action, item.result) == (Action.RENAME, Result.FAILED)
    assert item.details == (
        f"Target cannot rename user {item.target_id} to dmitri@acme.com: its User schema declares "
        "userName immutable (set once, at creation); rename it in the target itself."
    )
