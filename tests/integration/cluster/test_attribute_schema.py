"""spec.attributes on the real API server: a bad mapping is refused by `gwsync validate` and by
the CRD alike, each naming the field (the CEL rules of the generated CRD, RE2 regexes included)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.unit.api.samples import SPEC
from typer.testing import CliRunner

from gwsync.api import attributes as a
from gwsync.cli.main import app

from .conftest import Cluster, kubectl
from .test_schema import manifest

CUSTOM = "urn:example:params:scim:schemas:extension:acme:2.0:User:badge"


def with_mapping(mapping: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(SPEC)
    spec["attributes"] = {"mappings": [mapping]}
    return spec


# case -> (mapping, the field both must name, the message the API server gives)
BAD = {
    "unknown source field": (
        {"target": "title", "source": "organisations.title"},
        "spec.attributes.mappings[0].source",
        a.SOURCE_MESSAGE,
    ),
    "unknown target attribute": (
        {"target": "jobTitle", "source": "organizations.title"},
        "spec.attributes.mappings[0].target",
        a.TARGET_MESSAGE,
    ),
    "type mismatch": (
        {"target": "title", "source": "isAdmin"},
        "spec.attributes.mappings[0].source",
        a.BOOLEAN_MESSAGE,
    ),
    "a constant manager": (
        {"target": "manager", "constant": "boss@acme.com"},
        "spec.attributes.mappings[0].constant",
        a.MANAGER_MESSAGE,
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_bad_mapping_is_refused_offline_and_by_the_server(
    cluster: Cluster, tmp_path: Path, case: str
) -> None:
    mapping, field, message = BAD[case]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(manifest(with_mapping(mapping), cluster.namespace)), encoding="utf-8")

    offline = CliRunner().invoke(app, ["validate", str(path)])
    assert offline.exit_code == 1, offline.stdout
    assert f"{field}: {message}" in offline.stderr, offline.stderr

    served = kubectl(cluster.admin, "apply", "-f", str(path), check=False)
    assert served.returncode != 0, served.stdout
    assert field in served.stderr and message.split(":")[0] in served.stderr, served.stderr


def test_a_mapping_of_every_kind_is_accepted_by_the_server(cluster: Cluster, tmp_path: Path) -> None:
    spec = copy.deepcopy(SPEC)
    spec["attributes"] = {
        "mappings": [
            {"target": 'phoneNumbers[type eq "work"].value', "source": "phones[type=work].value"},
            {"target": "manager", "source": "relations[type=manager].value"},
            {"target": CUSTOM, "source": "customSchemas.Employment.badge"},
            {"target": "nickName", "source": "primaryEmail", "transforms": ["LocalPart"]},
            {"target": "locale", "constant": "en-US"},
        ]
    }
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(manifest(spec, cluster.namespace)), encoding="utf-8")
    assert CliRunner().invoke(app, ["validate", str(path)]).exit_code == 0
    kubectl(cluster.admin, "apply", "--dry-run=server", "-f", str(path))
