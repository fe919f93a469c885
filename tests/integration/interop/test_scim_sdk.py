"""scim-sdk-server 1.30.0 (Java) in our app (launchers/javascim): what its answers show is real.

- its ServiceProviderConfig carries the library's own patch settings (`ignoreUnknownAttributes`,
  `doNotFailOnNoTarget`) next to RFC 7643's, and gwsync reads it (and then writes by Bulk);
- its schema validation is on: a User whose attribute has the wrong type is a 400 naming it;
- a taken userName, in any case, is a 409 (the schema's uniqueness "server", kept by our store).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gwsync.targets.scim import ScimTarget

from .backend import USER_SCHEMA, HttpBackend
from .servers import SCIM_SDK, started


@pytest.fixture
def scim_sdk() -> Iterator[HttpBackend]:
    with started(SCIM_SDK) as served:
        yield served


raw = HttpBackend.raw


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
