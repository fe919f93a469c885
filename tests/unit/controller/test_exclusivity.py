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
