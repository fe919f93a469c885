"""One active integration per target (DESIGN §3 rule 12), as a pure decision.

Among GoogleProvisionings pointing at the same target, the oldest is active; ties on
creation time go to namespace/name order so every replica and every restart decides the
same way.

A target is an account, not a URL: some services serve every customer at one SCIM URL and
tell them apart by token. Its identity is the normalized URL (query string kept: some put the
tenant there) plus ``spec.target.scim.accountId`` when set. Not the token: two tokens of one
account are common (a rotation, one per administrator) and would let two integrations write
to one account, which is what this rule prevents; and the claims index runs on every event,
where reading Secrets would cost a request each.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_target_url(url: str) -> str:
    """Scheme and host lower-cased, default port and trailing slash dropped, query kept."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port and parts.port != DEFAULT_PORTS.get(scheme) else ""
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{host}{port}{path}{query}"


def target_identity(url: str, account: str | None = None) -> str:
    """What makes two GoogleProvisionings rivals: the same normalized URL and the same account."""
    return f"{normalize_target_url(url)} account={account or ''}"


@dataclass(frozen=True)
class Claim:
    """One GoogleProvisioning's claim on a target."""

    namespace: str
    name: str
    created: str  # metadata.creationTimestamp (RFC 3339, sorts chronologically)
    target_url: str
    account: str | None = None  # spec.target.scim.accountId

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def target(self) -> str:
        return target_identity(self.target_url, self.account)


def active_holder(claim: Claim, claims: Iterable[Claim]) -> Claim:
    """Who holds `claim`'s target: the oldest claim on the same URL and account."""
    rivals = [c for c in claims if c.target == claim.target]
    if claim.key not in {c.key for c in rivals}:
        rivals.append(claim)
    return min(rivals, key=lambda c: (c.created, c.namespace, c.name))
