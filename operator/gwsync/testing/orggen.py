"""Synthetic organizations of any size, and the demo's "a day later" change.

Deterministic for a seed, so benchmarks and tests see the same org every run. Names mix
plain, accented and non-Latin scripts; emails stay ASCII. Groups nest, with one cycle and
one diamond, some above the 200-member page size, and one external member.
"""

import random

from gwsync.testing.org import Org, OrgCustomer, OrgGroup, OrgUser

GIVEN = (
    "Amélie", "Zoë", "José", "Björn", "Chloé", "François", "Łukasz", "Søren", "Ñandú", "Çağla",
    "Anna", "Ben", "Chen", "Dana", "Eli", "Fatima", "Grace", "Hugo", "Ines", "Jonas",
    "健二", "さくら", "Ελένη", "Дмитрий", "Олена", "محمد", "Priya", "Raúl", "Noémie", "Jürgen",
)  # fmt: skip
FAMILY = (
    "Lefèvre", "Müller", "Núñez", "Østergaard", "Gonçalves", "Wiśniewska", "Dupont", "Smith",
    "Nguyen", "Kowalski", "Rossi", "Svensson", "山田", "佐藤", "Παπαδόπουλος", "Иванов",
    "Шевченко", "Haddad", "Patel", "García", "O'Brien", "Laurent", "Schröder", "Ålund",
)  # fmt: skip
ASCII = str.maketrans(
    "áàâäãåçéèêëíìîïñóòôöõøúùûüýÿœæßłńśźżğşÁÀÂÄÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕØÚÙÛÜÝŁŃŚŹŻĞŞ",
    "aaaaaaceeeeiiiinoooooouuuuyyoaslnszzgsAAAAAACEEEEIIIINOOOOOOUUUUYLNSZZGS",
)
TITLES = ("Engineer", "Senior Engineer", "Designer", "Account Executive", "Manager", "Analyst", "Recruiter")
DEPARTMENTS = ("R&D", "Sales", "Design", "People", "Finance", "Support")


def slug(text: str, fallback: str) -> str:
    """An ASCII local-part for a name (non-Latin names fall back to a stable word)."""
    ascii_text = "".join(ch for ch in text.translate(ASCII).lower() if ch.isascii() and ch.isalnum())
    return ascii_text or fallback


def generate_org(users: int, *, groups: int = 0, seed: int = 0, domain: str = "example.com") -> Org:
    """An org of `users` people and `groups` groups, the same for the same arguments."""
    rng = random.Random(seed)
    people = [
        OrgUser(
            id="100000000000000000000", primary_email=f"admin@{domain}", given_name="Ada", family_name="Admin"
        )
    ]
    for index in range(1, users):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        roll = rng.random()
        photo = rng.random() < 0.5
        people.append(
            OrgUser(
                id=f"1{index:020d}",
                primary_email=f"{slug(given, 'user')}.{slug(family, 'person')}{index}@{domain}",
                given_name=given,
                family_name=family,
                suspended=roll < 0.02,
                archived=0.02 <= roll < 0.03,
                title=rng.choice(TITLES),
                department=rng.choice(DEPARTMENTS),
                employee_type="Contractor" if roll > 0.95 else "Temp" if roll > 0.93 else "Employee",
                photo_url=f"https://photos.example/{index}" if photo else None,
                photo_etag=f"etag-{rng.randrange(1 << 30):x}" if photo else None,
            )
        )
    return Org(
        customer=OrgCustomer(id=f"C0{seed:07d}", primary_domain=domain),
        admins=[f"admin@{domain}"],
        users=people,
        groups=_groups(people, groups, rng, domain),
    )


def _groups(people: list[OrgUser], count: int, rng: random.Random, domain: str) -> list[OrgGroup]:
    if count <= 0:
        return []
    emails = [f"team-{n:04d}@{domain}" for n in range(count)]
    members: list[list[str]] = [[] for _ in range(count)]
    for user in people:  # each user in one to three groups
        for group in rng.sample(range(count), k=min(count, rng.randint(1, 3))):
            members[group].append(user.primary_email)
    if count >= 2:  # a cycle: 0 -> 1 -> 0
        members[0].append(emails[1])
        members[1].append(emails[0])
    if count >= 4:  # a diamond: 2 -> {0, 3}, 3 -> 0
        members[2] += [emails[0], emails[3]]
        members[3].append(emails[0])
    members[-1].append("someone@partner.example")  # an external member
    return [
        OrgGroup(email=e, name=f"Team {n:04d}", members=m)
        for n, (e, m) in enumerate(zip(emails, members, strict=True))
    ]


def next_day(org: Org) -> tuple[Org, list[str]]:
    """A hire, a departure, a rename, a team move and a title change, described in English."""
    new = org.model_copy(deep=True)
    admins = {a.lower() for a in new.admins}
    active = [
        u for u in new.users if not u.suspended and not u.archived and u.primary_email.lower() not in admins
    ]
    if len(active) < 4 or len(new.groups) < 2:
        raise ValueError("next_day needs at least four active users and two groups")
    first, second = new.groups[0], new.groups[1]
    domain = new.customer.primary_domain

    hire = OrgUser(
        id="199999999999999999999",
        primary_email=f"noemie.laurent@{domain}",
        given_name="Noémie",
        family_name="Laurent",
        title="Engineer",
        department="R&D",
    )
    new.users.append(hire)
    first.members.append(hire.primary_email)

    leaver = active[-1]
    new.users.remove(leaver)
    for group in new.groups:
        group.members = [m for m in group.members if m.lower() != leaver.primary_email.lower()]

    renamed = active[0]  # a married name: new family name, new primary email, same person
    old_email = renamed.primary_email
    taken = {u.primary_email.lower() for u in new.users}
    candidate = f"{slug(renamed.given_name, 'user')}.martin@{domain}"
    renamed.primary_email = candidate if candidate not in taken else f"{renamed.id}.martin@{domain}"
    renamed.family_name = "Martin"
    for group in new.groups:
        group.members = [
            renamed.primary_email if m.lower() == old_email.lower() else m for m in group.members
        ]

    mover = next((u for u in active[1:-1] if u.primary_email in second.members), active[1])
    second.members = [m for m in second.members if m != mover.primary_email]
    if mover.primary_email not in first.members:
        first.members.append(mover.primary_email)

    promoted = next(u for u in active[1:-1] if u is not mover) if len(active) > 3 else mover
    promoted.title = f"Lead {promoted.title or 'Engineer'}"

    return new, [
        f"Hired {hire.given_name} {hire.family_name} ({hire.primary_email}) into {first.email}",
        f"{leaver.given_name} {leaver.family_name} ({leaver.primary_email}) left the company",
        f"{old_email} was renamed to {renamed.primary_email}",
        f"{mover.given_name} {mover.family_name} moved from {second.email} to {first.email}",
        f"{promoted.given_name} {promoted.family_name} is now {promoted.title}",
    ]
