"""The servers of the matrix, each started from its registry package on loopback.

`SERVERS` maps a row of docs/targets.md to a context manager yielding a fresh `Backend`
(an empty server, or one wiped clean), or to the reason it cannot run on this machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gwsync.testing.aws_scim import AwsIdentityCenter, aws_identity_center_in_thread
from gwsync.testing.recorder import recording_in_thread
from gwsync.testing.scim import ScimServer, run_scim_server

from .backend import Backend, HttpBackend, Logged


@dataclass
class Scim2Server:
    """scim2-server (PyPI), in a thread, with its own request log."""

    server: ScimServer
    name: str = "scim2-server"
    limits: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def token(self) -> str:
        return self.server.token

    @property
    def log(self) -> list[Logged]:
        return [Logged(r.method, r.path, r.status) for r in self.server.request_log]

    def reset_log(self) -> None:
        self.server.reset_log()

    def seed_user(self, user_name: str, **attributes: Any) -> str:
        return self.server.seed_user(user_name, **attributes)

    def seed_group(self, display_name: str, member_ids: Iterable[str] = ()) -> str:
        return self.server.seed_group(display_name, member_ids)

    def users(self) -> list[dict[str, Any]]:
        return self.server.users()

    def groups(self) -> list[dict[str, Any]]:
        return self.server.groups()

    def members(self, group_id: str) -> set[str]:
        group = self.server.call("GET", f"/Groups/{group_id}")
        return {str(m["value"]) for m in group.get("members") or []}


@contextmanager
def scim2_server() -> Iterator[Backend]:
    with run_scim_server() as server:
        yield Scim2Server(server)


AWS_LIMITS = {
    "photos": "AWS: photos is not a supported user attribute (Supported user and group attributes "
    "in IAM Identity Center); gwsync does not send it",
}


@dataclass
class AwsBackend(HttpBackend):
    """The AWS IAM Identity Center emulator: read back from its store (AWS hides members)."""

    emulator: AwsIdentityCenter | None = None

    def users(self) -> list[dict[str, Any]]:
        assert self.emulator is not None
        return self.emulator.all_users()

    def groups(self) -> list[dict[str, Any]]:
        assert self.emulator is not None
        return self.emulator.all_groups()

    def members(self, group_id: str) -> set[str]:
        assert self.emulator is not None
        return self.emulator.members(group_id)


@contextmanager
def aws_identity_center(emulator: AwsIdentityCenter | None = None) -> Iterator[Backend]:
    with aws_identity_center_in_thread(emulator) as served:
        yield AwsBackend(
            name="AWS IAM Identity Center (emulator)",
            url=served.url,
            token=served.token,
            direct=served.url,
            recorder=served,
            limits=dict(AWS_LIMITS),
            emulator=served,
        )


DJANGO = "django-scim2-server"
STORES_ONLY = (
    "django-scim2-server's DefaultUserAdapter stores userName, name.givenName, name.familyName, "
    "one email, active and externalId only; the rest is dropped"
)
DJANGO_LIMITS: dict[str, str] = {
    "displayName": STORES_ONLY,
    "title": STORES_ONLY,
    "userType": STORES_ONLY,
    "photos": STORES_ONLY,
    "department": "its /ResourceTypes has no enterprise extension and a User carrying one is refused "
    "(400 extra_forbidden), so gwsync does not send it",
    "delete": "DELETE only deactivates the user (DefaultUserAdapter.delete sets active=false)",
}


@contextmanager
def django_scim2_server() -> Iterator[Backend]:
    from .launchers import django_scim2

    with (
        django_scim2.serving() as url,
        recording_in_thread(url.removesuffix("/scim/v2"), "/scim/v2") as proxy,
    ):
        yield HttpBackend(DJANGO, proxy.url, django_scim2.TOKEN, url, proxy, dict(DJANGO_LIMITS))


SCIMMY = "SCIMMY + scimmy-routers"
SCIMMY_APP = Path(__file__).resolve().parent / "launchers" / "scimmy"
SCIMMY_TOKEN = "scimmy-token"


@contextmanager
def scimmy_server() -> Iterator[Backend]:
    """SCIMMY 1.3.5 + scimmy-routers 1.3.2 on express 4 (launchers/scimmy), a fresh process."""
    from .launchers import node

    with (
        node.serving(SCIMMY_APP, "server.cjs", {"SCIMMY_TOKEN": SCIMMY_TOKEN}) as port,
        recording_in_thread(f"http://127.0.0.1:{port}", "/scim/v2") as proxy,
    ):
        url = f"http://127.0.0.1:{port}/scim/v2"
        yield HttpBackend(SCIMMY, proxy.url, SCIMMY_TOKEN, url, proxy, {})


SERVERS: dict[str, Callable[[], AbstractContextManager[Backend]]] = {
    "scim2-server": scim2_server,
    "AWS IAM Identity Center (emulator)": aws_identity_center,
    DJANGO: django_scim2_server,
    SCIMMY: scimmy_server,
}
