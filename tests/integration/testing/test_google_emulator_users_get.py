"""The Google emulator's users.get answers as the Directory API does: by id or primary email,
with the projection asked for; 404 notFound for a user it lacks, 403 forbidden for an address
of a domain the customer does not own (the reader's fallbacks depend on both)."""

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.error import HTTPError
from urllib.parse import quote, urlencode
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
from gwsync.testing.org import Org, OrgCustomer, OrgUser

ADMIN = "admin@acme.example"


@pytest.fixture(scope="module")
def emulator() -> Iterator[GoogleEmulator]:
    org = Org(
        customer=OrgCustomer(primary_domain="acme.example"),
        admins=[ADMIN],
        users=[
            OrgUser(id="1", primary_email=ADMIN, custom_schemas={"HR": {"badge": "B-1"}}),
            OrgUser(id="2", primary_email="jane@acme.example", given_name="Jane"),
        ],
    )
    with google_emulator_in_thread(org) as served:
        yield served


def get(emulator: GoogleEmulator, key: str, **query: str) -> tuple[int, dict[str, Any]]:
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
    url = f"{emulator.url}{API}/users/{quote(key)}?" + urlencode(query)
    try:
        with urlopen(Request(url, headers={"Authorization": f"Bearer {token}"})) as answer:
            return answer.status, json.load(answer)
    except HTTPError as refused:
        return refused.code, json.load(refused)


def test_a_user_is_found_by_id_or_email_with_the_fields_and_projection_asked(
    emulator: GoogleEmulator,
) -> None:
    assert get(emulator, "2", fields="id,name(givenName)") == (
        200,
        {"id": "2", "name": {"givenName": "Jane"}},
    )
    assert get(emulator, "JANE@acme.example", fields="id")[1] == {"id": "2"}
    assert "customSchemas" not in get(emulator, "1")[1]
    custom = get(emulator, "1", projection="custom", customFieldMask="HR", fields="customSchemas")
    assert custom == (200, {"customSchemas": {"HR": {"badge": "B-1"}}})


def test_an_unknown_user_is_404_and_another_domain_403_in_google_s_words(emulator: GoogleEmulator) -> None:
    assert get(emulator, "999") == (
        404,
        {
            "error": {
                "code": 404,
                "message": "Resource Not Found: userKey",
                "errors": [
                    {"message": "Resource Not Found: userKey", "domain": "global", "reason": "notFound"}
                ],
            }
        },
    )
    status, body = get(emulator, "pat@partner.example")
    assert (status, body["error"]["errors"][0]["reason"]) == (403, "forbidden")
    assert body["error"]["message"] == "Not Authorized to access this resource/api"
