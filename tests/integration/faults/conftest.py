"""The fault matrix's world: both real clients, each behind a fault-injecting proxy.

The Google emulator (Directory API and token endpoint) and scim2-server run as in every other
test; a `FaultProxy` sits in front of each, so every fault is a real HTTP misbehaviour that
the real google-api-python-client, google-auth and httpx meet. The world keeps the ledger
from sync to sync, like the operator does, and knows what the target must look like, so each
row ends with the same "nothing lost" check (`World.assert_nothing_lost`).
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.api.report import Result
from gwsync.sources.google import GoogleDirectory
from gwsync.sync.engine import SyncOutcome, run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing.faults import FaultProxy, fault_proxy_in_thread
from gwsync.testing.google import GoogleEmulator, google_emulator_in_thread
from gwsync.testing.org import Org, OrgCustomer, OrgGroup, OrgUser
from gwsync.testing.scim import ScimServer, run_scim_server

ADMIN = "admin@acme.example"
ENDED = frozenset({"Succeeded", "PartiallySucceeded", "Failed", "Blocked", "Interrupted"})
TEAMS = {"Engineering": "eng@acme.example", "Sales": "sales@acme.example"}


def person(n: int, **attributes: Any) -> OrgUser:
    values: dict[str, Any] = {
        "given_name": f"Given{n}",
        "family_name": f"Family{n}",
        "title": "Engineer",
        **attributes,
    }
    return OrgUser(id=f"1{n:020d}", primary_email=f"user{n}@acme.example", **values)


def acme(users: int = 8) -> Org:
    """The admin and `users` people; the even ones in eng@, every third in sales@."""
    people = [OrgUser(id="9" * 21, primary_email=ADMIN, given_name="Ada", family_name="Admin")]
    people += [person(n) for n in range(1, users + 1)]
    groups = [
        OrgGroup(
            email=TEAMS["Engineering"], members=[p.primary_email for p in people[1:] if int(p.id) % 2 == 0]
        ),
        OrgGroup(email=TEAMS["Sales"], members=[p.primary_email for p in people[1:] if int(p.id) % 3 == 0]),
    ]
    return Org(
        customer=OrgCustomer(id="C03acme01", primary_domain="acme.example"),
        admins=[ADMIN],
        users=people,
        groups=groups,
    )


def spec() -> GoogleProvisioningSpec:
    return GoogleProvisioningSpec.model_validate(
        {
            "google": {"adminEmail": ADMIN, "credentialsSecretRef": {"name": "g", "key": "k"}},
            "target": {"scim": {"url": "http://127.0.0.1/v2", "tokenSecretRef": {"name": "s", "key": "t"}}},
            "members": {"from": "AllUsers"},
            "teams": {
                "enabled": True,
                "mappings": [{"team": team, "groups": [group]} for team, group in TEAMS.items()],
            },
            "deprovision": {"maxPercent": 100},
        }
    )


@dataclass
class World:
    """Google and scim2-server behind their proxies, and the ledger gwsync keeps between syncs."""

    google: GoogleEmulator
    google_proxy: FaultProxy
    scim: ScimServer
    scim_proxy: FaultProxy
    ledger: Ledger = field(default_factory=Ledger.empty)
    unmanaged: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    seconds: float = 0.0
    """How long the last sync took (wall clock)."""

    # -- running syncs -------------------------------------------------------------------------------

    def reader(self, **options: Any) -> GoogleDirectory:
        """The real Google reader, its token endpoint and API both through the proxy."""
        key = self.google.service_account().key_json(f"{self.google_proxy.url}/token")
        settings: dict[str, Any] = {"retry_base": 0.01, "max_attempts": 4, "timeout": 5.0, **options}
        return GoogleDirectory.from_service_account_key(
            key, admin_email=ADMIN, api_endpoint=self.google_proxy.url, **settings
        )

    async def sync(
        self, *, google: dict[str, Any] | None = None, target: dict[str, Any] | None = None
    ) -> SyncOutcome:
        """One sync as the operator runs it: fresh clients, the ledger carried over."""
        options: dict[str, Any] = {"retry_base": 0.01, "timeout": 5.0, **(target or {})}
        started = time.monotonic()
        async with ScimTarget(self.scim_proxy.url, self.scim.token, **options) as client:
            outcome = await run_sync(self.reader(**(google or {})), client, spec(), self.ledger)
        self.seconds = time.monotonic() - started
        assert outcome.phase in ENDED, outcome.phase
        self.ledger = outcome.ledger
        return outcome

    def clear_faults(self) -> None:
        self.google_proxy.clear()
        self.scim_proxy.clear()

    # -- what the target holds ----------------------------------------------------------------------

    def seed_unmanaged(self) -> None:
        """Objects gwsync must never touch: a user without externalId and an unmapped team."""
        stranger = self.scim.seed_user("contractor@elsewhere.example", active=True, title="Vendor")
        self.scim.seed_group("Board", [stranger])
        self.unmanaged = self.unmanaged_now()

    def unmanaged_now(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "users": sorted(
                (u for u in self.scim.users() if u["userName"] == "contractor@elsewhere.example"),
                key=lambda u: str(u["id"]),
            ),
            "groups": [g for g in self.scim.groups() if g["displayName"] == "Board"],
        }

    def snapshot(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every user and group with its meta (lastModified moves on any write)."""
        by_id = lambda r: str(r["id"])  # noqa: E731
        return sorted(self.scim.users(), key=by_id), sorted(self.scim.groups(), key=by_id)

    def mismatches(self) -> set[str]:
        """Keys (emails, team/email) of what the target does not yet hold as the org says."""
        org = self.google.org
        users = self.scim.users()
        by_external: dict[str, list[dict[str, Any]]] = {}
        for user in users:
            by_external.setdefault(str(user.get("externalId") or ""), []).append(user)
        wrong: set[str] = set()
        for want in org.users:
            found = by_external.get(want.id, [])
            if want.suspended or want.archived:
                if any(u.get("active", True) for u in found):
                    wrong.add(want.primary_email)
                continue
            if len(found) != 1 or not same_person(found[0], want):
                wrong.add(want.primary_email)
        ids = {u["id"]: str(u.get("externalId") or "") for u in users}
        emails = {u.id: u.primary_email for u in org.users}
        groups = {g["displayName"]: g for g in self.scim.groups()}
        for team, group_email in TEAMS.items():
            (group,) = [g for g in org.groups if g.email == group_email]
            want_members = {m for m in group.members if m in emails.values()}  # guests are no one
            have = {
                emails.get(ids.get(m["value"], ""), "?") for m in (groups.get(team) or {}).get("members", [])
            }
            wrong |= {f"{team}/{email}" for email in want_members ^ have}
            if team not in groups:
                wrong.add(team)
        return wrong

    # -- the check every row ends with --------------------------------------------------------------

    def assert_converged(self) -> None:
        """Every managed user matches the org, once; nothing unmanaged changed; the ledger is true."""
        users = self.scim.users()
        external = Counter(str(u["externalId"]) for u in users if u.get("externalId"))
        assert [gid for gid, n in external.items() if n > 1] == [], "a Google id has two target users"
        names = Counter(str(u["userName"]).lower() for u in users)
        assert [name for name, n in names.items() if n > 1] == [], "a userName is held twice"
        assert self.mismatches() == set()
        assert self.unmanaged_now() == self.unmanaged, "an object gwsync does not manage changed"
        by_id = {str(u["id"]): u for u in users}
        for google_id, target_id in self.ledger.users.items():
            assert by_id[target_id].get("externalId") == google_id, (google_id, target_id)
        assert set(self.ledger.users) >= {u.id for u in self.google.org.users}

    async def assert_nothing_lost(
        self,
        faulted: SyncOutcome,
        before: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None,
    ) -> SyncOutcome:
        """The row's ending: the faulted sync ended and named what it left undone; once the
        fault clears, the next sync converges. `before`: the target before the faulted sync,
        when that sync must have written nothing."""
        assert faulted.phase in ENDED
        named = {i.key for i in faulted.items if i.result in (Result.FAILED, Result.SKIPPED)}
        assert all(i.details for i in faulted.items if i.result is Result.FAILED), "a failure without details"
        if faulted.phase != "Succeeded":
            assert faulted.message
        if before is not None:
            assert self.snapshot() == before, "the faulted sync wrote to the target"
        else:
            waiting = self.mismatches()
            unnamed = {key for key in waiting if not ({key, *key.split("/")} & named)}
            assert unnamed == set(), f"not done and not named in the report: {sorted(unnamed)}"
        self.clear_faults()
        following = await self.sync()
        assert following.phase == "Succeeded", following.message
        self.assert_converged()
        return following


def same_person(user: dict[str, Any], want: OrgUser) -> bool:
    name = user.get("name") or {}
    return (
        str(user.get("userName", "")).lower() == want.primary_email.lower()
        and user.get("active", True) is True
        and name.get("givenName") == want.given_name
        and name.get("familyName") == want.family_name
        and user.get("title") == want.title
    )


@pytest.fixture
def org() -> Org:
    return acme()


@pytest.fixture
def google(org: Org) -> Iterator[GoogleEmulator]:
    with google_emulator_in_thread(copy.deepcopy(org)) as emulator:
        yield emulator


@pytest.fixture
def scim() -> Iterator[ScimServer]:
    with run_scim_server() as server:
        yield server


@pytest.fixture
async def world(google: GoogleEmulator, scim: ScimServer) -> AsyncIterator[World]:
    base = scim.url.removesuffix("/v2")
    with fault_proxy_in_thread(google.url) as google_proxy, fault_proxy_in_thread(base, "/v2") as scim_proxy:
        built = World(google, google_proxy, scim, scim_proxy)
        built.seed_unmanaged()
        yield built
