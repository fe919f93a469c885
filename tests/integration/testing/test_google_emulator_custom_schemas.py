"""The Google emulator serves custom schema fields as the Directory API does: users.list leaves
them out unless projection is custom (the schemas of customFieldMask) or full (all of them)."""

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest

from gwsync.testing.google import (
    API,
    JWT_BEARER,
    READ_ONLY_SCOPES,
    GoogleEmulator,
    google_emulator_in_thread,
    sign_jwt,
)
from gwsync.testing.org import Org, OrgUser

ADMIN = "admin@acme.example"
SCHEMAS = {"Employment": {"badge": "B-1", "level": 3}, "Travel": {"seat": "aisle"}}


@pytest.fixture(scope="module")
def emulator() -> Iterator[GoogleEmulator]:
    org = Org(
        admins=[ADMIN],
        users=[
            OrgUser(id="1", primary_email=ADMIN, custom_schemas=SCHEMAS),
            OrgUser(id="2", primary_email="plain@acme.example"),
        ],
    )
    with google_emulator_in_thread(org) as served:
        yield served


def listed(emulator: GoogleEmulator, **query: str) -> dict[str, Any]:
    """users.list over HTTP with a token from the emulator's own token endpoint."""
    account = emulator.service_account()
    now = int(time.time())
    claims = {
        "iss": account.email,
        "sub": ADMIN,
        "scope": " ".join(sorted(READ_ONLY_SCOPES)),
        "aud": emulator.token_uri,
        "iat": now,
        "exp": now + 600,
    }
    form = urlencode({"grant_type": JWT_BEARER, "assertion": sign_jwt(account.key, account.key_id, claims)})
    with urlopen(Request(emulator.token_uri, data=form.encode())) as answer:
        token = json.load(answer)["access_token"]
    url = f"{emulator.url}{API}/users?" + urlencode({"customer": "my_customer", **query})
    with urlopen(Request(url, headers={"Authorization": f"Bearer {token}"})) as answer:
        return {user["primaryEmail"]: user.get("customSchemas") for user in json.load(answer)["users"]}


def test_without_projection_custom_there_are_no_custom_schemas(emulator: GoogleEmulator) -> None:
    assert listed(emulator) == {ADMIN: None, "plain@acme.example": None}
    assert listed(emulator, projection="basic", customFieldMask="Employment")[ADMIN] is None


def test_projection_custom_serves_the_schemas_of_the_mask_only(emulator: GoogleEmulator) -> None:
    found = listed(emulator, projection="custom", customFieldMask="Employment")
    assert found == {ADMIN: {"Employment": {"badge": "B-1", "level": 3}}, "plain@acme.example": None}


def test_projection_full_serves_every_schema(emulator: GoogleEmulator) -> None:
    assert listed(emulator, projection="full")[ADMIN] == SCHEMAS
