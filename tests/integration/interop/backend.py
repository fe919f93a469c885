"""What the scenario suite needs from a SCIM server under test, whatever the server is.

Every server of the matrix is wrapped in a `Backend`: where gwsync connects (url, token),
how a test seeds objects as another tool would, reads everything back, and counts the
requests gwsync sent (writes must be measured, not guessed). Servers differ in what they can
do; what one cannot do is declared in `limits`, with the server's own reason, and the
scenario then checks that the limit is really there (see scenarios.Check).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from gwsync.testing.scim import ScimAdmin

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    status: int

    @property
    def write(self) -> bool:
        return self.method in {"POST", "PUT", "PATCH", "DELETE"}


class Backend(Protocol):
    name: str
    url: str
    token: str
    limits: dict[str, str]
    """capability -> the server's own reason it cannot (shown in docs/targets.md)."""

    @property
    def log(self) -> list[Logged]: ...

    def reset_log(self) -> None: ...

    def seed_user(self, user_name: str, **attributes: Any) -> str: ...

    def seed_group(self, display_name: str, member_ids: Iterable[str] = ()) -> str: ...

    def users(self) -> list[dict[str, Any]]: ...

    def groups(self) -> list[dict[str, Any]]: ...

    def members(self, group_id: str) -> set[str]: ...


@dataclass
class HttpBackend(ScimAdmin):
    """A server reached over HTTP: seeding and reading back with the standard library.

    `direct` is the server's own URL (reads and seeds go there, unlogged); `url` is where
    gwsync connects, usually a fault proxy (gwsync.testing.faults) in front of it, logging every request.
    """

    name: str
    url: str
    token: str
    direct: str
    recorder: Any
    limits: dict[str, str] = field(default_factory=dict)
    page: int = 100
    auth: str = "Bearer"

    @property
    def log(self) -> list[Logged]:
        return [Logged(r.method, r.path, r.status) for r in self.recorder.log]

    def reset_log(self) -> None:
        self.recorder.log.clear()

    def admin_base(self) -> str:
        return self.direct

    @property
    def admin_scheme(self) -> str:  # type: ignore[override]
        return self.auth

    @property
    def admin_page(self) -> int:  # type: ignore[override]
        return self.page

    def members(self, group_id: str) -> set[str]:
        group = self.call("GET", f"/Groups/{group_id}")
        return {str(m["value"]) for m in group.get("members") or []}

    def raw(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str = ""
    ) -> tuple[int, Any]:
        """The status and the body of one request to the server itself, whatever the status
        (a body that is not JSON as text): what a server answers, for its quirk tests."""
        request = urllib.request.Request(
            self.direct + path, data=None if body is None else json.dumps(body).encode(), method=method
        )
        request.add_header("Authorization", f"Bearer {token or self.token}")
        request.add_header("Content-Type", "application/scim+json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        try:
            return status, json.loads(payload) if payload else None
        except ValueError:
            return status, payload.decode(errors="replace")
