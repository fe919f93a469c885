"""spec.attributes and managers end to end: the real Google client reads the emulator, the
engine plans, scim2-server (declaring a custom User extension) stores; requests are counted."""

from collections.abc import Iterator
from typing import Any

import pytest

from gwsync.api.report import Action, Result
from gwsync.sources.google import GoogleDirectory
from gwsync.sync.engine import SyncOutcome, run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.google import GoogleEmulator, google_emulator_in_thread
from gwsync.testing.org import Org, OrgCustomer, OrgEntry, OrgUser
from gwsync.testing.scim import ScimServer, run_scim_server

from .conftest import spec

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ACME = "urn:example:params:scim:schemas:extension:acme:2.0:User"
ACME_SCHEMA = {
    "id": ACME,
    "name": "AcmeUser",
    "description": "What Acme adds to its users",
    "attributes": [
        {"name": "badge", "type": "string", "multiValued": False, "required": False},
        {"name": "admin", "type": "boolean", "multiValued": False, "required": False},
    ],
}
ADMIN = "ceo@acme.example"


def user(n: int, email: str, manager: str | None = None, **values: Any) -> OrgUser:
    first = email.split("@", maxsplit=1)[0].capitalize()
    return OrgUser(
        id=f"1{n:020d}", primary_email=email, given_name=first, family_name="Acme", manager=manager, **values
    )


def acme() -> Org:
    """A 3-level hierarchy: the CEO, two VPs, three engineers; every kind of source field."""
    people = [
        user(1, ADMIN, cost_center="CC-1"),
        user(2, "vp.eng@acme.example", ADMIN),
        user(3, "vp.sales@acme.example", ADMIN),
        user(
            4,
            "Ana.Lima@acme.example",
            "vp.eng@acme.example",
            cost_center="CC-42",
            phones=[OrgEntry(value="+1 555 0100", type="work"), OrgEntry(value="+1 555 0199", type="mobile")],
            external_ids=[OrgEntry(value="E-1004", type="organization")],
            custom_schemas={"Employment": {"badge": "B-4", "jobTitle": "Staff Engineer"}},
        ),
        user(5, "bo@acme.example", "vp.eng@acme.example"),
        user(6, "cy@acme.example", "vp.sales@acme.example"),
    ]
    return Org(
        customer=OrgCustomer(id="C03acme01", primary_domain="acme.example"), admins=[ADMIN], users=people
    )


@pytest.fixture
def emulator() -> Iterator[GoogleEmulator]:
    with google_emulator_in_thread(acme()) as served:
        yield served


@pytest.fixture
def scim() -> Iterator[ScimServer]:
    with run_scim_server(extensions=[ACME_SCHEMA]) as server:
        yield server


async def sync(emulator: GoogleEmulator, scim: ScimServer, attributes: Any, ledger: Ledger) -> SyncOutcome:
    reader = GoogleDirectory.from_service_account_key(
        emulator.service_account_key(), admin_email=ADMIN, api_endpoint=emulator.url, retry_base=0.01
    )
    overrides = {"attributes": {"mappings": attributes}} if attributes else {}
    async with ScimTarget(scim.url, scim.token, retry_base=0.01) as target:
        outcome = await run_sync(reader, target, spec(**overrides), ledger)
    assert outcome.phase == "Succeeded", outcome.message
    return outcome


EVERY_KIND = [
    {"target": "nickName", "source": "primaryEmail", "transforms": ["LocalPart", "Lowercase"]},  # transform
    {"target": 'phoneNumbers[type eq "work"].value', "source": "phones[type=work].value"},  # core
    {"target": 'phoneNumbers[type eq "mobile"].value', "source": "phones[type=mobile].value"},
    {"target": "employeeNumber", "source": "externalIds[type=organization].value"},  # enterprise
    {"target": "costCenter", "source": "organizations.costCenter"},
    {"target": "title", "source": "customSchemas.Employment.jobTitle"},  # a Google custom schema field
    {"target": f"{ACME}:badge", "source": "customSchemas.Employment.badge"},  # custom extension
    {"target": f"{ACME}:admin", "source": "isAdmin"},
    {"target": "locale", "constant": "fr-CA"},  # constant
]


async def test_a_mapping_of_each_kind_round_trips(emulator: GoogleEmulator, scim: ScimServer) -> None:
    first = await sync(emulator, scim, EVERY_KIND, Ledger.empty())

    ana = scim.user_by_name("Ana.Lima@acme.example")
    assert ana["nickName"] == "ana.lima"
    assert ana["phoneNumbers"] == [
        {"value": "+1 555 0100", "type": "work"},
        {"value": "+1 555 0199", "type": "mobile"},
    ]
    assert ana["title"] == "Staff Engineer"
    assert ana["locale"] == "fr-CA"
    assert ana[ENTERPRISE]["employeeNumber"] == "E-1004"
    assert ana[ENTERPRISE]["costCenter"] == "CC-42"
    assert ana[ACME] == {"badge": "B-4", "admin": False}
    assert scim.user_by_name(ADMIN)[ACME] == {"admin": True}
    # customSchemas are asked for with projection=custom and the mapped schema only.
    [listing] = [r for r in emulator.requests("users")]
    assert (listing.params["projection"], listing.params["customFieldMask"]) == ("custom", "Employment")
    # Read back, everything is as mapped: a second sync writes nothing.
    scim.reset_log()
    second = await sync(emulator, scim, EVERY_KIND, first.ledger)
    assert {item.action for item in second.items} == {Action.UNCHANGED}
    assert scim.writes == []


async def test_adding_a_mapping_updates_exactly_the_users_whose_value_changes(
    emulator: GoogleEmulator, scim: ScimServer
) -> None:
    first = await sync(emulator, scim, None, Ledger.empty())
    scim.reset_log()
    mapping = [{"target": "costCenter", "source": "organizations.costCenter"}]
    second = await sync(emulator, scim, mapping, first.ledger)

    updated = [item for item in second.items if item.action is Action.UPDATE]
    assert sorted(item.key for item in updated) == ["Ana.Lima@acme.example", ADMIN]
    assert [(c.field, c.from_, c.to) for c in updated[0].changes] == [("costCenter", None, "CC-42")]
    assert updated[0].details == "Changed: costCenter."
    assert sorted((w.method, w.path) for w in scim.writes) == sorted(
        ("PATCH", f"/v2/Users/{scim.user_by_name(item.key)['id']}") for item in updated
    )


async def test_a_custom_extension_the_target_does_not_declare_is_not_sent_and_said(
    emulator: GoogleEmulator,
) -> None:
    with run_scim_server() as plain:
        mapping = [{"target": f"{ACME}:badge", "source": "customSchemas.Employment.badge"}]
        outcome = await sync(emulator, plain, mapping, Ledger.empty())
        assert ACME not in plain.user_by_name("Ana.Lima@acme.example")
    assert outcome.summary.users.created == 6
    assert (
        f"The target does not declare the extension schema {ACME} for Users; gwsync does not send "
        f"{ACME}:badge (spec.attributes)."
    ) in outcome.message


MANAGER = [{"target": "manager", "source": "relations[type=manager].value"}]


def manager_of(scim: ScimServer, email: str) -> str | None:
    return scim.user_by_name(email).get(ENTERPRISE, {}).get("manager", {}).get("value")


async def test_a_hierarchy_created_in_one_sync_carries_its_managers_in_the_creates(
    emulator: GoogleEmulator, scim: ScimServer
) -> None:
    outcome = await sync(emulator, scim, MANAGER, Ledger.empty())

    ids = {u["userName"]: u["id"] for u in scim.users()}
    assert manager_of(scim, ADMIN) is None
    assert manager_of(scim, "vp.eng@acme.example") == ids[ADMIN]
    assert manager_of(scim, "vp.sales@acme.example") == ids[ADMIN]
    assert manager_of(scim, "Ana.Lima@acme.example") == ids["vp.eng@acme.example"]
    assert manager_of(scim, "bo@acme.example") == ids["vp.eng@acme.example"]
    assert manager_of(scim, "cy@acme.example") == ids["vp.sales@acme.example"]
    # One POST per user and nothing else: each manager existed before its reports were created.
    assert [w.method for w in scim.writes] == ["POST"] * 6
    assert outcome.summary.users.created == 6


async def test_a_manager_change_updates_exactly_one_user(emulator: GoogleEmulator, scim: ScimServer) -> None:
    first = await sync(emulator, scim, MANAGER, Ledger.empty())
    org = acme()
    org.user("cy@acme.example").manager = "vp.eng@acme.example"
    emulator.org = org
    scim.reset_log()
    second = await sync(emulator, scim, MANAGER, first.ledger)

    [moved] = [item for item in second.items if item.action is not Action.UNCHANGED]
    assert (moved.key, moved.action, moved.result) == ("cy@acme.example", Action.UPDATE, Result.SUCCEEDED)
    assert [(c.field, c.from_, c.to) for c in moved.changes] == [
        ("manager", "vp.sales@acme.example", "vp.eng@acme.example")
    ]
    assert [(w.method, w.path) for w in scim.writes] == [("PATCH", f"/v2/Users/{moved.target_id}")]
    assert manager_of(scim, "cy@acme.example") == scim.user_by_name("vp.eng@acme.example")["id"]


async def test_managers_in_a_cycle_cost_one_patch_and_an_outsider_is_left_empty_with_a_note(
    emulator: GoogleEmulator, scim: ScimServer
) -> None:
    org = acme()
    org.user(ADMIN).manager = "bo@acme.example"  # bo -> vp.eng -> ceo -> bo
    org.user("cy@acme.example").manager = "someone@partner.example"
    emulator.org = org
    outcome = await sync(emulator, scim, MANAGER, Ledger.empty())

    details = {item.key: item.details for item in outcome.items}
    assert details["bo@acme.example"] == "New in Google. Manager vp.eng@acme.example set once it was created."
    assert details["cy@acme.example"] == (
        "New in Google. Manager someone@partner.example is not provisioned by this GoogleProvisioning; "
        "manager left empty."
    )
    ids = {u["userName"]: u["id"] for u in scim.users()}
    assert manager_of(scim, ADMIN) == ids["bo@acme.example"]
    assert manager_of(scim, "bo@acme.example") == ids["vp.eng@acme.example"]
    assert manager_of(scim, "cy@acme.example") is None
    assert sorted(w.method for w in scim.writes) == ["PATCH"] + ["POST"] * 6


async def test_without_patch_every_kind_is_written_by_put_and_the_rest_kept(emulator: GoogleEmulator) -> None:
    with run_scim_server(patch=False, extensions=[ACME_SCHEMA]) as put_only:
        first = await sync(emulator, put_only, None, Ledger.empty())
        before = {k: v for k, v in put_only.user_by_name("Ana.Lima@acme.example").items() if k != "meta"}
        other = {**before, "profileUrl": "https://people.acme.example/ana"}  # set by someone else: kept
        put_only.call("PUT", f"/Users/{before['id']}", other)
        put_only.reset_log()
        await sync(emulator, put_only, [*EVERY_KIND, *MANAGER], first.ledger)

        ana = put_only.user_by_name("Ana.Lima@acme.example")
        assert {w.method for w in put_only.writes} == {"PUT"}
        assert ana["profileUrl"] == "https://people.acme.example/ana"
        assert ana["phoneNumbers"][0] == {"value": "+1 555 0100", "type": "work"}
        assert ana[ENTERPRISE]["costCenter"] == "CC-42"
        assert ana[ENTERPRISE]["manager"]["value"] == put_only.user_by_name("vp.eng@acme.example")["id"]
        assert ana[ACME] == {"badge": "B-4", "admin": False}
        assert ana["title"] == "Staff Engineer" and ana["locale"] == "fr-CA"
