"""Canaille 0.3.6 through pytest-iam 0.3.0: what its SCIM server does, read from its answers.

It cannot be a row of the matrix in gwsync's environment: Canaille 0.3.6 declares
scim2-models>=0.6.12, but with the scim2-models 0.12 that gwsync needs, every SCIM answer that
carries a User or Group (list, read, create) is a 500 (its endpoints call model_dump with an
`attributes` argument that scim2-models 0.12 no longer takes). Discovery and OAuth work. These
tests show that, and the quirks its source has beyond it: `count` is compared as a string (a
500 whatever the version), filters are not supported (ServiceProviderConfig says so), the User
schema requires name.formatted and allows no emails.type. Each test fails when Canaille changes,
so the row in docs/targets.md must change with it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from .backend import USER_SCHEMA
from .launchers import canaille_iam


@pytest.fixture(scope="module")
def canaille() -> Iterator[tuple[str, str]]:
    with canaille_iam.serving() as served:
        yield served


def call(
    base: str, token: str, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(
        base + path, data=None if body is None else json.dumps(body).encode(), method=method
    )
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/scim+json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, exc.read()
    try:
        return status, json.loads(payload) if payload else None
    except ValueError:
        return status, payload.decode(errors="replace")


def test_an_oauth_client_credentials_token_is_accepted_and_another_is_refused(
    canaille: tuple[str, str],
) -> None:
    base, token = canaille
    status, config = call(base, token, "GET", "/ServiceProviderConfig")
    assert status == 200
    assert [s["type"] for s in config["authenticationSchemes"]] == ["oauthbearertoken"]
    assert call(base, "not-a-token", "GET", "/ServiceProviderConfig")[0] == 401


def test_filters_are_not_supported(canaille: tuple[str, str]) -> None:
    base, token = canaille
    config = call(base, token, "GET", "/ServiceProviderConfig")[1]
    assert config["filter"] == {"supported": False, "maxResults": 0}


def test_its_user_schema_requires_name_formatted_and_has_no_email_type(canaille: tuple[str, str]) -> None:
    base, token = canaille
    schema = call(base, token, "GET", f"/Schemas/{USER_SCHEMA}")[1]
    attributes = {a["name"]: a for a in schema["attributes"]}
    name = {s["name"]: s.get("required", False) for s in attributes["name"]["subAttributes"]}
    assert name["formatted"] is True
    assert [s["name"] for s in attributes["emails"]["subAttributes"]] == ["value"]
    assert "userType" not in attributes


def test_count_is_a_500(canaille: tuple[str, str]) -> None:
    # parse_search_request: min(request.args["count"], 1000), a str against an int.
    base, token = canaille
    assert call(base, token, "GET", "/Users?startIndex=1&count=10")[0] == 500


def test_with_scim2_models_0_12_every_user_read_or_write_is_a_500(canaille: tuple[str, str]) -> None:
    base, token = canaille
    assert call(base, token, "GET", "/Users")[0] == 500
    user = {
        "schemas": [USER_SCHEMA],
        "userName": "renee@acme.com",
        "name": {"formatted": "Renée Lefèvre", "givenName": "Renée", "familyName": "Lefèvre"},
        "emails": [{"value": "renee@acme.com"}],
        "active": True,
    }
    assert call(base, token, "POST", "/Users", user)[0] == 500
