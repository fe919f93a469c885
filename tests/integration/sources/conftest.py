"""A small org served by the Google emulator in a thread, read by the real Google client."""

from collections.abc import Iterator

import pytest

from gwsync.sources.google import GoogleDirectory
from gwsync.testing.google import GoogleEmulator, google_emulator_in_thread
from gwsync.testing.org import Org, OrgCustomer, OrgGroup, OrgUser

ADMIN = "admin@acme.example"


def acme(extra_users: int = 0) -> Org:
    """An org with nested groups (a cycle, a diamond), an external member and inactive users."""
    users = [
        OrgUser(id="100000000000000000001", primary_email=ADMIN, given_name="Ada", family_name="Admin"),
        OrgUser(
            id="100000000000000000002",
            primary_email="amelie@acme.example",
            given_name="Amélie",
            family_name="Poulain",
            title="Engineer",
            department="R&D",
            employee_type="Contractor",
            photo_url="https://photos.example/amelie",
            photo_etag="etag-1",
        ),
        OrgUser(
            id="100000000000000000003",
            primary_email="bjorn@acme.example",
            given_name="Björn",
            family_name="Borg",
        ),
        OrgUser(
            id="100000000000000000004",
            primary_email="sus@acme.example",
            given_name="Sam",
            family_name="Suspended",
            suspended=True,
        ),
        OrgUser(
            id="100000000000000000005",
            primary_email="arch@acme.example",
            given_name="Ari",
            family_name="Archived",
            archived=True,
        ),
        OrgUser(
            id="100000000000000000006",
            primary_email="kenji@acme.example",
            given_name="健二",
            family_name="山田",
        ),
    ]
    users += [
        OrgUser(
            id=f"2{i:020d}", primary_email=f"user{i:05d}@acme.example", given_name="User", family_name=str(i)
        )
        for i in range(extra_users)
    ]
    groups = [
        # eng nests platform and mobile; both nest core (a diamond); core nests eng (a cycle)
        OrgGroup(
            email="eng@acme.example",
            name="Engineering",
            members=["platform@acme.example", "mobile@acme.example"],
        ),
        OrgGroup(
            email="platform@acme.example",
            name="Platform",
            members=["amelie@acme.example", "core@acme.example"],
        ),
        OrgGroup(
            email="mobile@acme.example", name="Mobile", members=["bjorn@acme.example", "core@acme.example"]
        ),
        OrgGroup(email="core@acme.example", name="Core", members=["kenji@acme.example", "eng@acme.example"]),
        OrgGroup(
            email="sales@acme.example",
            name="Sales",
            members=["bjorn@acme.example", "sus@acme.example", "arch@acme.example", "pat@partner.example"],
        ),
    ]
    return Org(
        customer=OrgCustomer(id="C03acme01", primary_domain="acme.example"),
        admins=[ADMIN],
        users=users,
        groups=groups,
    )


@pytest.fixture
def emulator() -> Iterator[GoogleEmulator]:
    with google_emulator_in_thread(acme()) as served:
        yield served


def directory_for(emulator: GoogleEmulator, *, admin: str = ADMIN, key: str | None = None) -> GoogleDirectory:
    return GoogleDirectory.from_service_account_key(
        key or emulator.service_account_key(),
        admin_email=admin,
        customer_id="my_customer",
        api_endpoint=emulator.url,
        retry_base=0.01,
        max_attempts=5,
    )
