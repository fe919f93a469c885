"""The bundled sample organization as a Directory, nesting included, for planner tests."""

from dataclasses import replace
from typing import Any

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.directory import Directory, GroupMembers, Person, expand
from gwsync.testing.org import Org, sample_org


def directory_of(org: Org) -> Directory:
    """What a source reading `org` returns: every user, every group's direct members, and the
    transitive members of every group (external members, like reseller@partner.example, left out)."""
    people = {
        u.id: Person(
            id=u.id,
            primary_email=u.primary_email,
            given_name=u.given_name,
            family_name=u.family_name,
            suspended=u.suspended,
            archived=u.archived,
        )
        for u in org.users
    }
    ids = {u.primary_email.lower(): u.id for u in org.users}
    groups = {g.email.lower() for g in org.groups}
    nesting = {
        g.email.lower(): GroupMembers(
            users=frozenset(ids[m.lower()] for m in g.members if m.lower() in ids),
            groups=tuple(m.lower() for m in g.members if m.lower() in groups),
        )
        for g in org.groups
    }
    transitive = {email: expand(nesting, email, people) for email in nesting}
    return Directory(org.customer.id, org.customer.primary_domain, people, transitive, (), nesting)


def sample_directory() -> Directory:
    return directory_of(sample_org())


def without(directory: Directory, group: str, person_id: str) -> Directory:
    """`directory` after `person_id` is taken out of `group` (direct membership)."""
    nesting = dict(directory.nesting)
    nesting[group] = replace(nesting[group], users=nesting[group].users - {person_id})
    transitive = {email: expand(nesting, email, directory.people) for email in nesting}
    return replace(directory, nesting=nesting, groups=transitive)


def sample_spec(**overrides: Any) -> GoogleProvisioningSpec:
    document: dict[str, Any] = {
        "google": {"adminEmail": "admin@acme.example", "credentialsSecretRef": {"name": "g", "key": "k"}},
        "target": {"scim": {"url": "http://127.0.0.1/v2", "tokenSecretRef": {"name": "s", "key": "t"}}},
        "teams": {
            "enabled": True,
            "mappings": [
                {"team": "Engineering", "groups": ["engineering@acme.example"]},
                {"team": "Everyone", "groups": ["everyone@acme.example"]},
                {"team": "On-call", "groups": ["sre-oncall@acme.example"]},
            ],
        },
        "deprovision": {"maxPercent": 100},
        **overrides,
    }
    return GoogleProvisioningSpec.model_validate(document)
