"""Only the oldest GoogleProvisioning of a target is active."""

from gwsync.controller.exclusivity import Claim, active_holder, normalize_target_url


def test_urls_naming_the_same_target_normalize_equal() -> None:
    assert normalize_target_url("HTTPS://Acme.Example.com:443/scim/v2/") == normalize_target_url(
        "https://acme.example.com/scim/v2"
    )
    assert normalize_target_url("https://acme.example.com:8443/scim") != normalize_target_url(
        "https://acme.example.com/scim"
    )


def test_the_oldest_claim_on_a_target_is_active() -> None:
    first = Claim("team-a", "acme", "2026-11-01T00:00:00Z", "https://acme.example.com/scim/v2")
    second = Claim("team-b", "acme-copy", "2026-11-02T00:00:00Z", "https://ACME.example.com/scim/v2/")
    other = Claim("team-c", "globex", "2026-10-01T00:00:00Z", "https://globex.example.com/scim")
    everyone = [first, second, other]
    assert active_holder(second, everyone) == first
    assert active_holder(first, everyone) == first
    assert active_holder(other, everyone) == other
    # Once the first is deleted, the second becomes active.
    assert active_holder(second, [second, other]) == second


URL = "https://scim.saas.example/v2"


def test_accounts_served_at_one_url_are_different_targets() -> None:
    tenant_a = Claim("team-a", "acme", "2026-11-01T00:00:00Z", URL, "acme.example")
    tenant_b = Claim("team-b", "globex", "2026-11-02T00:00:00Z", URL + "/", "globex.example")
    everyone = [tenant_a, tenant_b]
    assert active_holder(tenant_b, everyone) == tenant_b
    assert active_holder(tenant_a, everyone) == tenant_a


def test_one_account_at_one_url_is_one_target() -> None:
    first = Claim("team-a", "acme", "2026-11-01T00:00:00Z", URL, "acme.example")
    again = Claim(
        "team-b", "acme-copy", "2026-11-02T00:00:00Z", "HTTPS://scim.saas.example/v2", "acme.example"
    )
    unnamed = Claim("team-c", "acme-old", "2026-10-01T00:00:00Z", URL)  # no accountId: another target
    assert active_holder(again, [first, again, unnamed]) == first
    assert active_holder(unnamed, [first, again, unnamed]) == unnamed


def test_the_query_string_is_part_of_the_target() -> None:
    assert normalize_target_url(URL + "?tenant=acme") != normalize_target_url(URL + "?tenant=globex")
    assert normalize_target_url(URL + "/?tenant=acme") == normalize_target_url(URL + "?tenant=acme")
