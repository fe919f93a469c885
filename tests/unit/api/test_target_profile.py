"""spec.target.scim.profile and the mapped teams reach the SCIM adapter as it names them."""

import copy

import pytest
from pydantic import ValidationError

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.targets.scim import PROFILES
from tests.unit.api.samples import SPEC


def spec_with(**scim: object) -> GoogleProvisioningSpec:
    raw = copy.deepcopy(SPEC)
    raw["target"]["scim"].update(scim)
    return GoogleProvisioningSpec.model_validate(raw)


@pytest.mark.parametrize(
    ("profile", "adapter"),
    [("Auto", "auto"), ("Generic", "generic"), ("AWSIdentityCenter", "aws-identity-center")],
)
def test_each_profile_is_one_the_adapter_knows(profile: str, adapter: str) -> None:
    assert spec_with(profile=profile).target.scim.adapter_profile == adapter
    assert adapter in PROFILES


def test_the_default_profile_is_auto_and_others_are_refused() -> None:
    assert spec_with().target.scim.profile == "Auto"
    with pytest.raises(ValidationError, match="'Auto', 'Generic' or 'AWSIdentityCenter'"):
        spec_with(profile="Okta")


def test_only_mapped_teams_are_named_and_none_when_mapping_is_off() -> None:
    assert spec_with().mapped_teams == ["Engineering"]
    raw = copy.deepcopy(SPEC)
    raw["teams"]["enabled"] = False
    assert GoogleProvisioningSpec.model_validate(raw).mapped_teams is None
