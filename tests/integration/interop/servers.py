"""The servers of the matrix, each started from its registry package on loopback.

`SERVERS` maps a row of docs/targets.md to a context manager yielding a fresh `Backend`
(an empty server, or one wiped clean), or to the reason it cannot run on this machine.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gwsync.testing.aws_scim import AwsIdentityCenter, aws_identity_center_in_thread
from gwsync.testing.faults import fault_proxy_in_thread
from gwsync.testing.scim import ScimServer, run_scim_server

from .backend import GROUP_SCHEMA, Backend, HttpBackend, Logged
from .launchers.node import Unavailable


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
        fault_proxy_in_thread(url.removesuffix("/scim/v2"), "/scim/v2") as proxy,
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
        fault_proxy_in_thread(f"http://127.0.0.1:{port}", "/scim/v2") as proxy,
    ):
        url = f"http://127.0.0.1:{port}/scim/v2"
        yield HttpBackend(SCIMMY, proxy.url, SCIMMY_TOKEN, url, proxy, {})


CANAILLE = "Canaille (pytest-iam)"
CANAILLE_LIMITS: dict[str, str] = {
    "externalId": "its User schema declares externalId readOnly, returned never: Canaille does not "
    "store it (gwsync knows its users there by its ledger, and cannot tell another tool's user)",
    "photos": "its User schema declares photos readOnly (Canaille serves its own uploaded photo); "
    "gwsync does not send it",
    "userType": "its User schema has no userType and a User carrying one is refused (400 Extra "
    "inputs are not permitted); gwsync does not send it",
    "rename": "its User schema declares userName immutable and a PATCH of userName answers 500 "
    "(MutabilityException); the rename fails its item with that reason",
    "uniqueness": "it does not enforce userName uniqueness: a second user with a taken userName "
    "is created (201)",
    "team externalId": "its Group schema declares externalId readOnly, returned never: Canaille does "
    "not store it on groups, so gwsync sends none (a team is known there by the ledger and its name)",
    "team rename": "its groups keep no externalId (see team externalId), so nothing ties the group "
    "of a team renamed in the spec to its Google group: the renamed team gets a new group",
}


@dataclass
class CanailleBackend(HttpBackend):
    """Canaille's SCIM API, seeded and read as its schema wants.

    `count` is a 500 there, so lists are asked without it (one page holding everything);
    its schema requires active and name.formatted, knows no emails.type/primary, and a new
    group's members need a $ref.
    """

    def _all(self, path: str) -> list[dict[str, Any]]:
        return list(self.call("GET", path).get("Resources") or [])

    def seed_user(self, user_name: str, **attributes: Any) -> str:
        name = dict(attributes.pop("name", None) or {"familyName": user_name})  # familyName: required
        name.setdefault("formatted", " ".join(filter(None, (name.get("givenName"), name["familyName"]))))
        emails = [{"value": e["value"]} for e in attributes.pop("emails", None) or []]
        attributes.setdefault("active", True)  # required by its schema
        return super().seed_user(user_name, name=name, emails=emails, **attributes)

    def seed_group(self, display_name: str, member_ids: Iterable[str] = ()) -> str:
        members = [{"value": m, "$ref": f"{self.direct}/Users/{m}"} for m in member_ids]
        payload = {"schemas": [GROUP_SCHEMA], "displayName": display_name, "members": members}
        return str(self.call("POST", "/Groups", payload)["id"])


@contextmanager
def canaille_server() -> Iterator[Backend]:
    """Canaille 0.3.6 via pytest-iam 0.3.0, in its own virtualenv (launchers/canaille_iam.py)."""
    from .launchers import canaille_iam

    with (
        canaille_iam.serving() as (url, token),
        fault_proxy_in_thread(url.removesuffix("/scim/v2"), "/scim/v2") as proxy,
    ):
        yield CanailleBackend(CANAILLE, proxy.url, token, url, proxy, dict(CANAILLE_LIMITS))


GO_SCIM = "elimity-com/scim (Go)"
GO_SCIM_APP = Path(__file__).resolve().parent / "launchers" / "goscim"
GO_SCIM_TOKEN = "goscim-token"
GO_SCIM_LIMITS: dict[str, str] = {}


@contextmanager
def go_scim_server() -> Iterator[Backend]:
    """github.com/elimity-com/scim (Go module proxy) in our app (launchers/goscim), a fresh process."""
    from .launchers import go

    with (
        go.serving(GO_SCIM_APP, {"GOSCIM_TOKEN": GO_SCIM_TOKEN}) as port,
        fault_proxy_in_thread(f"http://127.0.0.1:{port}", "/scim/v2") as proxy,
    ):
        url = f"http://127.0.0.1:{port}/scim/v2"
        yield HttpBackend(GO_SCIM, proxy.url, GO_SCIM_TOKEN, url, proxy, dict(GO_SCIM_LIMITS))


SCIM_SDK = "scim-sdk-server (Java)"
SCIM_SDK_LIMITS: dict[str, str] = {}


@contextmanager
def scim_sdk_server() -> Iterator[Backend]:
    """scim-sdk-server 1.30.0 in our Java app (launchers/javascim), one process per test process, wiped."""
    from .launchers import javascim

    with (
        javascim.serving() as url,
        fault_proxy_in_thread(url.removesuffix("/scim/v2"), "/scim/v2") as proxy,
    ):
        yield HttpBackend(SCIM_SDK, proxy.url, javascim.TOKEN, url, proxy, dict(SCIM_SDK_LIMITS))


SERVERS: dict[str, Callable[[], AbstractContextManager[Backend]]] = {
    "scim2-server": scim2_server,
    "AWS IAM Identity Center (emulator)": aws_identity_center,
    DJANGO: django_scim2_server,
    SCIMMY: scimmy_server,
    CANAILLE: canaille_server,
    GO_SCIM: go_scim_server,
    SCIM_SDK: scim_sdk_server,
}


def unavailable(reason: str) -> None:
    """A server that cannot be installed or started here: its tests skip, in CI they fail."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"server unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def started(name: str) -> Iterator[HttpBackend]:
    """One server of SERVERS reached over HTTP, for its own quirk tests (or the skip, or the failure)."""
    try:
        with SERVERS[name]() as served:
            assert isinstance(served, HttpBackend)
            yield served
    except Unavailable as exc:
        unavailable(f"{name}: {exc}")
