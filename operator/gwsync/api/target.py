"""Which target a GoogleProvisioning writes to: its normalized SCIM URL and accountId.

A target is an account, not a URL: some services serve every customer at one SCIM URL and
tell them apart by token (controller.exclusivity explains why the token is not part of it).
Both the operator (one active integration per target) and `gwsync sync` (a --state file belongs
to one target) need one spelling per target, so it lives under both.
"""

import posixpath
import re
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
PERCENT_ENCODED = re.compile(r"%([0-9A-Fa-f]{2})")


def _percent_normalized(text: str) -> str:
    """RFC 3986 §6.2.2.1-2: unreserved characters decoded, every other escape in upper case."""

    def one(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in UNRESERVED else f"%{match.group(1).upper()}"

    return PERCENT_ENCODED.sub(one, text)


def _path_normalized(path: str) -> str:
    """Dot segments removed (RFC 3986 §5.2.4), empty segments and the trailing slash dropped."""
    path = re.sub(r"/{2,}", "/", _percent_normalized(path))
    if not path.strip("/"):
        return ""
    return posixpath.normpath("/" + path.lstrip("/")).rstrip("/")


def normalize_target_url(url: str) -> str:
    """One spelling per target (RFC 3986 §6.2.2-3): `https://Host.:443//v2/./x/..` is `https://host/v2`.

    Scheme and host lower-cased, the host's trailing dot and a default port dropped, dot and
    empty path segments removed, escapes of unreserved characters decoded (`%76%32` is `v2`)
    and the rest in upper case, the trailing slash and the fragment dropped, the query kept.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = _percent_normalized(parts.hostname or "").lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets
    try:
        port_number = parts.port
    except ValueError:  # not a port the API's schema would catch: keep its text, it names no other target
        port_number = None
        port = ":" + parts.netloc.rpartition(":")[2]
    else:
        port = f":{port_number}" if port_number and port_number != DEFAULT_PORTS.get(scheme) else ""
    path = _path_normalized(parts.path)
    query = f"?{_percent_normalized(parts.query)}" if parts.query else ""
    return f"{scheme}://{host}{port}{path}{query}"


def target_identity(url: str, account: str | None = None) -> str:
    """What makes two GoogleProvisionings rivals: the same normalized URL and the same account."""
    return f"{normalize_target_url(url)} account={account or ''}"
