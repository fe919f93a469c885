"""The committed field reference is exactly what the CRD schema generates, and reads right."""

import re
from pathlib import Path
from typing import Any

import pytest

from gwsync.api.crd import all_crds, provisioning_crd
from gwsync.api.provisioning import Schedule
from gwsync.api.reference import render_reference, slug

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "docs" / "reference.md"
REFERENCE = render_reference()
SPEC = provisioning_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]


def _section(heading: str) -> str:
    """The text of one `### `heading`` section, up to the next heading."""
    match = re.search(rf"^### `{re.escape(heading)}`\n(.*?)(?=^#|\Z)", REFERENCE, re.S | re.M)
    assert match is not None, f"no section {heading} in the reference"
    return match.group(1)


def _row(heading: str, field: str) -> str:
    rows = [line for line in _section(heading).splitlines() if line.startswith(f"| `{field}` |")]
    assert len(rows) == 1, f"{heading}: expected one row for {field}, found {rows}"
    return rows[0]


def _cells(row: str) -> list[str]:
    """A table row's cells, splitting on unescaped pipes only."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]]


def _objects(path: str, schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = [(path, schema)]
    for name, prop in schema.get("properties", {}).items():
        if prop.get("properties"):
            found += _objects(f"{path}.{name}", prop)
        elif prop.get("items", {}).get("properties"):
            found += _objects(f"{path}.{name}[]", prop["items"])
    return found


def test_committed_reference_matches_the_schema() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == REFERENCE, (
        "docs/reference.md is stale: run `gwsync crds --reference > docs/reference.md`"
    )


def test_reference_says_it_is_generated() -> None:
    assert "gwsync crds --reference" in REFERENCE.splitlines()[2]
    assert "do not edit by hand" in REFERENCE.splitlines()[2]


def test_every_google_field_appears_with_its_description() -> None:
    google = SPEC["properties"]["google"]
    assert google["properties"], "spec.google has no fields?"
    for name, prop in google["properties"].items():
        assert prop["description"].replace("|", r"\|") in _row("GoogleProvisioning.spec.google", name)
    assert "**Required.**" in _row("GoogleProvisioning.spec.google", "adminEmail")
    assert "**Required.**" not in _row("GoogleProvisioning.spec.google", "customerId")


def test_enum_field_lists_its_values() -> None:
    row = _row("GoogleProvisioning.spec.deprovision", "action")
    assert "One of: `Deactivate`, `Delete`." in row
    assert "One of: `AllUsers`, `Groups`." in _row("GoogleProvisioning.spec.members", "from")


def test_defaulted_field_shows_its_default() -> None:
    default = Schedule.model_fields["interval"].default
    assert default == "24h"
    field, type_, shown, _ = _cells(_row("GoogleProvisioning.spec.schedule", "interval"))
    assert (field, type_, shown) == ("`interval`", "string", f"`{default}`")
    assert _cells(_row("GoogleProvisioning.spec.target.scim", "maxConcurrency"))[2] == "`8`"
    # A sub-object's default is the sub-object with every field defaulted (what the server applies).
    members = '`{"from": "AllUsers", "groups": [], "includeSuspended": false}`'
    assert _cells(_row("GoogleProvisioning.spec", "members"))[2] == members


def test_bounds_and_rule_messages_are_shown() -> None:
    assert "Min 1; max 64." in _row("GoogleProvisioning.spec.target.scim", "maxConcurrency")
    assert "At most 200 items." in _row("GoogleProvisioning.spec.teams", "mappings")
    url = _row("GoogleProvisioning.spec.target.scim", "url")
    assert "Rule: url must use https:// (plain http is allowed only for loopback addresses)." in url
    # A rule on the whole object (no fieldPath) is listed under its table.
    assert "- set exactly one of credentialsSecretRef" in _section("GoogleProvisioning.spec.google")


@pytest.mark.parametrize("crd", all_crds(), ids=lambda crd: crd["spec"]["names"]["kind"])
def test_every_object_level_has_a_table_with_every_field(crd: dict[str, Any]) -> None:
    kind = crd["spec"]["names"]["kind"]
    version = crd["spec"]["versions"][0]
    root = version["schema"]["openAPIV3Schema"]
    for top in ("spec", "status"):
        for path, schema in _objects(top, root["properties"][top]):
            for name in schema["properties"]:
                _row(f"{kind}.{path}", name)
    for column in version["additionalPrinterColumns"]:
        assert f"`{column['jsonPath']}`" in REFERENCE
    assert f"- Short names: {', '.join(f'`{n}`' for n in crd['spec']['names']['shortNames'])}" in REFERENCE


def test_object_links_point_at_existing_sections() -> None:
    anchors = {slug(heading) for heading in re.findall(r"^#+ `?(.*?)`?$", REFERENCE, re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", REFERENCE)
    assert links
    assert set(links) <= anchors


def test_tables_are_well_formed_with_pipes_escaped() -> None:
    # The interval pattern holds `|`: escaped, so its row still has the header's four cells.
    assert r"ns\|us" in _row("GoogleProvisioning.spec.schedule", "interval")
    width = 0
    for line in REFERENCE.splitlines():
        if not line.startswith("|"):
            width = 0
        elif width == 0:
            width = len(_cells(line))
        else:
            assert len(_cells(line)) == width, line
