"""Shared sample organization and spec for the engine tests against scim2-server."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.directory import Directory, Person
from gwsync.targets.scim import ScimTarget
from gwsync.testing.lightscim import LightScim
from gwsync.testing.scim import ScimServer, run_scim_server


def members(scim: LightScim) -> set[str]:
    """The userNames in the light server's team Engineering."""
    names = {u["id"]: u["userName"] for u in scim.users.resources.values()}
    [team] = [g for g in scim.groups.resources.values() if g["displayName"] == "Engineering"]
    return {names[m["value"]] for m in team["members"]}


def spec(**overrides: Any) -> GoogleProvisioningSpec:
    document: dict[str, Any] = {
        "google": {"adminEmail": "admin@acme.com", "credentialsSecretRef": {"name": "g", "key": "k"}},
        "target": {"scim": {"url": "http://127.0.0.1/v2", "tokenSecretRef": {"name": "s", "key": "t"}}},
        "deprovision": {"maxPercent": 100},
        **overrides,
    }
    return GoogleProvisioningSpec.model_validate(document)


def person(n: int, **attributes: Any) -> Person:
    values: dict[str, Any] = {
        "given_name": f"Given{n}",
        "family_name": f"Family{n}",
        "title": "Engineer",
        "department": "R&D",
        "employee_type": "Employee",
        "photo_url": f"https://photos.example/{n}.jpg",
        "photo_etag": "e1",
        **attributes,
    }
    return Person(id=f"10{n:04d}", primary_email=values.pop("email", f"user{n}@acme.com"), **values)


def org(people: list[Person], groups: dict[str, list[Person]] | None = None) -> Directory:
    return Directory(
        customer_id="C1",
        primary_domain="acme.com",
        people={p.id: p for p in people},
        groups={email: frozenset(p.id for p in members) for email, members in (groups or {}).items()},
    )


@pytest.fixture
def scim() -> Iterator[ScimServer]:
    with run_scim_server() as server:
        yield server


@pytest.fixture
async def target(scim: ScimServer) -> AsyncIterator[ScimTarget]:
    async with ScimTarget(scim.url, scim.token, retry_base=0.01) as client:
        yield client
