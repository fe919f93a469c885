"""With from: Groups the reader reads the chosen groups' members, then only their users
(users.get each) when they are few, and the whole listing otherwise: the same people either way."""

import asyncio
from collections.abc import Iterator

import pytest

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.api.report import Action
from gwsync.directory import Directory, Selection
from gwsync.sources.google import GoogleDirectory
from gwsync.sync.engine import SyncOutcome, run_sync
from gwsync.sync.ledger import Ledger
from gwsync.sync.ports import SourceUnavailable
from gwsync.testing.google import Fault, GoogleEmulator, google_emulator_in_thread
from gwsync.testing.memory import MemoryTarget
from gwsync.testing.org import OrgGroup

from .conftest import ADMIN, acme, directory_for

ADA, AMELIE, BJORN = "100000000000000000001", "100000000000000000002", "100000000000000000003"
SUS, ARCH, KENJI = "100000000000000000004", "100000000000000000005", "100000000000000000006"
GONE = "100000000000000000999"  # in the ledger, deleted from Google since
TEAMS = ["eng@acme.example"]  # a team's group, not a chosen one
FIELDS = ("phones[type=work].value", "organizations.costCenter")


@pytest.fixture(scope="module")
def big() -> Iterator[GoogleEmulator]:
    """acme with 600 more users (two pages of users.list), a group holding all of them, one
    holding the whole customer, and one of a single member."""
    org = acme(extra_users=600)
    many = OrgGroup(email="all-staff@acme.example", members=[u.primary_email for u in org.users[6:]])
    everyone = OrgGroup(email="everyone@acme.example", members=[org.customer.id])
    solo = OrgGroup(email="solo@acme.example", members=["bjorn@acme.example"])
    groups = [*org.groups, many, everyone, solo]
    with google_emulator_in_thread(org.model_copy(update={"groups": groups})) as served:
        yield served


def reader(emulator: GoogleEmulator, fetch_limit: int = 64) -> GoogleDirectory:
    directory = directory_for(emulator)
    directory.fetch_limit = fetch_limit
    return directory


def counted(emulator: GoogleEmulator) -> tuple[int, int]:
    """(users.list requests, users.get requests) since the log was cleared."""
    users = emulator.requests("users")
    return sum(r.path.endswith("/users") for r in users), sum(not r.path.endswith("/users") for r in users)


def assert_same_for_the_chosen(part: Directory, full: Directory, chosen: str, known: set[str]) -> None:
    """What a sync of `chosen` reads of a Directory is the same in both."""
    members = full.groups[chosen]
    assert part.groups[chosen] == members
    for gid in members | known:
        assert part.people.get(gid) == full.people.get(gid)
    for group in TEAMS:
        assert part.groups[group] & members == full.groups[group] & members
    assert part.notes == full.notes
    assert (part.complete, full.complete) == (False, True)


def test_a_few_members_are_read_one_by_one_and_read_as_the_listing_reads_them(big: GoogleEmulator) -> None:
    known = {ADA, GONE}  # ADA: managed, in no chosen group; GONE: deleted from Google
    big.log.clear()
    full = reader(big).read(["sales@acme.example", *TEAMS], FIELDS)
    listed = big.requests("users")[0].params
    big.log.clear()
    selection = Selection(("sales@acme.example",), known=frozenset(known))
    pages: list[int] = []
    part = reader(big).read(
        ["sales@acme.example", *TEAMS], FIELDS, lambda page: pages.append(len(page)), selection
    )
    assert_same_for_the_chosen(part, full, "sales@acme.example", known)
    # sales: bjorn, suspended sam, archived ari (kept: includeSuspended decides) and an outsider
    assert part.groups["sales@acme.example"] == {BJORN, SUS, ARCH}
    assert set(part.people) == {BJORN, SUS, ARCH, ADA}
    assert part.notes == (
        "pat@partner.example (in sales@acme.example) is not a user of this organization and was ignored.",
    )
    assert pages == [4]
    # No listing: one users.get per member (the outsider too) and per known user.
    assert counted(big) == (0, 6)
    for get in big.requests("users"):  # the same user resource as the listing's
        assert "users(" + get.params["fields"] + ")" in listed["fields"]
        assert get.params["projection"] == listed["projection"]


def test_many_members_or_the_whole_customer_are_read_by_the_listing(big: GoogleEmulator) -> None:
    full = reader(big).read(["sales@acme.example"])
    for group, limit in (
        ("all-staff@acme.example", 64),
        ("sales@acme.example", 3),
        ("everyone@acme.example", 64),
    ):
        big.log.clear()
        part = reader(big, limit).read([group], (), None, Selection((group,), known=frozenset({GONE})))
        assert counted(big) == (2, 0), group
        assert part.complete and part.people == full.people
        assert part.groups[group] == reader(big).read([group]).groups[group]


def test_a_user_google_will_not_show_makes_the_read_list_everyone(big: GoogleEmulator) -> None:
    big.faults.append(Fault(api="users", status=403, reason="forbidden", times=1))
    big.log.clear()
    part = reader(big).read(["sales@acme.example"], (), None, Selection(("sales@acme.example",)))
    assert part.complete and len(part.people) == 606
    assert part.groups["sales@acme.example"] == {BJORN, SUS, ARCH}
    assert counted(big)[0] == 2


def test_a_member_that_cannot_be_read_fails_the_read(big: GoogleEmulator) -> None:
    big.faults.append(Fault(api="users", status=503, reason="backendError"))
    try:
        with pytest.raises(SourceUnavailable) as failed:
            reader(big).read(["mobile@acme.example"], (), None, Selection(("mobile@acme.example",)))
    finally:
        big.faults.clear()
    assert str(failed.value) in {
        f"Reading user {email} failed after 5 attempts: HTTP 503 backendError: Backend Error."
        for email in ("amelie@acme.example", "bjorn@acme.example", "kenji@acme.example")
    }


def test_a_group_query_selects_groups_and_one_that_selects_none_fails(big: GoogleEmulator) -> None:
    big.log.clear()
    part = reader(big).read([], (), None, Selection((), "name:'Mob*'"))
    assert part.found == ("mobile@acme.example",)
    # mobile holds bjorn and core; core holds kenji and eng (platform: amelie): a cycle back
    assert part.groups["mobile@acme.example"] == {BJORN, KENJI, AMELIE}
    assert set(part.people) == {BJORN, KENJI, AMELIE}
    assert [r.params["query"] for r in big.requests("groups")] == ["name:'Mob*'"]
    with pytest.raises(SourceUnavailable) as failed:
        reader(big).read([], (), None, Selection((), "email:tema*"))
    assert str(failed.value) == (
        "members.groupQuery 'email:tema*' selects no group of this Google Workspace organization; fix "
        "the query (gwsync groups search shows the groups a text finds)."
    )


def test_a_group_query_chooses_who_is_synced_end_to_end(big: GoogleEmulator) -> None:
    def sync(query: str, ledger: Ledger) -> SyncOutcome:
        document = {
            "google": {"adminEmail": ADMIN, "credentialsSecretRef": {"name": "g", "key": "k"}},
            "target": {"scim": {"url": "http://127.0.0.1/v2", "tokenSecretRef": {"name": "s", "key": "t"}}},
            "members": {"from": "Groups", "groupQuery": query},
            "deprovision": {"maxPercent": 100},
        }
        spec = GoogleProvisioningSpec.model_validate(document)
        return asyncio.run(run_sync(reader(big), target, spec, ledger))

    target = MemoryTarget()
    first = sync("name:'Mob*'", Ledger())
    assert sorted(user.user_name for user in target.users.values()) == [
        "amelie@acme.example",
        "bjorn@acme.example",
        "kenji@acme.example",
    ]
    big.log.clear()
    second = sync("email:sales*", first.ledger)
    assert counted(big) == (0, 6)  # bjorn, sam, ari, the outsider; amelie and kenji from the ledger
    removed = {item.key: item.details for item in second.items if item.action is Action.DEPROVISION}
    assert removed == {
        "amelie@acme.example": "No longer in the chosen groups; deactivated (active=false).",
        "kenji@acme.example": "No longer in the chosen groups; deactivated (active=false).",
    }


def test_the_limit_counts_each_user_once_known_and_member_alike(big: GoogleEmulator) -> None:
    sales = frozenset({BJORN, SUS, ARCH})  # and the outsider: 4 members, 3 of them known
    for known, limit, plan in ((sales | {ADA}, 5, (0, 5)), (sales | {ADA, GONE}, 5, (2, 0))):
        big.log.clear()
        reader(big, limit).read(
            ["sales@acme.example"], (), None, Selection(("sales@acme.example",), None, known)
        )
        assert counted(big) == plan


def test_a_provisioned_member_google_says_is_gone_is_left_to_the_listing(big: GoogleEmulator) -> None:
    # members.list still names bjorn, users.get says 404: the answers disagree, and a departure
    # must not come of it. The listing decides (here: he is there).
    big.faults.append(Fault(api="users", status=404, reason="notFound", times=1))
    big.log.clear()
    selection = Selection(("solo@acme.example",), None, frozenset({BJORN}))
    part = reader(big).read(["solo@acme.example"], (), None, selection)
    assert counted(big) == (2, 1)
    assert part.complete and part.groups["solo@acme.example"] == {BJORN}
