"""The synthetic org generator and the bundled sample organization (what the demo serves)."""

from gwsync.testing.org import Org, sample_org
from gwsync.testing.orggen import generate_org, next_day


def test_same_seed_same_org_and_round_trips_through_yaml() -> None:
    org = generate_org(300, groups=12, seed=7)
    assert org == generate_org(300, groups=12, seed=7)
    assert org != generate_org(300, groups=12, seed=8)
    assert Org.from_yaml(org.to_yaml()) == org


def test_generated_org_is_messy_like_a_real_one() -> None:
    org = generate_org(2000, groups=20, seed=1)
    names = " ".join(f"{u.given_name} {u.family_name}" for u in org.users)
    assert any(not ch.isascii() and ch.isalpha() and ord(ch) < 0x250 for ch in names)  # accented Latin
    assert any(ord(ch) > 0x370 for ch in names)  # Greek, Cyrillic, Arabic, CJK
    assert all(u.primary_email.isascii() for u in org.users)
    types = {u.employee_type for u in org.users}
    assert {"Contractor", "Temp", "Employee"} <= types
    assert any(u.suspended for u in org.users) and any(u.archived for u in org.users)
    by_email = {g.email: g for g in org.groups}
    assert "team-0001@example.com" in by_email["team-0000@example.com"].members  # cycle 0 <-> 1
    assert "team-0000@example.com" in by_email["team-0001@example.com"].members
    assert max(len(g.members) for g in org.groups) > 200  # more than one members page
    assert "someone@partner.example" in org.groups[-1].members


def test_sample_org_has_what_the_demo_shows() -> None:
    org = sample_org()
    assert org.customer.primary_domain == "acme.example"
    assert 30 <= len(org.users) <= 60
    assert any(u.suspended for u in org.users) and any(u.archived for u in org.users)
    assert any(u.employee_type == "Contractor" for u in org.users)
    assert org.user("amelie.lefevre@acme.example").given_name == "Amélie"
    assert "platform@acme.example" in org.group("engineering@acme.example").members
    assert "reseller@partner.example" in org.group("sales@acme.example").members


def test_next_day_is_a_hire_a_departure_a_rename_a_move_and_a_promotion() -> None:
    before = sample_org()
    after, changes = next_day(before)
    assert before == sample_org()  # the original is untouched
    gone = {u.id for u in before.users} - {u.id for u in after.users}
    hired = {u.id for u in after.users} - {u.id for u in before.users}
    assert len(gone) == 1 and len(hired) == 1
    renamed = [
        (b.primary_email, a.primary_email)
        for b in before.users
        for a in after.users
        if a.id == b.id and a.primary_email != b.primary_email
    ]
    assert renamed == [("amelie.lefevre@acme.example", "amelie.martin@acme.example")]
    assert "amelie.martin@acme.example" in after.group("engineering@acme.example").members
    assert changes == [
        "Hired Noémie Laurent (noemie.laurent@acme.example) into engineering@acme.example",
        "Sam Taylor (sam.taylor@acme.example) left the company",
        "amelie.lefevre@acme.example was renamed to amelie.martin@acme.example",
        "Zoë Müller moved from sales@acme.example to engineering@acme.example",
        "José Núñez is now Lead Engineer",
    ]
    assert "zoe.muller@acme.example" not in after.group("sales@acme.example").members
