"""The read of one Google Workspace organization: GoogleDirectory and its strategy.

It turns the Directory API into a `Directory` (every user, plus the transitive user members of
the groups asked for; with a `Selection`, the chosen groups' members only, one users.get each
when they are few) and Google's failures into one sentence a person can act on. A read is all
or nothing: any page that still fails after bounded retries raises `SourceUnavailable`, so a
failed read is never mistaken for people leaving.

Groups and users are read on a pool of worker threads, each with its own service (`calls`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from google.auth import credentials as google_credentials

from gwsync.api.attributes import custom_schema
from gwsync.api.provisioning import GoogleSource
from gwsync.directory import Directory, Person, Selection
from gwsync.sources.google.auth import (
    DEFAULT_IAM_ENDPOINT,
    DEFAULT_TOKEN_URI,
    GoogleAuthError,
    KeylessDelegation,
    default_identity,
    key_credentials,
)
from gwsync.sources.google.calls import (
    DEFAULT_ENDPOINT,
    DirectoryApi,
    GroupNotFound,
    UserNotFound,
    UserRefused,
)
from gwsync.sources.google.groups import MemberTally, chosen_users, memberships, nesting
from gwsync.sources.google.paging import pages
from gwsync.sources.google.parse import (
    GROUP_FIELDS,
    GROUP_ID_FIELDS,
    MEMBER_FIELDS,
    USER_FIELDS,
    Common,
    GroupInfo,
    Member,
    customer_of,
    group_id_of,
    groups_page,
    mapped_user_fields,
    members_page,
    quoted,
    to_person,
    users_page,
)
from gwsync.sync.ports import SourceUnavailable, group_not_found
from gwsync.text import address_key

log = logging.getLogger(__name__)

USERS_PAGE = 500  # users.list maximum
MEMBERS_PAGE = 200  # members.list maximum
FETCH_ROUNDS = 8
"""With from: Groups, at most FETCH_ROUNDS * max_workers users (the chosen groups' members and
the known ones: 64 by default) are read one by one (users.get), more by the users listing.

Over the internet each request is mostly one round trip. The gets go max_workers at a time:
M members take M / 8 round trips. The listing is a chain of page tokens, one page of 500 after
the other: an organization of N users takes N / 500 round trips. So the gets are quicker while
M / 8 < N / 500, but N is not known before the listing. A limit of 8 rounds bounds the loss: the
gets of 64 members take 8 round trips where an organization of 500 users or fewer lists in one,
about 0.7 s lost at 100 ms a request; they are as quick as the listing of 4,000 users and beat
that of any larger organization (40 round trips for 20,000: bench/read_chosen_groups.py).
The gets also make fewer requests than the listing whenever M < N / 500."""


def directory_for(google: GoogleSource, key: str | None) -> GoogleDirectory:
    """The reader a GoogleProvisioning's spec.google describes: with its key, or keyless."""
    if google.credentials_secret_ref is not None:
        if key is None:
            raise GoogleAuthError("spec.google.credentialsSecretRef is set but no key was given")
        return GoogleDirectory.from_service_account_key(
            key,
            admin_email=google.admin_email,
            customer_id=google.customer_id,
            api_endpoint=google.api_endpoint,
        )
    if google.service_account_email is None:  # the model guarantees one of the two
        raise GoogleAuthError("spec.google sets neither credentialsSecretRef nor serviceAccountEmail")
    return GoogleDirectory.keyless(
        google.service_account_email,
        admin_email=google.admin_email,
        customer_id=google.customer_id,
        api_endpoint=google.api_endpoint,
    )


GroupsRead = tuple[dict[str, "list[Member] | None"], frozenset[str], dict[str, str]]
"""What the groups' read gave: the members graph, the groups missing, the groups' own ids."""


def directory_of(
    customer: tuple[str, str],
    wanted: list[str],
    groups: GroupsRead,
    people: dict[str, Person],
    asked: set[str] | None = None,
    found: tuple[str, ...] = (),
) -> Directory:
    """The Directory of one read: `asked`, the users read one by one (None: all were listed)."""
    graph, missing, group_ids = groups
    expanded, notes = memberships([g for g in wanted if g not in missing], graph, people, asked)
    return Directory(
        customer[0],
        customer[1],
        people,
        expanded,
        tuple(notes),
        nesting(graph, people),
        asked is None,
        found,
        group_ids,
        missing,
    )


# --- The reader ---------------------------------------------------------------------------------


class GoogleDirectory(DirectoryApi):
    """Reads one Workspace organization; `read()` implements `gwsync.sync.ports.Source`."""

    def __init__(
        self,
        credentials: google_credentials.Credentials,
        *,
        admin_email: str,
        service_account: str,
        customer_id: str = "my_customer",
        api_endpoint: str = DEFAULT_ENDPOINT,
        max_workers: int = 8,
        max_attempts: int = 6,
        retry_base: float = 1.0,
        retry_cap: float = 32.0,
        timeout: float = 60.0,
        fetch_limit: int | None = None,
    ) -> None:
        super().__init__(
            credentials,
            admin_email=admin_email,
            service_account=service_account,
            customer_id=customer_id,
            api_endpoint=api_endpoint,
            max_attempts=max_attempts,
            retry_base=retry_base,
            retry_cap=retry_cap,
            timeout=timeout,
        )
        self.max_workers = max(1, max_workers)
        self.fetch_limit = FETCH_ROUNDS * self.max_workers if fetch_limit is None else fetch_limit
        self._customer: tuple[str, str] | None = None

    @classmethod
    def from_service_account_key(
        cls,
        key: str,
        *,
        admin_email: str,
        **options: Any,
    ) -> GoogleDirectory:
        """Delegation signed with a JSON key; GoogleAuthError if the key is not usable.
        `options` are the constructor's (customer_id, api_endpoint, max_workers...)."""
        credentials, email = key_credentials(key, admin_email)
        return cls(credentials, admin_email=admin_email, service_account=email, **options)

    @classmethod
    def keyless(
        cls,
        service_account_email: str,
        *,
        admin_email: str,
        token_uri: str = DEFAULT_TOKEN_URI,
        iam_endpoint: str = DEFAULT_IAM_ENDPOINT,
        source_credentials: google_credentials.Credentials | None = None,
        **options: Any,
    ) -> GoogleDirectory:
        """Delegation signed by IAM Credentials signJwt as the operator's own identity."""
        credentials = KeylessDelegation(
            default_identity() if source_credentials is None else source_credentials,
            service_account_email,
            admin_email,
            token_uri=token_uri,
            iam_endpoint=iam_endpoint,
        )
        return cls(credentials, admin_email=admin_email, service_account=service_account_email, **options)

    # -- what callers use -------------------------------------------------------------------------

    def check_connection(self) -> tuple[str, str]:
        """(customer id, primary domain); GoogleAuthError/SourceUnavailable with the reason."""
        self.ensure_token()
        what = "Reading the customer"
        answer = self.call(what, lambda api: api.customers().get(customerKey=self.customer_id))
        self._customer = self.parse_answer(what, customer_of, answer)
        return self._customer

    def read(
        self,
        groups: Sequence[str],
        fields: Collection[str] = (),
        on_page: Callable[[Sequence[Person]], None] | None = None,
        selection: Selection | None = None,
        teams: Sequence[Sequence[str]] = (),
    ) -> Directory:
        """Every user and the transitive user members of `groups`; never a partial result.

        `fields`: the source paths spec.attributes reads beyond a Person's own (Person.extra);
        custom schema fields make the users listing ask for projection=custom with their schemas.
        With a `selection`, only the chosen groups' members and the known users may be read
        (`_read_chosen`).

        `teams`: the groups of each team mapping. The id of each mapping's first group is read
        (Directory.group_ids: the team's externalId), one groups.get each, on the pool with the
        rest. A group of `groups` that Google does not have fails the read, unless teams alone
        need it (the selection does not choose it): it goes to Directory.missing, and only its
        mapping fails. A chosen group gone must fail the read before anything is removed:
        its members would look like people leaving.
        """
        wanted = list(dict.fromkeys(address_key(g) for g in groups))
        named = list(dict.fromkeys(address_key(mapping[0]) for mapping in teams if mapping))
        spared = {address_key(g) for mapping in teams for g in mapping}
        customer = self._customer or self.check_connection()
        mapped = tuple(sorted(set(fields)))
        if selection is not None:
            return self._read_chosen(customer, wanted, mapped, on_page, selection, named, spared)
        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="google-read") as pool:
            users_future = pool.submit(self._list_users, mapped, on_page)
            ids_future = self._start_group_ids(pool, named)
            graph, missing = self._read_groups(pool, wanted, spared=spared)
            people = users_future.result()
            group_ids = self._group_ids(ids_future, missing)
        log.info("Read %d users and %d groups from %s.", len(people), len(graph), customer[1])
        return directory_of(customer, wanted, (graph, missing, group_ids), people)

    def _read_chosen(
        self,
        customer: tuple[str, str],
        wanted: list[str],
        fields: tuple[str, ...],
        on_page: Callable[[Sequence[Person]], None] | None,
        selection: Selection,
        named: Sequence[str] = (),
        spared: Collection[str] = (),
    ) -> Directory:
        """The chosen groups' members first, then their users: one users.get each when they
        are few (`fetch_limit`: FETCH_ROUNDS round trips of them by default), else the whole
        users listing, as without a selection.

        The listing starts as soon as the members read so far pass the limit (or a chosen group
        holds the whole customer), while the rest of the groups are read.
        """
        found = self._query_groups(selection.query) if selection.query is not None else ()
        chosen = list(dict.fromkeys([*selection.groups, *found]))
        wanted = list(dict.fromkeys([*wanted, *chosen]))
        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="google-read") as pool:
            listing: list[Future[dict[str, Person]]] = []

            def list_everyone() -> None:
                listing.append(pool.submit(self._list_users, fields, on_page))

            tally = MemberTally(chosen, self.fetch_limit, selection.known, list_everyone)
            ids_future = self._start_group_ids(pool, named)
            graph, missing = self._read_groups(pool, wanted, tally, spared=set(spared) - set(chosen))
            group_ids = self._group_ids(ids_future, missing)
            ids = None if tally.over else chosen_users(chosen, graph)
            ids = None if ids is None else ids | selection.known
            people: dict[str, Person] | None = None
            if ids is not None and len(ids) <= self.fetch_limit:
                emails = {m.id: m.email for group in graph.values() for m in group or () if m.email}
                asked = {uid: emails.get(uid, uid) for uid in sorted(ids)}
                vouched = ids & emails.keys() & selection.known
                people = self._get_users(pool, asked, fields, on_page, vouched)
            if people is None:
                if not listing:
                    list_everyone()
                people, ids = listing[0].result(), None
        how = "each" if ids is not None else "the users listing"
        log.info("Read %d users (%s) and %d groups from %s.", len(people), how, len(graph), customer[1])
        return directory_of(customer, wanted, (graph, missing, group_ids), people, ids, found)

    def search_groups(self, text: str, limit: int = 20) -> list[GroupInfo]:
        """Groups whose name or email starts with `text` (the seed's type-ahead)."""
        self.ensure_token()
        prefix = text.strip().replace("'", "")
        found: dict[str, GroupInfo] = {}
        for query in (f"name:'{prefix}*'", f"email:{prefix}*"):

            def search(api: Any, query: str = query) -> Any:
                size = min(200, max(1, limit))
                return api.groups().list(
                    customer=self.customer_id, query=query, maxResults=size, fields=GROUP_FIELDS
                )

            what = f"Searching groups for {quoted(text)!r}"
            groups, _ = self.parse_answer(what, groups_page, self.call(what, search))
            found.update((group.email, group) for group in groups)
        return sorted(found.values(), key=lambda g: (g.name.lower(), g.email))[:limit]

    # -- reading ------------------------------------------------------------------------------------

    def _list_users(
        self, fields: tuple[str, ...] = (), on_page: Callable[[Sequence[Person]], None] | None = None
    ) -> dict[str, Person]:
        people: dict[str, Person] = {}
        common = Common()

        def request(api: Any, token: str | None) -> Any:
            return self._users_request(api, token, fields)

        def parse(page: Mapping[str, Any]) -> tuple[list[Person], str | None]:
            return users_page(page, fields, common)

        # The user pages are a chain (page tokens): the next one is asked while this one is read.
        ahead = ThreadPoolExecutor(1, thread_name_prefix="google-read-ahead")
        try:
            for page_number, page in enumerate(pages(self, "users", request, parse, ahead)):
                for person in page:
                    people[person.id] = person
                if on_page is not None:
                    on_page(page)
                log.debug("Users page %d read (%d users so far).", page_number + 1, len(people))
        finally:
            ahead.shutdown(wait=False, cancel_futures=True)  # a failed read does not wait for it
        return people

    def _users_request(self, api: Any, token: str | None, fields: tuple[str, ...] = ()) -> Any:
        return self.collection(api, "users").list(
            customer=self.customer_id,
            maxResults=USERS_PAGE,
            pageToken=token,
            **self._user_options(fields, "list"),
        )

    @staticmethod
    def _user_options(fields: tuple[str, ...], method: str) -> dict[str, str]:
        """`fields` and projection of users.list, or of users.get (the same user resource, so a
        user read either way is the same Person)."""
        selector = mapped_user_fields(fields) if fields else USER_FIELDS
        if method == "get":
            selector = selector.removeprefix("nextPageToken,users(").removesuffix(")")
        schemas = sorted({schema for path in fields if (schema := custom_schema(path))})
        custom = {"projection": "custom", "customFieldMask": ",".join(schemas)} if schemas else {}
        return {"fields": selector, "projection": "basic"} | custom

    def _direct_members(self, group: str, tally: MemberTally | None = None) -> list[Member]:
        def request(api: Any, token: str | None) -> Any:
            return self.collection(api, "members").list(
                groupKey=group, maxResults=MEMBERS_PAGE, pageToken=token, fields=MEMBER_FIELDS
            )

        members: list[Member] = []
        for page in pages(self, f"members of {quoted(group)}", request, members_page):
            members.extend(page)
            if tally is not None:
                tally.page(group, page)
        return members

    def _read_groups(
        self,
        pool: ThreadPoolExecutor,
        wanted: list[str],
        tally: MemberTally | None = None,
        *,
        spared: Collection[str] = (),
    ) -> tuple[dict[str, list[Member] | None], frozenset[str]]:
        """Direct members of every group reachable from `wanted` (None: a group not found), and
        the wanted groups not found. One not found fails the read unless it is `spared`."""
        graph: dict[str, list[Member] | None] = {}
        pending: dict[Future[list[Member]], str] = {}
        requested = set(wanted)
        missing: set[str] = set()

        def visit(email: str) -> None:
            if email not in graph and email not in pending.values():
                pending[pool.submit(self._direct_members, email, tally)] = email

        for email in wanted:
            visit(email)
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in done:
                email = pending.pop(future)
                try:
                    members = future.result()
                except GroupNotFound:
                    if email in requested and email not in spared:
                        _cancel(pending)
                        raise SourceUnavailable(group_not_found(email)) from None
                    if email in requested:
                        missing.add(email)
                    graph[email] = None
                    continue
                except BaseException:
                    _cancel(pending)
                    raise
                graph[email] = members
                if tally is not None:
                    tally.nested(email, members)
                for member in members:
                    if member.kind == "GROUP":
                        visit(address_key(member.email))
        return graph, frozenset(missing)

    def _start_group_ids(self, pool: ThreadPoolExecutor, groups: Sequence[str]) -> dict[str, Future[str]]:
        """One groups.get (its id only) for each of `groups`, started on the pool."""
        return {group: pool.submit(self._group_id, group) for group in groups}

    def _group_id(self, group: str) -> str:
        what = f"Reading group {quoted(group, limit=120)}"

        def request(api: Any) -> Any:
            return self.collection(api, "groups").get(groupKey=group, fields=GROUP_ID_FIELDS)

        return self.parse_answer(what, group_id_of, self.call(what, request))

    @staticmethod
    def _group_ids(started: Mapping[str, Future[str]], missing: Collection[str]) -> dict[str, str]:
        """The ids `_start_group_ids` read. A group whose members Google did not find either is
        missing (its groups.get failed too, with a 404 that says no more); any other failure
        fails the read, as any page would."""
        ids: dict[str, str] = {}
        try:
            for group, future in started.items():
                if group in missing:
                    future.cancel()
                    continue
                ids[group] = future.result()
        except BaseException:
            _cancel({future: group for group, future in started.items()})
            raise
        return ids

    def _query_groups(self, query: str) -> tuple[str, ...]:
        """The emails of the groups spec.members.groupQuery selects (groups.list `query`)."""

        def request(api: Any, token: str | None) -> Any:
            return self.collection(api, "groups").list(
                customer=self.customer_id, query=query, maxResults=200, pageToken=token, fields=GROUP_FIELDS
            )

        what = f"groups matching members.groupQuery {quoted(query)!r}"
        emails = [group.email for page in pages(self, what, request, groups_page) for group in page]
        if not emails:
            raise SourceUnavailable(
                f"members.groupQuery {quoted(query)!r} selects no group of this Google Workspace "
                "organization; fix the query (gwsync groups search shows the groups a text finds)."
            )
        return tuple(dict.fromkeys(emails))

    def _get_users(
        self,
        pool: ThreadPoolExecutor,
        ids: Mapping[str, str],
        fields: tuple[str, ...],
        on_page: Callable[[Sequence[Person]], None] | None,
        vouched: Collection[str] = (),
    ) -> dict[str, Person] | None:
        """Each of these users (id -> email, or the id when unknown) by users.get, at once on the
        pool; None when the users listing must decide instead (as without a selection).

        A user Google does not know (404) is not there, as it would be missing from the listing:
        a member of another organization (ignored with a note, never provisioned), a known
        user deleted since (a departure either way). But a `vouched` one, a member now that was
        provisioned before, is the one departure a wrong 404 could make up: Google's answers
        then disagree, and the listing decides. So does a 403 (an account of another
        organization in a group, or a user outside a delegated admin's reach). Any other failure
        fails the read.
        """
        common = Common()
        futures = {
            pool.submit(self._get_user, uid, name, fields, common): uid for uid, name in ids.items() if uid
        }
        people: dict[str, Person] = {}
        try:
            for future in futures:
                person = future.result()
                if person is not None:
                    people[person.id] = person
        except UserRefused:
            _cancel(futures)
            log.info("Google refused to show a member's user; reading the users listing instead.")
            return None
        except BaseException:
            _cancel(futures)
            raise
        if any(uid not in people for uid in vouched):
            log.info("Google did not find a member gwsync provisioned; reading the users listing instead.")
            return None
        if on_page is not None:
            listed = list(people.values())
            for start in range(0, len(listed), USERS_PAGE):
                on_page(listed[start : start + USERS_PAGE])
        return people

    def _get_user(self, uid: str, name: str, fields: tuple[str, ...], common: Common) -> Person | None:
        what = f"Reading user {quoted(name, limit=120)}"

        def request(api: Any) -> Any:
            return self.collection(api, "users").get(userKey=uid, **self._user_options(fields, "get"))

        try:
            answer = self.call(what, request)
        except UserNotFound:
            return None
        person = self.parse_answer(what, lambda user: to_person(user, "the user", fields, common), answer)
        if person.id != uid:
            raise SourceUnavailable(
                f"{what} failed: the answer of {self.api_endpoint} is another user ({quoted(person.id)})."
            )
        return person


def _cancel(pending: Mapping[Future[Any], str]) -> None:
    for future in pending:
        future.cancel()
