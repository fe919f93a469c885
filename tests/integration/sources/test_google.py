"""The Directory API reader, through the real google-api-python-client and google-auth."""

import math

import pytest

from gwsync.api.provisioning import GoogleProvisioningSpec
from gwsync.directory import Selection
from gwsync.sources.google import SCOPES, GoogleAuthError, GoogleDirectory, static_token_credentials
from gwsync.sync.plan import desired_people, source_groups
from gwsync.sync.ports import SourceUnavailable
from gwsync.testing.google import Fault, GoogleEmulator, google_emulator_in_thread, group_resource

from .conftest import ADMIN, acme, directory_for

SA = "gwsync@gwsync-emulated.iam.gserviceaccount.com"


def test_connection_reports_customer_and_domain(emulator: GoogleEmulator) -> None:
    assert directory_for(emulator).check_connection() == ("C03acme01", "acme.example")


def test_reads_every_page_at_the_maximum_size_with_a_field_projection() -> None:
    with google_emulator_in_thread(acme(extra_users=1200)) as emulator:
        directory = directory_for(emulator).read([])
    assert len(directory.people) == 1206
    pages = emulator.requests("users")
    assert len(pages) == math.ceil(1206 / 500) == 3
    assert all(
        p.params["maxResults"] == "500" and "users(id,primaryEmail" in p.params["fields"] for p in pages
    )
    assert [("pageToken" in p.params) for p in pages] == [False, True, True]


def test_each_page_of_users_is_handed_over_as_it_is_read() -> None:
    pages: list[list[str]] = []
    with google_emulator_in_thread(acme(extra_users=1200)) as emulator:
        directory = directory_for(emulator).read([], on_page=lambda page: pages.append([p.id for p in page]))
    assert [len(page) for page in pages] == [500, 500, 206]
    assert [gid for page in pages for gid in page] == list(directory.people)


def test_a_page_that_cannot_be_read_stops_the_pages_asked_ahead() -> None:
    with google_emulator_in_thread(acme(extra_users=5000)) as emulator:
        emulator.faults = [Fault(400, "invalid", api="users", page=2)]
        with pytest.raises(SourceUnavailable, match=r"^Reading users \(page 3\) failed"):
            directory_for(emulator).read([])
    # Pages are asked ahead of the reading, but none after the one that failed.
    assert [r.status for r in emulator.requests("users")] == [200, 200, 400]


def test_maps_every_attribute_gwsync_uses(emulator: GoogleEmulator) -> None:
    people = directory_for(emulator).read([]).people
    amelie = people["100000000000000000002"]
    assert (amelie.primary_email, amelie.given_name, amelie.family_name, amelie.full_name) == (
        "amelie@acme.example",
        "Amélie",
        "Poulain",
        "Amélie Poulain",
    )
    assert (amelie.title, amelie.department, amelie.employee_type) == ("Engineer", "R&D", "Contractor")
    assert (amelie.photo_url, amelie.photo_etag) == ("https://photos.example/amelie", "etag-1")
    assert people["100000000000000000004"].suspended and people["100000000000000000005"].archived
    assert people["100000000000000000006"].display_name == "健二 山田"


def test_nested_groups_with_a_cycle_and_a_diamond_expand_to_users_once(emulator: GoogleEmulator) -> None:
    directory = directory_for(emulator).read(["ENG@acme.example", "mobile@acme.example"])
    everyone_in_eng = {"100000000000000000002", "100000000000000000003", "100000000000000000006"}
    assert directory.groups["eng@acme.example"] == everyone_in_eng
    assert directory.groups["mobile@acme.example"] == everyone_in_eng  # core nests eng again
    # every reachable group is read exactly once, even through the cycle and the diamond
    read = sorted(r.path.split("/")[-2] for r in emulator.requests("members"))
    assert read == ["core@acme.example", "eng@acme.example", "mobile@acme.example", "platform@acme.example"]
    assert all(r.params["maxResults"] == "200" for r in emulator.requests("members"))


def test_a_user_in_two_chosen_groups_counts_once(emulator: GoogleEmulator) -> None:
    directory = directory_for(emulator).read(["mobile@acme.example", "sales@acme.example"])
    both = directory.members_of(["mobile@acme.example", "sales@acme.example"])
    assert sorted(both).count("100000000000000000003") == 1
    assert len(both) == 5  # amelie, bjorn, kenji + suspended + archived (filtered later by the planner)


def test_external_members_are_ignored_with_a_note(emulator: GoogleEmulator) -> None:
    directory = directory_for(emulator).read(["sales@acme.example"])
    assert directory.notes == (
        "pat@partner.example (in sales@acme.example) is not a user of this organization and was ignored.",
    )


def test_a_requested_group_that_does_not_exist_fails_the_read(emulator: GoogleEmulator) -> None:
    with pytest.raises(SourceUnavailable) as caught:
        directory_for(emulator).read(["nope@acme.example"])
    assert str(caught.value) == (
        "Group nope@acme.example does not exist in this Google Workspace organization; "
        "fix the group email in members.groups or teams.mappings."
    )


def test_a_group_only_a_team_maps_that_does_not_exist_is_missing_and_the_rest_is_read(
    emulator: GoogleEmulator,
) -> None:
    directory = directory_for(emulator).read(
        ["eng@acme.example", "nope@acme.example"],
        teams=[["ENG@acme.example", "sales@acme.example"], ["nope@acme.example"]],
    )
    assert directory.missing == {"nope@acme.example"}
    assert directory.groups["eng@acme.example"] and "nope@acme.example" not in directory.groups
    assert directory.notes == ()  # a missing team group is its mapping's failure, not a note
    # Each mapping's first group: one groups.get for its id, asking for the id only.
    eng = group_resource(emulator.org.groups[0])["id"]
    assert directory.group_ids == {"eng@acme.example": eng}
    asked = sorted((r.path.rsplit("/", 1)[-1], r.params.get("fields")) for r in emulator.requests("groups"))
    assert asked == [("eng@acme.example", "id"), ("nope@acme.example", "id")]


def test_a_chosen_group_that_does_not_exist_fails_the_read_even_when_a_team_maps_it(
    emulator: GoogleEmulator,
) -> None:
    with pytest.raises(SourceUnavailable) as caught:
        directory_for(emulator).read(
            ["nope@acme.example"], selection=Selection(("nope@acme.example",)), teams=[["nope@acme.example"]]
        )
    assert str(caught.value) == (
        "Group nope@acme.example does not exist in this Google Workspace organization; "
        "fix the group email in members.groups or teams.mappings."
    )


def test_only_read_only_scopes_are_requested() -> None:
    assert all(scope.endswith(".readonly") for scope in SCOPES)


def test_a_non_admin_subject_is_named(emulator: GoogleEmulator) -> None:
    with pytest.raises(GoogleAuthError) as caught:
        directory_for(emulator, admin="bjorn@acme.example").check_connection()
    assert str(caught.value) == (
        "bjorn@acme.example is not a Workspace administrator allowed to read users and groups; set "
        "google.adminEmail to a super admin or a delegated admin with those read privileges."
    )


def test_a_subject_outside_the_org_is_named(emulator: GoogleEmulator) -> None:
    with pytest.raises(GoogleAuthError) as caught:
        directory_for(emulator, admin="ghost@acme.example").check_connection()
    assert str(caught.value) == (
        "ghost@acme.example is not a user of this Google Workspace organization; set google.adminEmail "
        "to the email of a Workspace administrator."
    )


def test_a_missing_delegated_scope_names_every_scope_to_grant(emulator: GoogleEmulator) -> None:
    emulator.service_account().delegated_scopes.discard(SCOPES[2])
    with pytest.raises(GoogleAuthError) as caught:
        directory_for(emulator).check_connection()
    assert str(caught.value) == (
        f"Domain-wide delegation of service account {SA} does not grant every scope gwsync needs; in the "
        f"Admin console (Security > API controls > Domain-wide delegation) grant: {', '.join(SCOPES)}."
    )


def test_a_wrong_key_is_named_and_never_printed(emulator: GoogleEmulator) -> None:
    key = emulator.foreign_key()
    with pytest.raises(GoogleAuthError) as caught:
        directory_for(emulator, key=key).check_connection()
    assert str(caught.value) == (
        f"Google rejected the service-account key of {SA}: it is not one of the account's keys (deleted, "
        "or from another account); create a new JSON key and put it in place of this one."
    )
    assert "PRIVATE KEY" not in str(caught.value)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("not json", "not JSON"),
        ('{"type": "service_account"}', "missing client_email, private_key, token_uri"),
        (
            '{"client_email": "a@b", "private_key": "x", "token_uri": "https://t"}',
            "its private key cannot be read",
        ),
    ],
)
def test_a_key_that_is_not_a_key_file_is_refused(key: str, problem: str) -> None:
    with pytest.raises(GoogleAuthError) as caught:
        GoogleDirectory.from_service_account_key(key, admin_email=ADMIN)
    assert str(caught.value) == (
        f"The service-account key is not a JSON key file of a service account ({problem}); download a "
        "new JSON key in the Google Cloud console and put it in place of this one."
    )


def test_a_burst_of_rate_limits_and_server_errors_is_survived() -> None:
    with google_emulator_in_thread(acme(extra_users=600)) as emulator:
        emulator.faults = [
            Fault(429, "rateLimitExceeded", api="users", page=1, times=2, retry_after=0),
            Fault(403, "userRateLimitExceeded", api="members", times=1),
            Fault(503, api="users", page=0, times=1),
        ]
        directory = directory_for(emulator).read(["eng@acme.example"])
    assert len(directory.people) == 606
    assert [r.status for r in emulator.requests("users")] == [503, 200, 429, 429, 200]


def test_a_page_that_keeps_failing_raises_and_returns_nothing() -> None:
    with google_emulator_in_thread(acme(extra_users=600)) as emulator:
        emulator.faults = [Fault(503, api="users", page=1)]
        reader = directory_for(emulator)
        with pytest.raises(SourceUnavailable) as caught:
            reader.read([])
    assert (
        str(caught.value)
        == "Reading users (page 2) failed after 5 attempts: HTTP 503 backendError: Backend Error."
    )
    assert len(emulator.requests("users")) == 1 + 5


def test_an_unreachable_endpoint_is_named() -> None:
    with google_emulator_in_thread(acme()) as emulator:
        key = emulator.service_account_key()
        reader = directory_for(emulator, key=key)
        reader.check_connection()  # token issued; now the API host goes away
        dead = GoogleDirectory.from_service_account_key(
            key, admin_email=ADMIN, api_endpoint="http://127.0.0.1:9", retry_base=0.01, max_attempts=2
        )
        dead._credentials = reader._credentials  # the same valid token, a dead API endpoint
        with pytest.raises(SourceUnavailable) as caught:
            dead.read([])
    assert str(caught.value).startswith(
        "Reading the customer failed: Google Workspace at http://127.0.0.1:9/ could not be reached ("
    )


def test_groups_search_matches_name_or_email_prefix(emulator: GoogleEmulator) -> None:
    found = directory_for(emulator).search_groups("pla")
    assert [(g.email, g.name, g.members) for g in found] == [("platform@acme.example", "Platform", 2)]
    assert [g.email for g in directory_for(emulator).search_groups("M")] == ["mobile@acme.example"]


def test_keyless_delegation_signs_through_iam_sign_jwt(emulator: GoogleEmulator) -> None:
    caller = emulator.allow_signing(SA)
    reader = GoogleDirectory.keyless(
        SA,
        admin_email=ADMIN,
        api_endpoint=emulator.url,
        token_uri=emulator.token_uri,
        iam_endpoint=emulator.url,
        source_credentials=static_token_credentials(caller),
    )
    assert reader.check_connection() == ("C03acme01", "acme.example")
    assert [r.status for r in emulator.requests("signJwt")] == [200]


def test_keyless_without_token_creator_is_named(emulator: GoogleEmulator) -> None:
    emulator.service_account(SA)
    reader = GoogleDirectory.keyless(
        SA,
        admin_email=ADMIN,
        api_endpoint=emulator.url,
        token_uri=emulator.token_uri,
        iam_endpoint=emulator.url,
        source_credentials=static_token_credentials("caller-without-rights"),
    )
    with pytest.raises(GoogleAuthError) as caught:
        reader.check_connection()
    assert str(caught.value) == (
        f"The operator's Google identity may not sign as {SA}; grant it "
        "roles/iam.serviceAccountTokenCreator on that service account."
    )


@pytest.mark.parametrize(
    ("include_suspended", "expected"),
    [
        (False, {"amelie@acme.example", "bjorn@acme.example"}),
        (True, {"amelie@acme.example", "bjorn@acme.example", "sus@acme.example", "arch@acme.example"}),
    ],
)
def test_suspended_and_archived_users_are_left_out_unless_included(
    emulator: GoogleEmulator, include_suspended: bool, expected: set[str]
) -> None:
    spec = GoogleProvisioningSpec.model_validate(
        {
            "google": {"adminEmail": ADMIN, "credentialsSecretRef": {"name": "g", "key": "k"}},
            "target": {
                "scim": {"url": "https://scim.example/v2", "tokenSecretRef": {"name": "s", "key": "t"}}
            },
            "members": {
                "from": "Groups",
                "groups": ["sales@acme.example", "platform@acme.example"],
                "includeSuspended": include_suspended,
            },
        }
    )
    directory = directory_for(emulator).read(source_groups(spec))
    people = desired_people(directory, spec)
    assert {person.primary_email for person in people.values()} == expected | {"kenji@acme.example"}
