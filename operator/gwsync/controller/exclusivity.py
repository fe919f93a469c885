"""One active integration per target (DESIGN §3 rule 12), as a pure decision.

Among GoogleProvisionings pointing at the same target (same normalized SCIM URL), the
oldest is active; ties on creation time go to namespace/name order so every replica and
every restart decides the same way.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_target_url(url: str) -> str:
    """Scheme and host lower-cased, default port and trailing slash dropped."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port and parts.port != DEFAULT_PORTS.get(scheme) else ""
    path = parts.path.rstrip("/")
    return f"{scheme}://{host}{port}{path}"


@dataclass(frozen=True)
class Claim:
    """One GoogleProvisioning's claim on a target."""

    namespace: str
    name: str
    created: str  # metadata.creationTimestamp (RFC 3339, sorts chronologically)
    target_url: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def active_holder(claim: Claim, claims: Iterable[Claim]) -> Claim:
    """Who holds `claim`'s target: the oldest claim on the same normalized URL."""
    target = normalize_target_url(claim.target_url)
    rivals = [c for c in claims if normalize_target_url(c.target_url) == target]
    if claim.key not in {c.key for c in rivals}:
        rivals.append(claim)
    return min(rivals, key=lambda c: (c.created, c.namespace, c.name))
