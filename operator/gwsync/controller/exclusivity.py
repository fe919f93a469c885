"""One active integration per target (DESIGN §3 rule 12, narrowed by issue 23), as a pure decision.

A target is an account, not a URL: some services serve every customer at one SCIM URL and
tell them apart by token. Its identity is the normalized URL (query string kept: some put the
tenant there) plus ``spec.target.scim.accountId`` when set. Not the token: two tokens of one
account are common (a rotation, one per administrator) and would let two integrations write
to one account, which is what this rule prevents; and the claims index runs on every event,
where reading Secrets would cost a request each.

Whoever may create a GoogleProvisioning must not be able to block another tenant's, so:

- only a claim whose token has authenticated at the target counts. The operator records that
  in ``status.target`` (digest of the target, time) when a sync's first read of the target
  succeeded, and clears it when the target refuses the token; tenants cannot write status.
  The holder is the claim that authenticated first (then the older, then namespace/name), so
  an older object that authenticates later does not take the target over. A claim with no
  authenticated rival goes ahead and syncs: its first read is what authenticates it.
- rivals are looked for in the claim's own namespace, unless the operator runs with
  ``gwsync run --cluster-wide-exclusivity``.
- a holder in another namespace is never named to the tenant it blocks.
"""

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gwsync.api.provisioning import GoogleProvisioningStatus
from gwsync.api.target import target_identity

# The phases a sync reaches only after the target accepted its token (the engine reads it first).
PAST_THE_TARGET_READ = frozenset({"Succeeded", "PartiallySucceeded", "Blocked"})


def target_digest(url: str, account: str | None = None) -> str:
    """The target's identity as `status.target.digest` records it (the URL's query may be private)."""
    return "sha256:" + hashlib.sha256(target_identity(url, account).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Claim:
    """One GoogleProvisioning's claim on a target."""

    namespace: str
    name: str
    created: str  # metadata.creationTimestamp (RFC 3339, whole seconds: sorts chronologically)
    target_url: str
    account: str | None = None  # spec.target.scim.accountId
    authenticated_at: datetime | None = None  # when its token first authenticated at this target

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def target(self) -> str:
        return target_identity(self.target_url, self.account)

    @property
    def digest(self) -> str:
        return target_digest(self.target_url, self.account)


def authentication_time(claim: Claim, status: Mapping[str, Any], generation: int | None) -> datetime | None:
    """When `claim`'s token first authenticated at its current target, by the operator's own status.

    `status.target` counts only for the target it names. Objects synced before it existed
    (an upgrade) show it by a sync of the current generation that got past the target read,
    so the integration that was active keeps its target until its next sync records it.
    """
    try:
        parsed = GoogleProvisioningStatus.model_validate(status or {})
    except ValueError:
        return None
    if parsed.target is not None:
        return parsed.target.authenticated_at if parsed.target.digest == claim.digest else None
    last = parsed.last_sync
    if (
        last is not None
        and last.phase in PAST_THE_TARGET_READ
        and generation is not None
        and parsed.synced_generation == generation
    ):
        return last.start_time
    return None


def rivals_of(claim: Claim, claims: Iterable[Claim], *, cluster_wide: bool = False) -> list[Claim]:
    """The other claims on `claim`'s target within scope (its namespace, or the whole cluster)."""
    return [
        other
        for other in claims
        if other.key != claim.key
        and other.target == claim.target
        and (cluster_wide or other.namespace == claim.namespace)
    ]


def active_holder(claim: Claim, claims: Iterable[Claim], *, cluster_wide: bool = False) -> Claim:
    """Who holds `claim`'s target: the first to authenticate there, else `claim` itself.

    `claims` may hold a stale copy of `claim`: the given one is what counts.
    """
    contenders = [
        (c.authenticated_at, c.created, c.namespace, c.name, c)
        for c in [*rivals_of(claim, claims, cluster_wide=cluster_wide), claim]
        if c.authenticated_at is not None
    ]
    if not contenders:
        return claim  # nobody holds it: go ahead; the first read of the target authenticates
    return min(contenders, key=lambda entry: entry[:4])[4]


def inactive_message(claim: Claim, holder: Claim) -> str:
    """The Active=False message: a holder in the same namespace is named, one elsewhere never."""
    account = f" (accountId {claim.account})" if claim.account else ""
    if holder.namespace != claim.namespace:
        return (
            f"Another GoogleProvisioning, in another namespace, is already active for "
            f"{claim.target_url}{account}; the operator allows one active integration per target in "
            "the whole cluster (gwsync run --cluster-wide-exclusivity). If they provision different "
            "accounts served at the same URL, set a distinct spec.target.scim.accountId; otherwise ask "
            "a cluster administrator."
        )
    return (
        f"GoogleProvisioning {holder.key} is already active for {claim.target_url}{account}; only "
        "one provisioning integration may be active per target. Delete one of them, or, if they "
        "provision different accounts served at the same URL, set a distinct "
        "spec.target.scim.accountId on each."
    )
