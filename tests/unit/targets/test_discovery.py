"""Reading a target's ServiceProviderConfig (targets.scim.discovery.discover)."""

from typing import Any

import httpx
import pytest

from gwsync.sync.ports import TargetUnavailable
from gwsync.targets.scim.discovery import discover

URL = "https://scim.example/v2"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
# What scim-sdk-server 1.30.0 answers when its PatchConfig settings are set (launchers/javascim).
SCIM_SDK_CONFIG = {
    "schemas": [SPC_SCHEMA],
    "patch": {"supported": True, "ignoreUnknownAttributes": False, "doNotFailOnNoTarget": False},
    "etag": {"supported": False},
    "bulk": {"supported": True, "maxOperations": 100, "maxPayloadSize": 2097152},
    "filter": {"supported": True, "maxResults": 200},
    "changePassword": {"supported": False},
    "sort": {"supported": True},
    "authenticationSchemes": [{"name": "Bearer", "description": "A token", "type": "oauthbearertoken"}],
}


class Answers:
    """A target answering a ServiceProviderConfig, and 404 to everything else."""

    def __init__(self, config: Any) -> None:
        self.config = config

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if url == "/ServiceProviderConfig":
            return httpx.Response(200, json=self.config)
        return httpx.Response(404, json={"status": "404"})


async def test_a_config_with_a_servers_own_patch_settings_is_read() -> None:
    capabilities, _ = await discover(Answers(SCIM_SDK_CONFIG), URL, "auto", None)
    assert (capabilities.patch, capabilities.page_size, capabilities.filter) == (True, 200, True)
    assert (capabilities.bulk_max_operations, capabilities.bulk_max_payload) == (100, 2097152)


@pytest.mark.parametrize(
    "answer",
    [
        {"Resources": [], "totalResults": 0},  # a list, from another URL
        {**SCIM_SDK_CONFIG, "filter": {"supported": "sometimes", "extra": 1}},
    ],
    ids=["unknown-top-level", "wrong-type-next-to-an-extra"],
)
async def test_anything_else_is_still_no_service_provider_config(answer: dict[str, Any]) -> None:
    with pytest.raises(TargetUnavailable) as refused:
        await discover(Answers(answer), URL, "auto", None)
    assert str(refused.value) == (
        f"The SCIM target {URL} did not answer a ServiceProviderConfig; check spec.target.scim.url "
        "points at the SCIM base URL (e.g. https://host/scim/v2)."
    )
