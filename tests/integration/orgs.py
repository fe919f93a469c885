"""What the operator tests sync: a small organization (three people, one group, optional filler) and
the GoogleProvisioning pointing at the emulators."""

import hashlib
from typing import Any

from gwsync.testing.org import Org, OrgCustomer, OrgGroup, OrgUser

ADMIN = "admin@acme.example"


def small_org(users: int = 0) -> Org:
    people = [
        OrgUser(id="100000000000000000001", primary_email=ADMIN, given_name="Ada", family_name="Admin"),
        OrgUser(
            id="100000000000000000002",
            primary_email="amelie@acme.example",
            given_name="Amélie",
            family_name="Poulain",
        ),
        OrgUser(
            id="100000000000000000003",
            primary_email="bjorn@acme.example",
            given_name="Björn",
            family_name="Borg",
        ),
    ]
    people += [
        OrgUser(
            id=f"2{i:020d}",
            primary_email=f"user{i:05d}@acme.example",
            given_name=hashlib.sha256(b"g%d" % i).hexdigest()[:10],  # names that compress like real ones
            family_name=hashlib.sha256(b"f%d" % i).hexdigest()[:12],
            title=hashlib.sha256(b"t%d" % i).hexdigest()[:16],
        )
        for i in range(users)
    ]
    groups = [OrgGroup(email="eng@acme.example", name="Engineering", members=["amelie@acme.example"])]
    return Org(
        customer=OrgCustomer(id="C03acme01", primary_domain="acme.example"),
        admins=[ADMIN],
        users=people,
        groups=groups,
    )


def provisioning_manifest(
    name: str, namespace: str, google_url: str, scim_url: str, **spec: Any
) -> dict[str, Any]:
    """A GoogleProvisioning of the emulated Google organization into the test's SCIM server."""
    base: dict[str, Any] = {
        "google": {
            "adminEmail": ADMIN,
            "credentialsSecretRef": {"name": "google", "key": "key.json"},
            "apiEndpoint": google_url,
        },
        "target": {"scim": {"url": scim_url, "tokenSecretRef": {"name": "scim", "key": "token"}}},
        "members": {"from": "AllUsers"},
        "deprovision": {"maxPercent": 100},
    }
    base.update(spec)
    return {
        "apiVersion": "provisioning.gwsync.io/v1alpha1",
        "kind": "GoogleProvisioning",
        "metadata": {"name": name, "namespace": namespace},
        "spec": base,
    }
