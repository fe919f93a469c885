"""spec.attributes: every kind of mapping accepted, every bad one refused with the field named,
by `gwsync validate` (pydantic) and by the CRD's CEL rules alike."""

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from gwsync.api import attributes as a
from gwsync.api.attributes import AttributeMapping, Attributes, effective_mappings
from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.cli.main import app
from tests.unit.api.samples import SPEC, provisioning
from tests.unit.api.test_cel_rules import cel_refusals, defaulted

CUSTOM = "urn:example:params:scim:schemas:extension:acme:2.0:User"

GOOD: list[dict[str, Any]] = [
    {"target": "title", "source": "customSchemas.Employment.jobTitle"},  # replaces a default
    {"target": "name.middleName", "source": "customSchemas.Employment.middle"},
    {"target": 'phoneNumbers[type eq "mobile"].value', "source": "phones[type=mobile].value"},
    {"target": "locale", "constant": "fr-CA"},
    {"target": "employeeNumber", "source": "externalIds[type=organization].value"},
    {"target": "costCenter", "source": "organizations.costCenter"},
    {"target": "manager", "source": "relations[type=manager].value"},
    {"target": "nickName", "source": "primaryEmail", "transforms": ["LocalPart", "Lowercase"]},
    {"target": f"{CUSTOM}:badge", "source": "customSchemas.Employment.badge"},
    {"target": f"{CUSTOM}:admin", "source": "isAdmin"},
]


def with_mappings(*mappings: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(SPEC)
    spec["attributes"] = {"mappings": list(mappings)}
    return spec


def defaulted_without_validation(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec defaulted as the API server would, its bad mappings kept as written."""
    wire = defaulted(with_mappings({"target": "locale", "constant": "en"}))
    wire["attributes"] = copy.deepcopy(spec["attributes"])
    return wire


def validate(tmp_path: Path, spec: dict[str, Any]) -> tuple[int, str]:
    path = tmp_path / "gprov.yaml"
    path.write_text(yaml.safe_dump(provisioning(spec)), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    return result.exit_code, result.stderr.replace(f"{path}: GoogleProvisioning default/acme: ", "")


def test_a_mapping_of_every_kind_passes_both(tmp_path: Path) -> None:
    spec = with_mappings(*GOOD)
    assert validate(tmp_path, spec)[0] == 0
    assert cel_refusals(defaulted(spec)) == []


def test_mappings_replace_their_default_and_add_the_others() -> None:
    attributes = Attributes.model_validate({"mappings": GOOD[:2]})
    targets = [(m.target, m.source) for m in effective_mappings(attributes)]
    assert targets == [
        ("emails", "primaryEmail"),
        ("name.givenName", "name.givenName"),
        ("name.familyName", "name.familyName"),
        ("displayName", "name.fullName"),
        ("title", "customSchemas.Employment.jobTitle"),
        ("department", "organizations.department"),
        ("userType", "organizations.description"),
        ("name.middleName", "customSchemas.Employment.middle"),
    ]
    assert effective_mappings(None) == a.DEFAULT_MAPPINGS


# case -> (mapping, the field named, the exact message)
BAD: dict[str, tuple[dict[str, Any], str, str]] = {
    "unknown source field": (
        {"target": "title", "source": "organisations.title"},
        "source",
        a.SOURCE_MESSAGE,
    ),
    "unknown target attribute": (
        {"target": "jobTitle", "source": "organizations.title"},
        "target",
        a.TARGET_MESSAGE,
    ),
    "the core schema URN form": (
        {"target": "urn:ietf:params:scim:schemas:core:2.0:User:title", "source": "organizations.title"},
        "target",
        a.TARGET_MESSAGE,
    ),
    "an identity attribute": ({"target": "userName", "source": "primaryEmail"}, "target", a.FIXED_MESSAGE),
    "a boolean into a string": ({"target": "title", "source": "isAdmin"}, "source", a.BOOLEAN_MESSAGE),
    "a constant manager": ({"target": "manager", "constant": "boss@acme.com"}, "constant", a.MANAGER_MESSAGE),
    "a transformed manager": (
        {"target": "manager", "source": "relations[type=manager].value", "transforms": ["Lowercase"]},
        "transforms",
        a.TRANSFORMS_MESSAGE,
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_bad_mapping_is_refused_offline_with_the_field_named(tmp_path: Path, case: str) -> None:
    mapping, field, message = BAD[case]
    code, err = validate(tmp_path, with_mappings(mapping))
    assert code == 1
    assert f"spec.attributes.mappings[0].{field}: {message}" in err


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_the_crd_refuses_the_same_mapping_with_the_same_message(case: str) -> None:
    mapping, _, message = BAD[case]
    assert cel_refusals(defaulted_without_validation(with_mappings(mapping))) == [message]


def test_source_and_constant_together_are_refused(tmp_path: Path) -> None:
    spec = with_mappings({"target": "locale", "source": "primaryEmail", "constant": "en"})
    code, err = validate(tmp_path, spec)
    assert code == 1
    assert f"spec.attributes.mappings[0]: {a.EXACTLY_ONE_MESSAGE}" in err
    assert cel_refusals(defaulted_without_validation(spec)) == [a.EXACTLY_ONE_MESSAGE]


def test_a_target_mapped_twice_is_refused(tmp_path: Path) -> None:
    spec = with_mappings({"target": "locale", "constant": "en"}, {"target": "locale", "constant": "fr"})
    code, err = validate(tmp_path, spec)
    assert code == 1
    assert f"spec.attributes.mappings: locale is mapped twice: {a.DUPLICATE_MESSAGE}" in err
    assert cel_refusals(defaulted_without_validation(spec)) == [a.DUPLICATE_MESSAGE]


def test_without_attributes_the_spec_is_unchanged_on_the_wire() -> None:
    assert "attributes" not in GoogleProvisioningSpec.model_validate(SPEC).to_wire()


def test_a_custom_schema_source_names_its_schema() -> None:
    assert a.custom_schema("customSchemas.Employment.badge") == "Employment"
    assert a.custom_schema("phones[type=work].value") is None
    assert AttributeMapping(target="locale", constant="en").source is None


def test_omitted_defaults_are_neither_mapped_nor_read(tmp_path: Path) -> None:
    spec = copy.deepcopy(SPEC)
    spec["attributes"] = {"omit": ["title", "photos", "title"], "mappings": [GOOD[1]]}
    assert validate(tmp_path, spec)[0] == 0
    assert cel_refusals(defaulted(spec)) == []
    attributes = Attributes.model_validate(spec["attributes"])
    assert attributes.omit == [a.Omitted.TITLE, a.Omitted.PHOTOS]  # once each
    targets = [m.target for m in effective_mappings(attributes)]
    kept = ["emails", "name.givenName", "name.familyName", "displayName", "department", "userType"]
    assert targets == [*kept, "name.middleName"]
    assert a.omits_photos(attributes) and not a.omits_photos(None)
    # Photos alone: the same mappings, but not the default tuple (whose fast paths compare photos).
    photos = effective_mappings(Attributes.model_validate({"omit": ["photos"]}))
    assert photos == a.DEFAULT_MAPPINGS and photos is not a.DEFAULT_MAPPINGS


def test_an_attribute_mapped_and_omitted_is_refused(tmp_path: Path) -> None:
    spec = copy.deepcopy(SPEC)
    spec["attributes"] = {"omit": ["title"], "mappings": [GOOD[0]]}
    code, err = validate(tmp_path, spec)
    assert code == 1
    assert f"spec.attributes.omit: title is mapped and omitted: {a.OMITTED_MESSAGE}" in err
    wire = defaulted_without_validation(spec)
    wire["attributes"]["omit"] = ["title"]
    assert cel_refusals(wire) == [a.OMITTED_MESSAGE]


def test_only_default_attributes_can_be_omitted(tmp_path: Path) -> None:
    spec = copy.deepcopy(SPEC)
    spec["attributes"] = {"omit": ["jobTitle"]}
    code, err = validate(tmp_path, spec)
    assert code == 1
    assert err == (
        "spec.attributes.omit[0]: Input should be 'displayName', 'title', 'department', 'userType' "
        "or 'photos'\n1 problem found in 1 file.\n"
    )
