"""Formats the GoogleProvisioning fields share: emails, Go durations, TLS-or-loopback URLs.

Each comes in the two forms the module docstring of gwsync.api.provisioning explains: a
pydantic check and the CEL rule or pattern the API server applies.
"""

import re
from datetime import timedelta
from typing import Annotated

import durationpy
from pydantic import Field
from pydantic.config import JsonDict

from gwsync.api.base import cel

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"
Email = Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=320)]
DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"
# Plain http only to a loopback host: localhost, 127.x.y.z or [::1], then a port, a path or the
# end. A prefix test let http://localhost.attacker.example/ and http://localhost@attacker.example/
# through, sending the token in the clear to another host.
LOOPBACK_HTTP = r"^http://(localhost|127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|\[::1\])(:[0-9]{1,5})?(/.*)?$"
LOOPBACK_HTTP_CEL = LOOPBACK_HTTP.replace("\\", "\\\\")  # inside a CEL string literal


def parse_interval(text: str) -> timedelta:
    """A Go-style duration ("24h", "1h30m") as Kubernetes users write them."""
    try:
        return timedelta(seconds=durationpy.from_str(text).total_seconds())
    except Exception as exc:  # durationpy raises bare Exceptions for bad input
        raise ValueError(
            f"'{text}' is not a duration; write it like 24h, 12h or 1h30m (Go duration syntax)"
        ) from exc


def is_loopback_http(url: str) -> bool:
    """Plain http is only for loopback (tests and the demo); everything else is TLS."""
    return re.match(LOOPBACK_HTTP, url) is not None


def tls_or_loopback_rule(field: str, message: str) -> JsonDict:
    """The CEL form of `https:// or is_loopback_http` for one field of the object."""
    return cel(
        f"self.{field}.startsWith('https://') || self.{field}.matches('{LOOPBACK_HTTP_CEL}')",
        message,
        f".{field}",
    )
