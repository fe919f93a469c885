"""The small organization the operator tests sync: three people, one group, and optional filler."""

import hashlib

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
