"""How a Directory API page chain ends (sources.google.paging.pages): page after page by page
token, read here or followed ahead by a thread, and the sentence a chain that loops gives."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials

from gwsync.sources.google import Member, members_page
from gwsync.sources.google.calls import DirectoryApi
from gwsync.sources.google.paging import pages
from gwsync.sync.ports import SourceUnavailable

ENDPOINT = "https://directory.example/"
Answers = dict[str | None, dict[str, Any] | Exception]


class CannedDirectory(DirectoryApi):
    """The Directory API as fixed members.list answers, by page token: `call` answers without
    HTTP (its retries and errors are tested against the emulator) and records what was asked."""

    def __init__(self, answers: Answers) -> None:
        super().__init__(
            AnonymousCredentials(),  # type: ignore[no-untyped-call]
            admin_email="admin@acme.com",
            service_account="sync@acme.iam.gserviceaccount.com",
            customer_id="C0acme",
            api_endpoint=ENDPOINT,
            max_attempts=1,
            retry_base=0,
            retry_cap=0,
            timeout=1,
        )
        self.answers = answers
        self.asked: list[str] = []
        self._asking = threading.Lock()

    def call(self, what: str, request: Any) -> dict[str, Any]:
        with self._asking:
            self.asked.append(what)
            if len(self.asked) > 20:  # a chain that never ends fails the test instead of hanging it
                raise AssertionError(f"the read never ended: {self.asked}")
        answer: dict[str, Any] = request(self.answers)
        return answer


def answer_for(answers: Answers, token: str | None) -> dict[str, Any]:
    answer = answers[token]
    if isinstance(answer, Exception):
        raise answer
    return answer


def members(*emails: str, token: str | None = None) -> dict[str, Any]:
    """A members.list page of users, with the next page's token when given."""
    page: dict[str, Any] = {"members": [{"type": "USER", "email": email, "id": email[0]} for email in emails]}
    if token is not None:
        page["nextPageToken"] = token
    return page


@pytest.fixture(params=["read-here", "followed-ahead"])
def ahead(request: pytest.FixtureRequest) -> Iterator[ThreadPoolExecutor | None]:
    if request.param == "read-here":
        yield None
        return
    with ThreadPoolExecutor(1) as executor:
        yield executor


def read(directory: CannedDirectory, ahead: ThreadPoolExecutor | None) -> Iterator[list[Member]]:
    return pages(directory, "members of eng@acme.com", answer_for, members_page, ahead)


def test_a_chain_is_read_until_a_page_without_a_token(ahead: ThreadPoolExecutor | None) -> None:
    directory = CannedDirectory(
        {
            None: members("ann@acme.com", token="p2"),
            "p2": members("bob@acme.com", token="p3"),
            "p3": members(),
        }
    )
    assert [[m.email for m in page] for page in read(directory, ahead)] == [
        ["ann@acme.com"],
        ["bob@acme.com"],
        [],
    ]
    assert directory.asked == [f"Reading members of eng@acme.com (page {n})" for n in (1, 2, 3)]


def test_an_empty_token_ends_the_chain(ahead: ThreadPoolExecutor | None) -> None:
    directory = CannedDirectory({None: members("ann@acme.com", token="")})
    assert len(list(read(directory, ahead))) == 1
    assert len(directory.asked) == 1


def test_a_token_that_comes_back_ends_the_read_with_a_sentence(ahead: ThreadPoolExecutor | None) -> None:
    directory = CannedDirectory(
        {
            None: members("ann@acme.com", token="a"),
            "a": members("bob@acme.com", token="b"),
            "b": members(token="a"),
        }
    )
    read_pages: list[list[Member]] = []
    with pytest.raises(SourceUnavailable) as failed:
        read_pages.extend(read(directory, ahead))
    assert len(read_pages) == 3  # every page was given before the chain was found looping
    assert str(failed.value) == (
        "Reading members of eng@acme.com (page 3) failed: Google returned a page token it had already "
        "returned, so the listing would never end; nothing was read."
    )


def test_a_page_that_fails_fails_the_read_where_it_stands(ahead: ThreadPoolExecutor | None) -> None:
    refused = SourceUnavailable("Reading members of eng@acme.com (page 2) failed: 403 forbidden.")
    directory = CannedDirectory({None: members("ann@acme.com", token="p2"), "p2": refused})
    chain = read(directory, ahead)
    assert [m.email for m in next(chain)] == ["ann@acme.com"]
    with pytest.raises(SourceUnavailable) as failed:
        next(chain)
    assert failed.value is refused
    # the failed page is not asked again (its retries are `call`'s)
    assert directory.asked == [f"Reading members of eng@acme.com (page {n})" for n in (1, 2)]


def test_a_malformed_page_is_named(ahead: ThreadPoolExecutor | None) -> None:
    directory = CannedDirectory({None: members("ann@acme.com", token="p2"), "p2": {"members": "none"}})
    with pytest.raises(SourceUnavailable) as failed:
        list(read(directory, ahead))
    assert str(failed.value).startswith(
        f"Reading members of eng@acme.com (page 2) failed: the answer of {ENDPOINT} is not a "
        "Directory API answer ("
    )
