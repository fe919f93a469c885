"""Listing a SCIM target's users and groups, so that every listing ends.

Paging never trusts totalResults to stop: some providers report the page size there. A list
stops on an empty page, or on a page shorter than an earlier one once the ids read reach
totalResults (a first page shorter than the count asked is not "short": providers cap count
silently, so one more page is asked). A page holding only ids already read (startIndex
ignored) stops it too: with a note when the target gives no totalResults, as a failed read
when totalResults counts more than was read (the rest cannot be reached, and a list cut short
must not be planned against). When totalResults and what was read disagree, or paging looks
broken, a sentence goes to `ScimTarget.notes` for the sync report.

Every listing ends: cursor paging remembers each cursor of the listing and fails the read on
one that comes back, or on a page of ids already read that still has a nextCursor; and each
listing may take at most spec.target.scim.listLimits' pages and resources, and keep at most
TEXT_PER_RESOURCE characters of text per resource maxResources allows (`ListingBounds`), so
pages that always bring new ids, or users padded with huge values, fail the read instead of
filling the operator's memory. Over the internet each page is mostly waiting, so once a first
page as long as asked has given totalResults, the pages it implies are asked ahead,
`max_concurrency` at a time, and taken in order with the same rules (`Paging`); a page
shorter than asked before the end drops the pages asked ahead and the rest is read one page
after the other. Cursor paging stays sequential.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from gwsync.api.provisioning import ListLimits
from gwsync.sync.ports import TargetError, TargetGroup, TargetUser
from gwsync.targets.scim.answers import call
from gwsync.targets.scim.discovery import Capabilities
from gwsync.targets.scim.read import group_of, listed_resources, resource_id_of, text, user_reader
from gwsync.targets.scim.transport import ScimTransport
from gwsync.targets.scim.wire import filter_string
from gwsync.text import address_key

Kept = TypeVar("Kept")

NEVER_ENDS = "the listing would never end; gwsync stopped reading it"
TEXT_PER_RESOURCE = 256
"""Characters of text one listing may keep, per resource maxResources allows: a user keeps
about 300 (ids, names, title, department, a photo URL), so 100,000 of them keep about 30
million, and the default budget (51 million) holds a hostile target that pads few users with
huge values to about 50 MB, beside maxResources' 75 MB of minimal users."""


class ListingBounds:
    """One listing's pages, resources and the text they keep, held to
    spec.target.scim.listLimits: a target whose paging never ends fails the read (a TargetError
    naming the limit and the field to raise) instead of being read until the operator runs out
    of memory."""

    def __init__(self, url: str, endpoint: str, kind: str, limits: ListLimits) -> None:
        self.url, self.endpoint, self.kind, self.limits = url, endpoint, kind, limits
        self.pages = 0
        self.text = 0

    def ask_page(self) -> None:
        """Count a page about to be asked; past maxPages, the read fails instead."""
        if self.pages >= self.limits.max_pages:
            raise TargetError(
                f"The SCIM target {self.url} needed more than {self.limits.max_pages} pages to list "
                f"{self.endpoint}, the most gwsync reads in one listing; if it really pages that "
                "finely, raise spec.target.scim.listLimits.maxPages."
            )
        self.pages += 1

    def hold(self, count: int) -> None:
        """`count` resources about to be kept; past maxResources, the read fails instead."""
        if count > self.limits.max_resources:
            raise TargetError(
                f"The SCIM target {self.url} listed more than {self.limits.max_resources} "
                f"{self.kind} at {self.endpoint}, the most gwsync reads in one listing; if it "
                "really holds that many, raise spec.target.scim.listLimits.maxResources."
            )

    def keep(self, kept: Iterable[object]) -> None:
        """Count the text of resources kept; past maxResources' text budget, the read fails.

        Counting resources alone does not bound memory: a target may pad each user with
        megabytes of text (an answer is bounded, a listing's answers together are not)."""
        self.text += sum(map(kept_text, kept))
        budget = self.limits.max_resources * TEXT_PER_RESOURCE
        if self.text > budget:
            raise TargetError(
                f"The SCIM target {self.url} listed {self.kind} at {self.endpoint} carrying more than "
                f"{budget} characters, the most gwsync keeps from one listing ({TEXT_PER_RESOURCE} a "
                "resource on average); if they really carry that much, raise "
                "spec.target.scim.listLimits.maxResources."
            )

    def broken(self, what: str, so: str = NEVER_ENDS) -> TargetError:
        """The read fails: the target's paging cannot be followed to a complete list."""
        answered = f"The SCIM target {self.url} answered {self.endpoint} page {self.pages}"
        return TargetError(f"{answered} {what}, so {so}.")


def kept_text(kept: object) -> int:
    """The characters a listed resource keeps, as `ScimReads._list` keeps it."""
    if isinstance(kept, TargetUser):
        a = kept.attributes
        values = (kept.id, a.user_name, a.external_id, a.given_name, a.family_name, a.display_name)
        more = (a.title, a.department, a.user_type, a.photo, kept.modified)
        email = len(a.email) if a.email and a.email is not a.user_name else 0  # kept once when equal
        extra = sum(len(str(value)) for _, value in a.extra)
        return sum(len(v) for v in (*values, *more) if v) + email + extra
    if isinstance(kept, TargetGroup):
        carried = len(kept.external_id or "")
        return len(kept.id) + len(kept.display_name) + carried + sum(map(len, kept.members))
    return len(str(kept))


def team_of(resource: Any) -> TargetGroup:
    """A listed group (`read.group_of`) with its externalId: a team carries its Google group's."""
    group = group_of(resource)
    external_id = text(resource.get("externalId"), "Group.externalId")
    return dataclasses.replace(group, external_id=external_id) if external_id else group


def cursor_digest(cursor: str) -> bytes:
    """What is remembered of a cursor: a target may send long ones, a listing many of them."""
    return hashlib.blake2b(cursor.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class Paging(Generic[Kept]):
    """A startIndex listing read page after page: what was found, and whether to go on."""

    def __init__(
        self, endpoint: str, kind: str, keep: Callable[[dict[str, Any]], Kept], bounds: ListingBounds
    ) -> None:
        self.endpoint, self.kind, self.keep, self.bounds = endpoint, kind, keep, bounds
        self.found: dict[str, Kept] = {}
        self.start, self.pages, self.largest, self.first = 1, 0, 0, 0
        self.reported: int | None = None
        self._notes: list[str] = []
        bounds.ask_page()  # the first page

    def take(self, page: Any) -> bool:
        """Add the page asked at `start`; False when the list is over (see the module docstring).

        A TargetError when the list cannot end well: a page of resources all read already while
        totalResults counts more (the target ignores startIndex, the rest cannot be reached),
        or more pages or resources than spec.target.scim.listLimits allows."""
        self.pages += 1
        resources = listed_resources(page, self.endpoint)
        reported = page.get("totalResults")
        if self.reported is None and isinstance(reported, int) and not isinstance(reported, bool):
            self.reported = reported
        if self.pages == 1:
            self.first = len(resources)
        fresh = [r for r in resources if str(r["id"]) not in self.found]
        if resources and not fresh:
            if self.reported is None:
                self._notes.append(
                    f"The target answered {self.endpoint} page {self.pages} (startIndex={self.start}) with "
                    f"{self.kind} already read, so it ignores startIndex; gwsync stopped after "
                    f"{len(self.found)} {self.kind} and the list may be incomplete."
                )
                return False
            if len(self.found) >= self.reported:
                return False  # everything the target counts is read: it just fitted in one page
            raise self.bounds.broken(
                f"(startIndex={self.start}) with only {self.kind} already read, though it counts "
                f"{self.reported} and {len(self.found)} were read: it ignores startIndex",
                "its list cannot be read completely",
            )
        self.bounds.hold(len(self.found) + len(fresh))
        kept = [(str(r["id"]), self.keep(r)) for r in fresh]
        self.bounds.keep(value for _, value in kept)
        self.found.update(kept)
        # A page shorter than an earlier one is the last, unless totalResults says there is
        # more (then one more page is asked: an empty answer settles it). A first page
        # shorter than `asked` proves nothing: the server may cap count without saying so.
        short = len(resources) < self.largest
        if not resources or (short and len(self.found) >= (self.reported or 0)):
            return False
        self.largest = max(self.largest, len(resources))
        self.start += len(resources)
        self.bounds.ask_page()  # the next page (perhaps asked ahead already)
        return True

    def starts_ahead(self, asked: int) -> range:
        """The startIndex of every page totalResults implies after a first page of `asked`
        (and of the empty page after a full last one, which settles the end); none when the
        first page was shorter than asked or totalResults is missing."""
        if self.pages != 1 or self.first != asked or self.reported is None:
            return range(0)
        return range(1 + asked, self.reported + 2, asked)

    def notes(self) -> list[str]:
        notes = list(self._notes)
        if self.reported is not None and self.reported != len(self.found):
            notes.append(
                f"The target reported totalResults={self.reported} for {self.endpoint} but "
                f"{len(self.found)} {self.kind} were read; gwsync used all {len(self.found)}."
            )
        return notes


async def cancelled(requests: Iterable[asyncio.Future[Any]]) -> None:
    """Cancel requests no longer wanted and wait until they are gone (their errors dropped)."""
    pending = list(requests)
    for request in pending:
        request.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


class ScimReads:
    """ScimTarget's reads: /Users and /Groups listed page by page (or by cursor), members read
    by filter where groups come without them (AWS) or by userName (Canaille)."""

    url: str
    teams: set[str] | None
    team_groups: set[str]  # ids of the groups the ledger gives teams
    list_limits: ListLimits
    notes: list[str]
    _scim: ScimTransport
    _users_listing: asyncio.Future[list[TargetUser]] | None
    _member_values: dict[str, str]
    _notes_by_topic: dict[str, list[str]]

    async def _capabilities(self) -> Capabilities:
        raise NotImplementedError  # ScimTarget's: the check, once

    async def list_users(self) -> list[TargetUser]:
        return list(await self._listed_users(fresh=True))

    def _listed_users(self, *, fresh: bool) -> asyncio.Future[list[TargetUser]]:
        """One listing of /Users shared by list_users and the member reads that need it.

        The engine lists users and groups at the same time: a member read that needs the
        users waits for the listing under way instead of starting a second one. `fresh` starts
        a new listing unless one is still running.
        """
        listing = self._users_listing
        if listing is None or (fresh and listing.done()):
            listing = self._users_listing = asyncio.ensure_future(self._list("User", "/Users", user_reader()))
        return listing

    def read_members_of(self, group_ids: Iterable[str]) -> None:
        """`GroupMemberScope`: these groups' members are read too (the ledger's teams)."""
        self.team_groups = set(group_ids)

    async def list_groups(self) -> list[TargetGroup]:
        try:
            listed = await self._list("Group", "/Groups", team_of)
            if (await self._capabilities()).group_members:
                return await self._members_by_id(listed)
            groups: list[TargetGroup] = []
            for group in listed:
                if (
                    self.teams is None
                    or group.display_name.casefold() in self.teams
                    or group.id in self.team_groups
                ):
                    members = await self._members_of(group.id)
                    groups.append(dataclasses.replace(group, members=members))
                else:
                    groups.append(group)
            return groups
        finally:
            # The member reads were the listing's only other readers: once the groups are
            # read, the target keeps no users of its own (the sync holds them while it needs them).
            self._users_listing = None

    async def _members_by_id(self, groups: list[TargetGroup]) -> list[TargetGroup]:
        """Groups whose member values are users' ids: a value that is no user's id but one
        user's userName (Canaille lists members by userName) is read as that user's id, and
        kept to name the member in removals (`_member_values`)."""
        if not any(group.members for group in groups):
            return groups
        users = await self._listed_users(fresh=False)
        ids = {user.id for user in users}
        if all(value in ids for group in groups for value in group.members):
            return groups
        names: dict[str, list[str]] = {}
        for user in users:
            names.setdefault(address_key(user.user_name), []).append(user.id)

        def by_id(value: str) -> str:
            found = names.get(address_key(value), [])
            if value in ids or len(found) != 1:
                return value
            self._member_values[found[0]] = value
            return found[0]

        return [
            dataclasses.replace(g, members=frozenset(by_id(value) for value in g.members)) for g in groups
        ]

    async def _members_of(self, group_id: str) -> frozenset[str]:
        """Members of a group whose reads omit them (AWS): `groups.value eq` on /Users, one
        page per 100 members; if the target refuses that filter, one `id eq G and members eq U`
        question per user carrying an externalId (the only users gwsync may manage)."""
        try:
            query = f"groups.value eq {filter_string(group_id)}"
            return frozenset(await self._list("User", "/Users", resource_id_of, filter=query))
        except TargetError as exc:
            if exc.status != 400:
                raise
        listed = await self._listed_users(fresh=False)
        candidates = [user.id for user in listed if user.attributes.external_id]

        async def member(user_id: str) -> bool:
            query = f"id eq {filter_string(group_id)} and members eq {filter_string(user_id)}"
            page = await call(
                self._scim.query("Group", query_parameters={"filter": query}, expected_status_codes=None),
                "reading team members",
            )
            return bool(page.get("Resources"))

        answers = await asyncio.gather(*(member(uid) for uid in candidates))
        return frozenset(uid for uid, yes in zip(candidates, answers, strict=True) if yes)

    async def _list(
        self,
        resource_type: str,
        endpoint: str,
        keep: Callable[[dict[str, Any]], Kept],
        filter: str | None = None,
    ) -> list[Kept]:
        """Every resource of the type, page by page, as `keep` makes it of each resource as its
        page comes (so the raw answers of a 100,000-user list are not all held at once); see
        the module docstring for when it stops.

        Once the first page has given totalResults and was as long as asked (the server keeps
        to our count), the pages totalResults implies are asked ahead, up to `max_concurrency`
        at a time, and taken in order exactly as if read one after the other: a page shorter
        than asked before the end shifts every later startIndex, so then the pages asked
        ahead are dropped and the rest is read one after the other.
        """
        capabilities = await self._capabilities()
        if capabilities.cursor:
            return await self._list_by_cursor(resource_type, endpoint, keep, filter, capabilities.page_size)
        asked = capabilities.page_size

        async def fetch(start: int) -> Any:
            return await call(
                self._scim.query(
                    resource_type,
                    query_parameters={
                        "startIndex": start,
                        **({"count": asked} if capabilities.count else {}),
                        **({"filter": filter} if filter else {}),
                    },
                    expected_status_codes=None,
                ),
                f"listing {endpoint}",
            )

        paging = Paging(endpoint, f"{resource_type.lower()}s", keep, self._bounds(endpoint, resource_type))
        going = paging.take(await fetch(1))
        planned = iter(paging.starts_ahead(asked))
        ahead: dict[int, asyncio.Future[Any]] = {}
        try:
            while going:
                while len(ahead) < self._scim.pacer.ceiling and (start := next(planned, None)):
                    ahead[start] = asyncio.ensure_future(fetch(start))
                asked_ahead = ahead.pop(paging.start, None)
                if asked_ahead is None and ahead:  # a short page moved the starts: one by one now
                    planned = iter(())
                    await cancelled(ahead.values())
                    ahead.clear()
                going = paging.take(await (asked_ahead or fetch(paging.start)))
        finally:
            await cancelled(ahead.values())
        if filter is None:
            self._note(endpoint, paging.notes())
        return list(paging.found.values())

    async def _list_by_cursor(
        self,
        resource_type: str,
        endpoint: str,
        keep: Callable[[dict[str, Any]], Kept],
        filter: str | None,
        count: int,
    ) -> list[Kept]:
        """RFC 9865 cursor paging: `cursor` empty first, then each answer's `nextCursor`.

        Every cursor of the listing is remembered (a digest of it, whatever its length): one
        that comes back would loop forever, so it fails the read. So does a page bringing no
        resource not already read while a nextCursor says there is more, unless totalResults
        says everything is read."""
        bounds = self._bounds(endpoint, resource_type)
        found: dict[str, Kept] = {}
        cursor = ""
        seen = {cursor_digest(cursor)}
        while True:
            bounds.ask_page()
            page = await call(
                self._scim.query(
                    resource_type,
                    query_parameters={
                        "cursor": cursor,
                        "count": count,
                        **({"filter": filter} if filter else {}),
                    },
                    expected_status_codes=None,
                ),
                f"listing {endpoint}",
            )
            fresh = [r for r in listed_resources(page, endpoint) if str(r["id"]) not in found]
            bounds.hold(len(found) + len(fresh))
            kept = [(str(r["id"]), keep(r)) for r in fresh]
            bounds.keep(value for _, value in kept)
            found.update(kept)
            next_cursor = page.get("nextCursor")
            if not next_cursor:
                return list(found.values())
            if not fresh:
                reported = page.get("totalResults")
                if isinstance(reported, int) and not isinstance(reported, bool) and len(found) >= reported:
                    return list(found.values())  # a last page with a needless nextCursor
                raise bounds.broken(f"with only {bounds.kind} already read, yet with a nextCursor for more")
            digest = cursor_digest(str(next_cursor))
            if digest in seen:
                raise bounds.broken("with a nextCursor it had already given in this listing")
            seen.add(digest)
            cursor = str(next_cursor)

    def _bounds(self, endpoint: str, resource_type: str) -> ListingBounds:
        return ListingBounds(self.url, endpoint, f"{resource_type.lower()}s", self.list_limits)

    def _note(self, topic: str, notes: list[str]) -> None:
        """Replace the notes kept under `topic` (so listing twice does not repeat them)."""
        for old in self._notes_by_topic.pop(topic, []):
            if old in self.notes:
                self.notes.remove(old)
        self._notes_by_topic[topic] = notes
        self.notes.extend(notes)
