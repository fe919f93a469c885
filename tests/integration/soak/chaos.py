"""A seeded chaos soak: an organization that changes between syncs, faults on every side, and the
invariants checked after every sync (issue 13, point 2).

Each round evolves the organization (hires, leavers, renames, team moves, re-hires, title
changes, returns), arms zero to two faults at random, and runs one sync the way the operator
does: a fresh Google reader (the real googleapiclient) against the Google Directory emulator and
a fresh SCIM client against scim2-server, with the ledger the previous sync stored. A "kill" is
the process dying mid-write: the sync task is cancelled while scim2-server serves its Nth write
(which it applies; the client never reads the answer), and the next sync starts from the last
ledger checkpoint, as a restarted operator does. After every sync that finished:

- no Google id has more than one user in the target;
- the users and group gwsync does not manage are exactly as seeded;
- every ledger entry names a target user carrying that Google id (a killed process may have
  written past its last checkpoint: the next sync that plans repairs the ledger; one that
  cannot read Google or the target leaves it exactly as it was);
- a sync that could not read Google wrote nothing;
- every active person is in the target, active, with their email and names, unless an item of
  the report names them as failed; every managed leaver is deactivated, likewise;
- every mapped team holds exactly the active people of its groups (nested groups expanded),
  except people a failed item names.

The run ends with two fault-free syncs: the first converges completely, the second writes
nothing. Everything random comes from one seed: a failing run prints it, and
`GWSYNC_SOAK_SEED=<seed>` replays it.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.api.report import ItemType, Result
from gwsync.sources.google import GoogleDirectory
from gwsync.sync.engine import SyncOutcome, run_sync
from gwsync.sync.ledger import Ledger
from gwsync.targets.scim import ScimTarget
from gwsync.testing import google as g
from gwsync.testing import scim as s
from gwsync.testing.google import GoogleEmulator
from gwsync.testing.org import Org, OrgGroup, OrgUser
from gwsync.testing.orggen import generate_org
from gwsync.testing.scim import ScimServer

DOMAIN = "soak.example"
ADMIN = f"admin@{DOMAIN}"
TEAMS = {"Platform": "team-0000", "Product": "team-0002"}  # team-0002 nests team-0000 and team-0003
UNMANAGED_USER = "contractor@partner.example"
UNMANAGED_GROUP = "Partners (managed elsewhere)"
FAULT_KINDS = (
    "google 429/5xx burst",
    "google members unreadable",
    "google token endpoint down",
    "scim 429 with Retry-After",
    "scim 429 without Retry-After",
    "scim 5xx burst",
    "scim write applied, answer lost",
    "scim conflict on one user",
    "operator killed mid-write",
)


class Killed(Exception):
    """The operator process died (the sync task was cancelled mid-write)."""


def soak_spec() -> GoogleProvisioningSpec:
    mappings = [{"team": team, "groups": [f"{group}@{DOMAIN}"]} for team, group in TEAMS.items()]
    return GoogleProvisioningSpec.model_validate(
        {
            "google": {"adminEmail": ADMIN, "credentialsSecretRef": {"name": "g", "key": "k"}},
            "target": {"scim": {"url": "http://127.0.0.1/v2", "tokenSecretRef": {"name": "s", "key": "t"}}},
            "teams": {"enabled": True, "mappings": mappings},
            "deprovision": {"maxPercent": 100, "maxCount": 10000},
        }
    )


@dataclass
class Figures:
    """What a soak did, for the test's output and docs/reliability.md."""

    seed: int
    syncs: int = 0
    phases: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    checks: int = 0
    failed_items: int = 0

    def text(self) -> str:
        faults = ", ".join(f"{kind}: {n}" for kind, n in sorted(self.faults.items()))
        events = ", ".join(f"{kind}: {n}" for kind, n in sorted(self.events.items()))
        phases = ", ".join(f"{kind}: {n}" for kind, n in sorted(self.phases.items()))
        return (
            f"seed {self.seed}: {self.syncs} syncs ({phases}); faults injected: {faults}; "
            f"org changes: {events}; {self.checks} invariant checks, 0 failed; "
            f"{self.failed_items} items failed by faults and recovered"
        )


class Violation(AssertionError):
    """An invariant does not hold; the message says which, after which sync, and the seed."""


class Soak:
    def __init__(self, seed: int, google: GoogleEmulator, scim: ScimServer, users: int = 40) -> None:
        self.rng = random.Random(seed)
        self.google = google
        self.scim = scim
        self.spec = soak_spec()
        self.org = generate_org(users, groups=4, seed=seed, domain=DOMAIN)
        self.google.org = self.org
        self.ledger = Ledger.empty()
        self.started_with = self.ledger  # the ledger the last sync was given
        self.after_kill = False  # the last sync that ran to its end was killed
        self.figures = Figures(seed)
        self.serial = 0
        self.departed: list[OrgUser] = []  # deleted accounts whose email may come back (re-hire)
        self.unmanaged = self._seed_unmanaged()

    # -- the unmanaged objects, seeded once and compared after every sync --------------------------

    def _seed_unmanaged(self) -> tuple[dict[str, Any], dict[str, Any]]:
        user_id = self.scim.seed_user(
            UNMANAGED_USER, externalId="another-tool-7", name={"givenName": "Pat", "familyName": "Partner"}
        )
        self.scim.seed_group(UNMANAGED_GROUP, [user_id])
        return self._unmanaged_now()

    def _unmanaged_now(self) -> tuple[dict[str, Any], dict[str, Any]]:
        [user] = [u for u in self.scim.users() if u["userName"] == UNMANAGED_USER]
        [group] = [x for x in self.scim.groups() if x["displayName"] == UNMANAGED_GROUP]
        return _without_meta(user), _without_meta(group)

    # -- the organization changes -----------------------------------------------------------------

    def evolve(self) -> None:
        org = self.org.model_copy(deep=True)
        for _ in range(self.rng.randint(1, 4)):
            kind = self.rng.choice(("hire", "leave", "rename", "move", "rehire", "title", "return"))
            if getattr(self, f"_{kind}")(org):
                self.figures.events[kind] += 1
        self.org = org
        self.google.org = org

    def _people(self, org: Org, *, active: bool = True) -> list[OrgUser]:
        return [
            u for u in org.users if u.primary_email != ADMIN and (not (u.suspended or u.archived)) == active
        ]

    def _email(self, stem: str) -> str:
        self.serial += 1
        return f"{stem}{self.serial}@{DOMAIN}"

    def _hire(self, org: Org) -> bool:
        person = OrgUser(
            id=f"3{self.rng.randrange(10**19):020d}",
            primary_email=self._email("new.hire"),
            given_name=self.rng.choice(("Zoë", "Jürgen", "さくら", "Олена", "Ben")),
            family_name=self.rng.choice(("Núñez", "Ålund", "山田", "O'Brien")),
            title="Engineer",
        )
        org.users.append(person)
        self.rng.choice(org.groups).members.append(person.primary_email)
        return True

    def _leave(self, org: Org) -> bool:
        people = self._people(org)
        if len(people) < 5:
            return False
        person = self.rng.choice(people)
        if self.rng.random() < 0.5:
            person.suspended = True
        else:  # the account is deleted: gone from the users and from every group
            org.users.remove(person)
            for group in org.groups:
                group.members = [m for m in group.members if m != person.primary_email]
            self.departed.append(person)
        return True

    def _rename(self, org: Org) -> bool:
        people = self._people(org)
        if not people:
            return False
        person = self.rng.choice(people)
        old, person.primary_email = person.primary_email, self._email("renamed")
        person.family_name = self.rng.choice(("Martin", "Dupont", "Svensson"))
        for group in org.groups:
            group.members = [person.primary_email if m == old else m for m in group.members]
        return True

    def _move(self, org: Org) -> bool:
        people = self._people(org)
        if not people:
            return False
        person = self.rng.choice(people)
        source: list[OrgGroup] = [x for x in org.groups if person.primary_email in x.members]
        for group in source:
            group.members.remove(person.primary_email)
        self.rng.choice(org.groups).members.append(person.primary_email)
        return True

    def _rehire(self, org: Org) -> bool:
        taken = {u.primary_email for u in org.users}
        back = [p for p in self.departed if p.primary_email not in taken]
        if not back:
            return False
        former = self.rng.choice(back)
        self.departed.remove(former)
        org.users.append(
            former.model_copy(update={"id": f"4{self.rng.randrange(10**19):020d}", "suspended": False})
        )  # a new Google account with the former email: the target user is adopted
        self.rng.choice(org.groups).members.append(former.primary_email)
        return True

    def _title(self, org: Org) -> bool:
        people = self._people(org)
        if not people:
            return False
        self.rng.choice(people).title = self.rng.choice(("Lead Engineer", "Designer", "Analyst", "Manager"))
        return True

    def _return(self, org: Org) -> bool:
        away = [u for u in self._people(org, active=False) if u.suspended]
        if not away:
            return False
        self.rng.choice(away).suspended = False
        return True

    # -- faults -------------------------------------------------------------------------------------

    def arm(self) -> tuple[list[str], int | None]:
        """Faults for the next sync; returns their kinds and the write that kills the operator."""
        kinds = self.rng.sample(FAULT_KINDS, k=self.rng.choice((0, 1, 1, 2)))
        google: list[g.Fault] = []
        scim: list[s.Fault] = []
        kill: int | None = None
        for kind in kinds:
            if kind == "google 429/5xx burst":
                status = self.rng.choice((429, 500, 503))
                api = self.rng.choice(("users", "groups", "members"))
                google.append(
                    g.Fault(status, reason="rateLimitExceeded", api=api, times=self.rng.randint(1, 2))
                )
            elif kind == "google members unreadable":
                google.append(g.Fault(503, api="members", times=None))
            elif kind == "google token endpoint down":
                google.append(g.Fault(503, api="token", times=None))
            elif kind.startswith("scim 429"):
                retry_after = "0" if kind.endswith("with Retry-After") else None
                scim.append(
                    s.Fault(
                        429,
                        method=self._write_method(),
                        retry_after=retry_after,
                        times=self.rng.randint(1, 3),
                    )
                )
            elif kind == "scim 5xx burst":
                scim.append(
                    s.Fault(
                        self.rng.choice((500, 502, 503)),
                        method=self._write_method(),
                        times=self.rng.randint(1, 2),
                    )
                )
            elif kind == "scim write applied, answer lost":
                scim.append(s.Fault(504, method="POST", path="/Users", applied=True, times=1))
            elif kind == "scim conflict on one user":
                scim.append(s.Fault(409, method="POST", path="/Users", scim_type="uniqueness", times=1))
            else:
                kill = self.rng.randint(1, 6)
        self.google.faults = google
        self.scim.set_faults(scim)
        return kinds, kill

    def _write_method(self) -> str:
        return self.rng.choice(("POST", "PATCH", "PUT"))

    def disarm(self) -> None:
        self.google.faults = []
        self.scim.set_faults([])
        self.scim.set_interleaves([])

    # -- one sync -----------------------------------------------------------------------------------

    async def sync(self, kill_at: int | None = None) -> SyncOutcome | None:
        """One sync as a fresh operator process runs it; None when it was killed."""
        stored = self.started_with = self.ledger

        async def checkpoint(ledger: Ledger) -> None:
            nonlocal stored
            stored = ledger

        reader = GoogleDirectory.from_service_account_key(
            self.google.service_account_key(),
            admin_email=ADMIN,
            api_endpoint=self.google.url,
            retry_base=0.01,
            max_attempts=3,
        )
        self.scim.reset_log()
        async with ScimTarget(self.scim.url, self.scim.token, retry_base=0.01, max_attempts=4) as target:
            task = asyncio.ensure_future(
                run_sync(reader, target, self.spec, self.ledger, checkpoint=checkpoint)
            )
            if kill_at is not None:
                self.scim.set_interleaves(_killer(asyncio.get_running_loop(), task, kill_at))
            try:
                outcome = await task
            except asyncio.CancelledError:
                if not task.cancelled():
                    raise
                self.ledger = stored  # what the dead process had checkpointed
                self.after_kill = True
                await self._quiet()  # what it had sent is still served: wait, as a restart does
                self.figures.phases["Killed"] += 1
                return None
            finally:
                self.scim.set_interleaves([])
        self.ledger = outcome.ledger
        self.figures.phases[outcome.phase] += 1
        self.figures.failed_items += sum(1 for i in outcome.items if i.result is Result.FAILED)
        return outcome

    async def _quiet(self, seconds: float = 30) -> None:
        """Wait until scim2-server has answered every request a killed sync had sent."""
        deadline = asyncio.get_running_loop().time() + seconds
        while self.scim.injector.in_flight:
            if asyncio.get_running_loop().time() > deadline:
                raise Violation(f"scim2-server still serves a killed sync's requests after {seconds} s")
            await asyncio.sleep(0.01)

    # -- invariants ---------------------------------------------------------------------------------

    def check(self, outcome: SyncOutcome, label: str, *, converged: bool = False) -> None:
        def holds(condition: bool, what: str) -> None:
            self.figures.checks += 1
            if not condition:
                raise Violation(
                    f"after {label} (seed {self.figures.seed}): {what}; sync said: {outcome.message}"
                )

        users = self.scim.users()
        by_id = {u["id"]: u for u in users}
        holds(
            outcome.phase in ("Succeeded", "PartiallySucceeded", "Failed"), f"the sync ended {outcome.phase}"
        )
        external = Counter(u.get("externalId") for u in users if u.get("externalId"))
        holds(not [x for x, n in external.items() if n > 1], f"duplicate users for {external.most_common(3)}")
        holds(self._unmanaged_now() == self.unmanaged, "an unmanaged user or group changed")
        if not outcome.items and self.after_kill:
            # A killed process may have written past its last checkpoint (an adoption that
            # moved a user to another Google id): its ledger is repaired by the next sync that
            # reads both sides and plans. One that could not read them keeps it as it was.
            holds(self.ledger == self.started_with, "a sync that planned nothing changed the ledger")
        else:
            self.after_kill = False
            for google_id, target_id in self.ledger.users.items():
                holds(
                    by_id.get(target_id, {}).get("externalId") == google_id,
                    f"the ledger maps {google_id} to {target_id}, which is not that user",
                )
        if outcome.message.startswith("Google could not be read completely"):
            holds(self.scim.writes == [], f"a sync that could not read Google wrote {self.scim.writes[:3]}")
        if outcome.phase == "Failed":
            return  # the report says the sync failed; the next one must converge
        failed = {i.source_id for i in outcome.items if i.result is Result.FAILED and i.source_id}
        failed |= {
            i.key.rpartition("/")[2]
            for i in outcome.items
            if i.result is Result.FAILED and i.type is ItemType.MEMBERSHIP
        }
        holds(not converged or not failed, f"a fault-free sync failed items {sorted(failed)[:5]}")
        by_external = {u["externalId"]: u for u in users if u.get("externalId")}
        for person in self.org.users:
            user = by_external.get(person.id)
            if person.suspended or person.archived or person.id in failed or person.primary_email in failed:
                continue
            holds(user is not None, f"{person.primary_email} ({person.id}) is not in the target")
            assert user is not None
            holds(
                user["userName"] == person.primary_email,
                f"{person.id} is {user['userName']}, not {person.primary_email}",
            )
            holds(user.get("active") is True, f"{person.primary_email} is not active")
            name = user.get("name") or {}
            holds(
                (name.get("givenName"), name.get("familyName")) == (person.given_name, person.family_name),
                f"{person.primary_email} is named {name}",
            )
        present = {u.id for u in self.org.users if not (u.suspended or u.archived)}
        for google_id, target_id in self.ledger.users.items():
            if google_id not in present and google_id not in failed and google_id not in self.ledger.pending:
                holds(
                    by_id[target_id].get("active") is False,
                    f"leaver {by_id[target_id]['userName']} is active",
                )
        failed_teams = {i.key for i in outcome.items if i.result is Result.FAILED and i.type is ItemType.TEAM}
        for team, group in TEAMS.items():
            if team not in failed_teams:
                self._check_team(holds, team, group, users, failed)

    def _check_team(
        self,
        holds: Callable[[bool, str], None],
        team: str,
        group: str,
        users: list[dict[str, Any]],
        failed: set[str],
    ) -> None:
        # People compared by Google id (externalId): a failed rename leaves the old userName.
        who = {u["id"]: u.get("externalId") or u["userName"] for u in users}
        found = next((x for x in self.scim.groups() if x["displayName"] == team), {})
        members = {who.get(m["value"], m["value"]) for m in found.get("members") or []}
        ids = {u.primary_email: u.id for u in self.org.users}
        wanted = {ids[email] for email in expand(self.org, f"{group}@{DOMAIN}")}
        unsure = {ids.get(x, x) for x in failed}
        holds(
            members - unsure == wanted - unsure,
            f"team {team} has {sorted(members - wanted)[:3]} extra, {sorted(wanted - members)[:3]} missing",
        )


def expand(org: Org, group: str) -> set[str]:
    """The active people a group holds, nested groups included (cycles allowed)."""
    groups = {x.email: x for x in org.groups}
    active = {u.primary_email for u in org.users if not (u.suspended or u.archived)}
    seen: set[str] = set()
    found: set[str] = set()
    todo = [group]
    while todo:
        email = todo.pop()
        if email in seen:
            continue
        seen.add(email)
        for member in groups[email].members:
            if member in groups:
                todo.append(member)
            elif member in active:
                found.add(member)
    return found


def _killer(loop: asyncio.AbstractEventLoop, task: asyncio.Future[Any], at: int) -> list[s.Interleave]:
    """Interleaves that cancel `task` while scim2-server serves the `at`-th write."""
    writes = 0

    def count() -> None:
        nonlocal writes
        writes += 1
        if writes == at:
            loop.call_soon_threadsafe(task.cancel)

    return [s.Interleave(count, method=method, times=None) for method in ("POST", "PUT", "PATCH", "DELETE")]


def _without_meta(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != "meta"}
