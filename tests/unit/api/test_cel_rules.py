"""The CEL rules the API server enforces refuse the same objects as the pydantic models.

The rules are evaluated with a real CEL interpreter (cel-python) on the generated CRD, at
the schema node that carries them, on objects defaulted the way the API server would.
"""

import copy
import re
from collections.abc import Iterator
from typing import Any

import celpy
import pytest
from pydantic import ValidationError

from gwsync.api.crd import provisioning_crd
from gwsync.api.provisioning import GoogleProvisioningSpec
from tests.unit.api.samples import SPEC

SCHEMA = provisioning_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
CEL = celpy.Environment()


def _rules(schema: dict[str, Any], value: Any) -> Iterator[tuple[str, str, Any]]:
    for rule in schema.get("x-kubernetes-validations", []):
        yield rule["rule"], rule["message"], value
    if isinstance(value, dict):
        for name, prop in schema.get("properties", {}).items():
            if name in value:
                yield from _rules(prop, value[name])
    elif isinstance(value, list) and "items" in schema:
        for item in value:
            yield from _rules(schema["items"], item)


def cel_refusals(spec: dict[str, Any]) -> list[str]:
    refused = []
    for rule, message, value in _rules(SCHEMA, spec):
        program = CEL.program(CEL.compile(rule))
        if not bool(program.evaluate({"self": celpy.json_to_cel(value)})):
            refused.append(message)
    return refused


def defaulted(spec: dict[str, Any]) -> dict[str, Any]:
    return GoogleProvisioningSpec.model_validate(spec).to_wire()


def test_a_valid_spec_passes_every_rule() -> None:
    assert cel_refusals(defaulted(SPEC)) == []


def _broken(path: str, value: Any) -> dict[str, Any]:
    spec = copy.deepcopy(defaulted(SPEC))
    *parents, leaf = path.split(".")
    node = spec
    for part in parents:
        node = node[part]
    if value is None:
        del node[leaf]
    else:
        node[leaf] = value
    return spec


CASES = {
    "groups missing": (
        _broken("members.groups", []),
        "groups or groupQuery is required when from is Groups: list at least one group email, "
        "or a group query such as email:team*",
    ),
    "group query with every user": (
        _broken("members", {"from": "AllUsers", "groupQuery": "email:team*"}),
        "groupQuery is read only when from is Groups: set from: Groups, or remove groupQuery",
    ),
    "group query by member": (
        _broken("members.groupQuery", "memberKey=jane@acme.com"),
        "groupQuery must be clauses separated by spaces, each email or name, then = (equals) or : "
        "(a prefix ending in *), then a value, quoted with ' when it holds spaces: "
        "email:team* name:'Platform *'",
    ),
    "group query with an unclosed quote": (
        _broken("members.groupQuery", "name:'Platform *"),
        "groupQuery must be clauses separated by spaces, each email or name, then = (equals) or : "
        "(a prefix ending in *), then a value, quoted with ' when it holds spaces: "
        "email:team* name:'Platform *'",
    ),
    "interval too short": (
        _broken("schedule.interval", "5m"),
        "interval must be at least 1h (Go duration syntax, e.g. 24h)",
    ),
    "duplicate team": (
        _broken(
            "teams.mappings",
            [{"team": "Eng", "groups": ["a@acme.com"]}, {"team": "Eng", "groups": ["b@acme.com"]}],
        ),
        "team names must be unique within mappings: merge the groups of a repeated team into one mapping",
    ),
    "two credentials": (
        _broken("google.serviceAccountEmail", "sa@acme.iam.gserviceaccount.com"),
        "set exactly one of credentialsSecretRef (a service-account key) or serviceAccountEmail "
        "(keyless, signed through IAM Credentials)",
    ),
    "grace period over a year": (
        _broken("deprovision.gracePeriod", "8761h"),
        "gracePeriod must be at most 8760h (a year; Go duration syntax, e.g. 72h)",
    ),
    "sync timeout under a second": (
        _broken("syncTimeout", "500ms"),
        "syncTimeout must be at least 1s (Go duration syntax, e.g. 6h)",
    ),
    "plain http": (
        _broken("target.scim.url", "http://scim.example.com"),
        "url must use https:// (plain http is allowed only for loopback addresses)",
    ),
    "http to a host that starts like localhost": (
        _broken("target.scim.url", "http://localhost.attacker.example/scim/v2"),
        "url must use https:// (plain http is allowed only for loopback addresses)",
    ),
    "http to a host that starts like 127.": (
        _broken("target.scim.url", "http://127.attacker.example/scim/v2"),
        "url must use https:// (plain http is allowed only for loopback addresses)",
    ),
    "http with localhost as the user part": (
        _broken("target.scim.url", "http://localhost@attacker.example/scim/v2"),
        "url must use https:// (plain http is allowed only for loopback addresses)",
    ),
    "plain http to a Google endpoint elsewhere": (
        _broken("google.apiEndpoint", "http://admin.attacker.example/"),
        "apiEndpoint must use https:// (plain http is allowed only for loopback addresses)",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_cel_and_pydantic_refuse_the_same_object(case: str) -> None:
    spec, message = CASES[case]
    assert cel_refusals(spec) == [message]
    with pytest.raises(ValidationError):
        GoogleProvisioningSpec.model_validate(spec)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/scim/v2", "http://localhost:9000", "http://[::1]/v2", "http://127.0.0.1"]
)
def test_loopback_http_is_allowed_for_tests_and_the_demo(url: str) -> None:
    for field in ("target.scim.url", "google.apiEndpoint"):
        spec = _broken(field, url)
        assert cel_refusals(spec) == []
        GoogleProvisioningSpec.model_validate(spec)


@pytest.mark.parametrize("grace", ["72h", "1h30m", "8760h", "0s"])
def test_a_grace_period_up_to_a_year_passes_both(grace: str) -> None:
    spec = _broken("deprovision.gracePeriod", grace)
    assert cel_refusals(spec) == []
    assert GoogleProvisioningSpec.model_validate(spec).deprovision.grace_period == grace


def test_a_grace_period_that_is_no_go_duration_is_refused_with_the_field_named() -> None:
    with pytest.raises(ValidationError, match=r"deprovision\.gracePeriod"):
        GoogleProvisioningSpec.model_validate(_broken("deprovision.gracePeriod", "3 days"))
    schema = SCHEMA["properties"]["deprovision"]["properties"]["gracePeriod"]
    assert schema["pattern"] == r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"


def test_a_sync_timeout_defaults_to_6h_and_a_short_one_passes_both() -> None:
    assert defaulted(SPEC)["syncTimeout"] == "6h"
    spec = _broken("syncTimeout", "1s")
    assert cel_refusals(spec) == []
    assert GoogleProvisioningSpec.model_validate(spec).sync_deadline.total_seconds() == 1


SECRET_REFS = ["google.credentialsSecretRef", "target.scim.tokenSecretRef", "target.scim.caBundleSecretRef"]
SECRET_NAMES = {
    "acme-scim": True,
    "acme.scim.v2": True,
    "0" * 253: True,
    "Acme-SCIM": False,
    "acme_scim": False,
    "-acme": False,
    "acme-": False,
    "acme..scim": False,
    "acme/scim": False,
    "a" * 254: False,
}
SECRET_KEYS = {
    "token": True,
    "credentials.json": True,
    "CA_bundle-2.crt": True,
    "k" * 253: True,
    "to ken": False,
    "keys/token": False,
    "k" * 254: False,
}


def _schema_at(path: str) -> dict[str, Any]:
    node = SCHEMA
    for part in path.split("."):
        node = node["properties"][part]
    return node


def _crd_accepts(schema: dict[str, Any], value: str) -> bool:
    """As the API server checks a string: its pattern (RE2; these use nothing RE2 lacks) and length."""
    return (
        bool(re.search(schema["pattern"], value)) and schema["minLength"] <= len(value) <= schema["maxLength"]
    )


def _pydantic_accepts(ref: str, **secret: str) -> bool:
    spec = _broken(ref, {"name": "acme-secret", "key": "token", **secret})
    try:
        GoogleProvisioningSpec.model_validate(spec)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("ref", SECRET_REFS)
def test_every_secret_ref_carries_the_secret_name_and_key_patterns(ref: str) -> None:
    properties = _schema_at(ref)["properties"]
    assert (
        properties["name"]["pattern"] == r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    )
    assert properties["key"]["pattern"] == r"^[-._a-zA-Z0-9]+$"
    assert properties["name"]["maxLength"] == properties["key"]["maxLength"] == 253


@pytest.mark.parametrize("ref", SECRET_REFS)
def test_the_crd_and_pydantic_accept_the_same_secret_names_and_keys(ref: str) -> None:
    properties = _schema_at(ref)["properties"]
    for name, valid in SECRET_NAMES.items():
        assert _crd_accepts(properties["name"], name) is _pydantic_accepts(ref, name=name) is valid, name
    for key, valid in SECRET_KEYS.items():
        assert _crd_accepts(properties["key"], key) is _pydantic_accepts(ref, key=key) is valid, key


@pytest.mark.parametrize("query", ["email:team*", "name:'Platform *'", "email=eng@acme.com name:Eng*"])
def test_a_group_query_alone_chooses_the_members_in_both(query: str) -> None:
    spec = _broken("members", {"from": "Groups", "groupQuery": query})
    assert cel_refusals(defaulted(spec)) == []
    assert GoogleProvisioningSpec.model_validate(spec).members.group_query == query


def test_a_bad_group_query_is_refused_with_the_field_and_the_fix_named() -> None:
    with pytest.raises(ValidationError) as refused:
        GoogleProvisioningSpec.model_validate(_broken("members.groupQuery", "team*"))
    error = refused.value.errors()[0]
    assert error["loc"] == ("members", "groupQuery")
    assert error["msg"] == (
        "Value error, groupQuery must be clauses separated by spaces, each email or name, then = "
        "(equals) or : (a prefix ending in *), then a value, quoted with ' when it holds spaces: "
        "email:team* name:'Platform *'"
    )
