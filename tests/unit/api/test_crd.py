"""The committed CRDs are exactly what the models generate, and are valid CRDs."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from gwsync.api.crd import all_crds, model_schema, render_crds
from gwsync.api.provisioning import Members

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "crds" / "crds.yaml"


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Every schema node below `node` (following properties and items only)."""
    found = [node]
    for prop in node.get("properties", {}).values():
        found.extend(_walk(prop))
    if "items" in node:
        found.extend(_walk(node["items"]))
    return found


def test_committed_crds_match_the_models() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render_crds(), (
        "crds/crds.yaml is stale: run `gwsync crds > crds/crds.yaml` and commit it"
    )


def test_a_changed_model_changes_the_generated_schema() -> None:
    # What makes the staleness test above able to fail: the schema follows the fields.
    schema = model_schema(Members)
    assert set(schema["properties"]) == {"from", "groups", "groupQuery", "includeSuspended"}
    assert schema["properties"]["from"]["enum"] == ["AllUsers", "Groups"]


@pytest.mark.parametrize("crd", all_crds(), ids=lambda crd: crd["metadata"]["name"])
def test_crd_parses_as_an_apiextensions_v1_crd(crd: dict[str, Any]) -> None:
    parsed = client.ApiClient().deserialize(json.dumps(crd), "V1CustomResourceDefinition", "application/json")
    assert isinstance(parsed, client.V1CustomResourceDefinition)
    version = parsed.spec.versions[0]
    assert version.subresources.status == {}
    assert parsed.spec.names.categories == ["gwsync"]
    assert version.schema.open_apiv3_schema.properties["spec"].type == "object"


@pytest.mark.parametrize("crd", all_crds(), ids=lambda crd: crd["metadata"]["name"])
def test_schema_is_structural(crd: dict[str, Any]) -> None:
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for node in _walk(schema["properties"]["spec"]) + _walk(schema["properties"]["status"]):
        if "properties" in node or "items" in node or "enum" in node:
            assert "type" in node, f"untyped schema node: {node}"
        assert "$ref" not in node and "anyOf" not in node and "title" not in node
        assert "additionalProperties" not in node and "const" not in node


def test_every_spec_field_has_a_description() -> None:
    for crd in all_crds():
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        missing = [
            name
            for node in _walk(schema)
            for name, prop in node.get("properties", {}).items()
            if "description" not in prop
        ]
        assert missing == [], f"{crd['metadata']['name']}: fields without description: {missing}"


def test_printer_columns_and_short_names() -> None:
    provisioning, report = all_crds()
    assert provisioning["spec"]["names"]["shortNames"] == ["gprov"]
    assert report["spec"]["names"]["shortNames"] == ["sreport"]
    names = [col["name"] for col in provisioning["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert names == ["Active", "Connected", "Last Sync", "Last Sync Age", "Next Sync", "Age"]
    names = [col["name"] for col in report["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert names == [
        "Provisioning",
        "Trigger",
        "Phase",
        "Created",
        "Updated",
        "Removed",
        "Failed",
        "Duration",
        "Age",
    ]


def test_cross_field_rules_are_cel_validations() -> None:
    text = yaml.safe_dump(all_crds()[0], width=10_000)
    assert "self.from != 'Groups'" in text
    assert "duration(self.interval) >= duration('1h')" in text
    assert "exists_one(n, n.team == m.team)" in text
