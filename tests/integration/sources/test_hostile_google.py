"""The real Google client against a server that answers anything: the read fails cleanly or succeeds.

A wrong apiEndpoint, a proxy's HTML page, a compromised or broken server: whatever the body,
`read()` returns a Directory or raises SourceUnavailable with one printable sentence. Any other
exception would crash the sync (and, in the operator, retry it forever) instead of failing it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gwsync.directory import Directory, Selection
from gwsync.sources.google import GoogleDirectory, static_token_credentials
from gwsync.sync.ports import SourceUnavailable

CUSTOMER = {"id": "C03acme01", "customerDomain": "acme.example"}
USERS = {"users": [{"id": "1", "primaryEmail": "jane@acme.example", "name": {"fullName": "Jane Doe"}}]}
MEMBERS = {"members": [{"id": "1", "email": "jane@acme.example", "type": "USER"}]}
GROUP = "eng@acme.example"
CONTROL = [chr(c) for c in (*range(0x20), 0x7F, 0x9B)]


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def ok(document: Any) -> Answer:
    return Answer(200, json.dumps(document).encode())


@dataclass
class Hostile:
    """What each Directory API call answers; the well-formed answer unless a test says otherwise."""

    url: str = ""
    answers: dict[str, Answer] = field(default_factory=dict)

    def answer(self, api: str) -> Answer:
        return self.answers.get(api) or ok({"customer": CUSTOMER, "users": USERS, "members": MEMBERS}[api])


def serve(hostile: Hostile) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            api = "customer" if "/customers/" in path else "members" if path.endswith("/members") else "users"
            answer = hostile.answer(api)
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture(scope="module")
def hostile() -> Iterator[Hostile]:
    state = Hostile()
    server = serve(state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    yield state
    server.shutdown()
    server.server_close()


def reader(hostile: Hostile, attempts: int = 1) -> GoogleDirectory:
    # One attempt unless asked: a 5xx would otherwise be retried with back-off, which is another
    # test's subject (a short one when more are asked).
    return GoogleDirectory(
        static_token_credentials("ya29.test-token"),
        admin_email="admin@acme.example",
        service_account="gwsync@acme.iam.gserviceaccount.com",
        api_endpoint=hostile.url,
        max_attempts=attempts,
        retry_base=0.01,
        max_workers=2,
    )


def read(hostile: Hostile, api: str, answer: Answer) -> Directory:
    hostile.answers = {api: answer}
    return reader(hostile).read([GROUP])


def failure(hostile: Hostile, api: str, answer: Answer) -> str:
    with pytest.raises(SourceUnavailable) as caught:
        read(hostile, api, answer)
    return str(caught.value)


def assert_one_clear_sentence(message: str) -> None:
    assert message.endswith((".", "?")), message
    assert len(message) < 800, len(message)
    assert not any(char in message for char in CONTROL), repr(message)


# -- bodies a hostile or broken server may send -----------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars | st.sampled_from(["\x1b[2J\x1b]8;;https://evil.example\x07", "y" * 300_000]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=12,
)
near_pages = st.fixed_dictionaries(
    {},
    optional={
        "users": st.lists(
            st.dictionaries(st.sampled_from(["id", "primaryEmail", "name", "suspended"]), json_values)
        )
        | json_values,
        "members": st.lists(st.dictionaries(st.sampled_from(["id", "email", "type"]), json_values))
        | json_values,
        "id": json_values,
        "nextPageToken": st.none() | st.integers() | st.lists(st.text(max_size=3), max_size=2),
        "error": st.fixed_dictionaries({}, optional={"message": json_values, "errors": json_values})
        | json_values,
    },
)
bodies = st.one_of(
    near_pages.map(lambda doc: json.dumps(doc).encode()),
    json_values.map(lambda doc: json.dumps(doc).encode()),
    st.integers(10, 50_000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(10, 50_000).map(lambda depth: b'{"error":' * depth + b"1" + b"}" * depth),
    st.binary(max_size=200),
    st.just(b"<html><body>502 Bad Gateway</body></html>"),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    api=st.sampled_from(["customer", "users", "members"]),
    status=st.sampled_from([200, 200, 200, 400, 401, 403, 404, 500]),
    body=bodies,
)
def test_any_answer_gives_a_directory_or_one_clear_sentence(
    hostile: Hostile, api: str, status: int, body: bytes
) -> None:
    try:
        directory = read(hostile, api, Answer(status, body))
    except SourceUnavailable as exc:
        assert_one_clear_sentence(str(exc))
    else:
        assert status == 200
        assert all(person.id and person.primary_email for person in directory.people.values())


# -- what the person reading the condition sees -------------------------------------------------


def test_a_page_that_is_not_json_is_named(hostile: Hostile) -> None:
    message = failure(hostile, "users", Answer(200, b"<html><body>502 Bad Gateway</body></html>"))
    assert message == (
        f"Reading users (page 1) failed: the answer of {hostile.url} is not a JSON object (a string); "
        "is google.apiEndpoint the Directory API?"
    )


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "JSON nested too deeply"),
        (b'{"users": "\xff\xfe"}', "not UTF-8"),
    ],
    ids=["deep nesting", "invalid UTF-8"],
)
def test_a_body_the_client_cannot_parse_is_named(hostile: Hostile, body: bytes, why: str) -> None:
    message = failure(hostile, "users", Answer(200, body))
    assert message == (
        f"Reading users (page 1) failed: the answer of {hostile.url} cannot be read ({why}); "
        "is google.apiEndpoint the Directory API?"
    )


def test_an_error_body_that_breaks_the_client_is_named(hostile: Hostile) -> None:
    # googleapiclient's HttpError calls .strip() on error.message: a number there raises AttributeError.
    message = failure(hostile, "members", Answer(400, json.dumps({"error": {"message": 5}}).encode()))
    assert message == (
        f"Reading members of {GROUP} (page 1) failed: the answer of {hostile.url} cannot be read "
        "(not the JSON shape Google's errors have); is google.apiEndpoint the Directory API?"
    )


def test_a_wrongly_typed_field_is_named_and_nothing_is_read(hostile: Hostile) -> None:
    page = {
        "users": [{"id": "1", "primaryEmail": "jane@acme.example"}, {"id": 2, "primaryEmail": "x@a.example"}]
    }
    message = failure(hostile, "users", ok(page))
    assert message == (
        f"Reading users (page 1) failed: the answer of {hostile.url} is not a Directory API answer "
        "(users[1].id is a number, not a string)."
    )


def test_a_retry_after_of_unicode_digits_is_ignored_and_the_read_retried(hostile: Hostile) -> None:
    # '²' is a digit to str.isdigit() but no number to float(): the back-off is gwsync's own.
    hostile.answers = {
        "users": Answer(503, b'{"error": {"code": 503, "message": "Busy"}}', {"Retry-After": "²"})
    }
    with pytest.raises(SourceUnavailable) as caught:
        reader(hostile, attempts=2).read([GROUP])
    assert str(caught.value) == "Reading users (page 1) failed after 2 attempts: HTTP 503: Busy."


def test_a_page_token_that_comes_back_ends_the_read(hostile: Hostile) -> None:
    message = failure(hostile, "users", ok({**USERS, "nextPageToken": "again"}))
    assert message == (
        "Reading users (page 2) failed: Google returned a page token it had already returned, so the "
        "listing would never end; nothing was read."
    )


def test_an_error_message_is_quoted_escaped_and_bounded(hostile: Hostile) -> None:
    hostile_text = "\x1b[2J\x1b]8;;https://evil.example\x07click" + "z" * 5_000
    body = json.dumps({"error": {"code": 400, "message": hostile_text, "errors": [{"reason": "badRequest"}]}})
    message = failure(hostile, "users", Answer(400, body.encode()))
    shown = "\\x1b[2J\\x1b]8;;https://evil.example\\x07click" + "z" * 5_000
    quoted = shown[:300] + "…"  # at most 300 characters of it
    assert message == f"Reading users (page 1) failed: HTTP 400 badRequest: {quoted}."


def test_a_well_formed_answer_is_read(hostile: Hostile) -> None:
    hostile.answers = {}
    directory = reader(hostile).read([GROUP])
    assert (directory.customer_id, directory.primary_domain) == ("C03acme01", "acme.example")
    assert [p.primary_email for p in directory.people.values()] == ["jane@acme.example"]
    assert directory.groups == {GROUP: frozenset({"1"})}


def test_a_users_get_answered_with_another_user_fails_the_read(hostile: Hostile) -> None:
    # from: Groups reads a few members one by one: each answer must be the user asked for.
    hostile.answers = {"users": ok({"id": "2", "primaryEmail": "eve@acme.example"})}
    with pytest.raises(SourceUnavailable) as caught:
        reader(hostile).read([GROUP], (), None, Selection((GROUP,)))
    assert str(caught.value) == (
        f"Reading user jane@acme.example failed: the answer of {hostile.url} is another user (2)."
    )
