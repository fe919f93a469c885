"""scim-sdk-server 1.30.0 (Java) in our app (launchers/javascim): what its answers show is real.

- its ServiceProviderConfig carries the library's own patch settings (`ignoreUnknownAttributes`,
  `doNotFailOnNoTarget`) next to RFC 7643's, and gwsync reads it (and then writes by Bulk);
- its schema validation is on: a User whose attribute has the wrong type is a 400 naming it;
- a taken userName, in any case, is a 409 (the schema's uniqueness "server", kept by our store).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from gwsync.targets.scim import ScimTarget

from .backend import USER_SCHEMA, HttpBackend
from .launchers.node import Unavailable
from .servers import SCIM_SDK, scim_sdk_server


@pytest.fixture
def scim_sdk() -> Iterator[HttpBackend]:
    try:
        with scim_sdk_server() as served:
            assert isinstance(served, HttpBackend)
            yield served
    except Unavailable as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{SCIM_SDK} unavailable in CI: {exc}", pytrace=False)
        pytest.skip(f"{SCIM_SDK}: {exc}")


def raw(backend: HttpBackend, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        backend.direct + path, data=None if body is None else json.dumps(body).encode(), method=method
    )
    request.add_header("Authorization", f"Bearer {backend.token}")
    request.add_header("Content-Type", "application/scim+json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, exc.read()
    return status, json.loads(payload) if payload else None


async def test_its_config_carries_the_librarys_patch_settings_and_gwsync_reads_it(
    scim_sdk: HttpBackend,
) -> None:
    status, config = raw(scim_sdk, "GET", "/ServiceProviderConfig")
    assert status == 200
    library_settings = {"ignoreUnknownAttributes": False, "doNotFailOnNoTarget": False}
    assert config["patch"] == {"supported": True, **library_settings}

    async with ScimTarget(scim_sdk.url, scim_sdk.token) as target:
        capabilities = await target.check()
    assert (capabilities.patch, capabilities.bulk_max_operations, capabilities.page_size) == (True, 100, 200)


async def test_its_schema_validation_is_on_and_a_taken_user_name_is_a_409(scim_sdk: HttpBackend) -> None:
    wrong = {"schemas": [USER_SCHEMA], "userName": "ann@acme.com", "name": {"givenName": 1}}
    status, error = raw(scim_sdk, "POST", "/Users", wrong)
    assert status == 400 and "name.givenName' is not of type 'string'" in error["detail"], error

    scim_sdk.seed_user("ann@acme.com")
    status, error = raw(scim_sdk, "POST", "/Users", {"schemas": [USER_SCHEMA], "userName": "Ann@Acme.com"})
    assert (status, error["detail"]) == (409, "the User 'ann@acme.com' already exists"), error
