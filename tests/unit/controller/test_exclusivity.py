"""One active GoogleProvisioning per target: the first whose token authenticated there, per namespace."""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from gwsync.api.target import normalize_target_url
from gwsync.controller.exclusivity import (
    Claim,
    active_holder,
    authentication_time,
    inactive_message,
    target_digest,
)

URL = "https://scim.saas.example/v2"
T1 = datetime(2026, 11, 1, tzinfo=UTC)
T2 = datetime(2026, 11, 2, tzinfo=UTC)
T3 = datetime(2026, 11, 3, tzinfo=UTC)


def claim(
    namespace: str,
    name: str,
    created: str = "2026-11-01T00:00:00Z",
    url: str = URL,
    account: str | None = None,
    authenticated: datetime | None = T1,
) -> Claim:
    return Claim(namespace, name, created, url, account, authenticated)


@pytest.mark.parametrize(
    "spelling",
    [
        "HTTPS://Scim.SaaS.Example/v2",
        "https://scim.saas.example:443/v2",
        "https://scim.saas.example./v2",
        "https://scim.saas.example/v2/",
        "https://scim.saas.example/v2/.",
        "https://scim.saas.example/v2/./",
        "https://scim.saas.example/v2/../v2",
        "https://scim.saas.example/x/../v2",
        "https://scim.saas.example//v2",
        "https://scim.saas.example/v2//",
        "https://scim.saas.example/%76%32",
        "https://scim.saas.example/%76%32/",
        "https://scim.saas.example/v2#fragment",
        "  https://scim.saas.example/v2  ",
    ],
)
def test_spellings_of_one_target_normalize_equal(spelling: str) -> None:
    assert normalize_target_url(spelling) == "https://scim.saas.example/v2"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://scim.saas.example/a%2fb", "https://scim.saas.example/a%2Fb"),  # escape case
        ("https://scim.saas.example/v2?tenant=%7e", "https://scim.saas.example/v2?tenant=~"),
        ("http://127.0.0.1:80/v2", "http://127.0.0.1/v2"),
        ("http://[::1]:8080/v2", "http://[::1]:8080/v2/"),
        ("https://scim.saas.example", "https://scim.saas.example/"),
    ],
)
def test_escapes_ports_and_empty_paths_normalize_equal(one: str, other: str) -> None:
    assert normalize_target_url(one) == normalize_target_url(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://scim.saas.example:8443/v2", URL),  # another port
        ("https://scim.saas.example/a%2Fb", "https://scim.saas.example/a/b"),  # an escaped slash is data
        ("https://scim.saas.example/V2", URL),  # the path is case-sensitive
        (URL + "?tenant=acme", URL + "?tenant=globex"),  # the query is part of the target
        ("http://scim.saas.example/v2", URL),
    ],
)
def test_different_targets_stay_different(one: str, other: str) -> None:
    assert normalize_target_url(one) != normalize_target_url(other)


def test_the_query_string_is_kept_without_the_trailing_slash() -> None:
    assert normalize_target_url(URL + "/?tenant=acme") == normalize_target_url(URL + "?tenant=acme")
    assert normalize_target_url("http://[::1]:8080/v2") == "http://[::1]:8080/v2"


def test_two_objects_in_one_namespace_spelling_one_target_differently_are_rivals() -> None:
    first = claim("team-a", "acme", url="https://scim.saas.example./v2/.")
    again = claim(
        "team-a",
        "acme-copy",
        "2026-11-02T00:00:00Z",
        url="https://scim.saas.example//%76%32",
        authenticated=None,
    )
    assert active_holder(again, [first, again]) == first
    assert first.target == again.target


def test_the_first_to_authenticate_holds_the_target_not_the_oldest() -> None:
    older = claim("team-a", "acme-old", "2026-10-01T00:00:00Z", authenticated=T2)
    newer = claim("team-a", "acme", "2026-11-01T00:00:00Z", authenticated=T1)
    assert active_holder(older, [older, newer]) == newer
    assert active_holder(newer, [older, newer]) == newer
    # Both at once: the older one, then namespace/name.
    tie = replace(older, authenticated_at=T1)
    assert active_holder(newer, [tie, newer]) == tie


def test_a_claim_that_never_authenticated_holds_nothing() -> None:
    squatter = claim("team-a", "squatter", "2026-01-01T00:00:00Z", authenticated=None)
    late = claim("team-a", "acme", "2026-11-01T00:00:00Z", authenticated=None)
    # Nobody authenticated: each goes ahead, and its first read of the target authenticates it.
    assert active_holder(late, [squatter, late]) == late
    assert active_holder(squatter, [squatter, late]) == squatter
    # Once one has authenticated, the other (older or not) is not active.
    authenticated = replace(late, authenticated_at=T3)
    assert active_holder(squatter, [squatter, authenticated]) == authenticated
    assert active_holder(authenticated, [squatter, authenticated]) == authenticated


def test_the_given_claim_counts_rather_than_its_stale_copy_in_the_index() -> None:
    rival = claim("team-a", "acme", authenticated=T2)
    stale = claim("team-a", "acme-copy", authenticated=None)
    fresh = replace(stale, authenticated_at=T1)
    assert active_holder(fresh, [rival, stale]) == fresh


def test_rivals_are_looked_for_in_the_namespace_by_default() -> None:
    theirs = claim("team-b", "acme", "2026-01-01T00:00:00Z", authenticated=T1)
    mine = claim("team-a", "acme", "2026-11-01T00:00:00Z", authenticated=T3)
    assert active_holder(mine, [theirs, mine]) == mine
    assert active_holder(theirs, [theirs, mine]) == theirs


def test_the_cluster_wide_flag_looks_for_rivals_in_every_namespace() -> None:
    theirs = claim("team-b", "acme", "2026-01-01T00:00:00Z", authenticated=T1)
    mine = claim("team-a", "acme", "2026-11-01T00:00:00Z", authenticated=T3)
    assert active_holder(mine, [theirs, mine], cluster_wide=True) == theirs
    # A rival elsewhere that never authenticated still holds nothing.
    squatter = replace(theirs, authenticated_at=None)
    assert active_holder(mine, [squatter, mine], cluster_wide=True) == mine
    assert active_holder(replace(mine, authenticated_at=None), [squatter], cluster_wide=True).key == mine.key


def test_accounts_served_at_one_url_are_different_targets() -> None:
    tenant_a = claim("team-a", "acme", account="acme.example", authenticated=T1)
    tenant_b = claim("team-a", "globex", url=URL + "/", account="globex.example", authenticated=T2)
    again = claim(
        "team-a", "acme-copy", url=URL.upper().replace("/V2", "/v2"), account="acme.example", authenticated=T2
    )
    unnamed = claim("team-a", "acme-old", authenticated=T1)  # no accountId: another target
    everyone = [tenant_a, tenant_b, again, unnamed]
    assert active_holder(tenant_b, everyone) == tenant_b
    assert active_holder(tenant_a, everyone) == tenant_a
    assert active_holder(again, everyone) == tenant_a
    assert active_holder(unnamed, everyone) == unnamed


def test_a_holder_in_another_namespace_is_never_named() -> None:
    mine = claim("team-a", "acme", account="acme.example", authenticated=None)
    theirs = claim("team-b", "secret-project", account="acme.example")
    message = inactive_message(mine, theirs)
    assert message == (
        f"Another GoogleProvisioning, in another namespace, is already active for {URL} (accountId "
        "acme.example); the operator allows one active integration per target in the whole cluster "
        "(gwsync run --cluster-wide-exclusivity). If they provision different accounts served at the "
        "same URL, set a distinct spec.target.scim.accountId; otherwise ask a cluster administrator."
    )
    assert "team-b" not in message and "secret-project" not in message


def test_a_holder_in_the_same_namespace_is_named() -> None:
    mine = claim("team-a", "acme-copy", authenticated=None)
    assert inactive_message(mine, claim("team-a", "acme")) == (
        f"GoogleProvisioning team-a/acme is already active for {URL}; only one provisioning "
        "integration may be active per target. Delete one of them, or, if they provision different "
        "accounts served at the same URL, set a distinct spec.target.scim.accountId on each."
    )


def status_of(url: str, at: str, account: str | None = None) -> dict[str, Any]:
    return {"target": {"digest": target_digest(url, account), "authenticatedAt": at}}


def test_the_recorded_authentication_counts_only_for_the_target_it_names() -> None:
    mine = claim("team-a", "acme", authenticated=None)
    assert (
        authentication_time(mine, status_of("https://SCIM.saas.example/v2/", "2026-11-01T00:00:00Z"), 1) == T1
    )
    assert authentication_time(mine, status_of("https://other.example/v2", "2026-11-01T00:00:00Z"), 1) is None
    assert authentication_time(mine, status_of(URL, "2026-11-01T00:00:00Z", "acme.example"), 1) is None
    assert authentication_time(mine, {}, 1) is None


def test_a_provisioning_synced_before_the_record_existed_keeps_its_target() -> None:
    """An upgrade: the integration that was active shows its authentication by its last sync."""
    mine = claim("team-a", "acme", authenticated=None)
    synced = {
        "syncedGeneration": 3,
        "lastSync": {"phase": "Succeeded", "startTime": "2026-11-01T00:00:00Z"},
    }
    assert authentication_time(mine, synced, 3) == T1
    assert authentication_time(mine, synced, 4) is None  # the spec changed since: maybe the URL
    failed = {**synced, "lastSync": {"phase": "Failed", "startTime": "2026-11-01T00:00:00Z"}}
    assert authentication_time(mine, failed, 3) is None
