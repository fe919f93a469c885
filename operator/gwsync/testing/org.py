"""An organization snapshot (DESIGN §6): what the Google emulator serves.

The same YAML is what `gwsync sync --directory-file` reads, so the model is strict: an
unknown key or a member that names nobody is refused with the path of the mistake.
"""

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Self, TypeVar

import yaml
from pydantic import Field, ValidationError, model_validator

from gwsync.api.base import ApiModel

Item = TypeVar("Item")


class OrgCustomer(ApiModel):
    """The Workspace customer: its id and primary domain."""

    id: str = Field(default="C01emulat", min_length=1)
    primary_domain: str = Field(default="example.com", min_length=1)


class OrgEntry(ApiModel):
    """One entry of a user's phones, externalIds or relations, as the Directory API holds it."""

    value: str = Field(min_length=1)
    type: str = "work"
    custom_type: str | None = None
    primary: bool | None = None


class OrgUser(ApiModel):
    """One Workspace user, with the attributes gwsync reads."""

    id: str = Field(min_length=1)
    primary_email: str = Field(min_length=3)
    given_name: str = ""
    family_name: str = ""
    suspended: bool = False
    archived: bool = False
    title: str | None = None
    department: str | None = None
    employee_type: str | None = None
    photo_url: str | None = None
    photo_etag: str | None = None
    cost_center: str | None = None  # organizations[].costCenter
    manager: str | None = None  # relations[] of type manager: the manager's email
    phones: list[OrgEntry] = Field(default_factory=list)
    external_ids: list[OrgEntry] = Field(default_factory=list)
    relations: list[OrgEntry] = Field(default_factory=list)
    custom_schemas: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """customSchemas: schema name -> field -> value (served with projection=custom or full)."""


class OrgGroup(ApiModel):
    """A Google group; members are user or group emails (groups nest, cycles allowed), or the
    customer id: the whole organization (a member of type CUSTOMER)."""

    email: str = Field(min_length=3)
    name: str = ""
    members: list[str] = Field(default_factory=list)


class OrgError(Exception):
    """A snapshot file that cannot be used; str() names the file and the mistake."""


class Org(ApiModel):
    """A whole organization: customer, admins (delegation subjects), users and groups."""

    customer: OrgCustomer = Field(default_factory=OrgCustomer)
    admins: list[str] = Field(default_factory=list)
    users: list[OrgUser] = Field(default_factory=list)
    groups: list[OrgGroup] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [u.id for u in self.users]
        if len(ids) != len(set(ids)):
            raise ValueError("user ids must be unique")
        emails = {u.primary_email.lower() for u in self.users}
        if len(emails) != len(self.users):
            raise ValueError("user primaryEmail values must be unique")
        for admin in self.admins:
            if admin.lower() not in emails:
                raise ValueError(f"admin {admin} is not one of the users")
        return self

    def user(self, email: str) -> OrgUser:
        """The user with this primary email (case-insensitive); KeyError if none."""
        return _by_email(self.users, email, lambda user: user.primary_email)

    def group(self, email: str) -> OrgGroup:
        """The group with this email (case-insensitive); KeyError if none."""
        return _by_email(self.groups, email, lambda group: group.email)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_wire(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, text: str, source: str = "<snapshot>") -> "Org":
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise OrgError(f"{source} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise OrgError(f"{source} must hold a mapping with customer, admins, users and groups.")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            # users[0].primaryEmail, the way `gwsync validate` names fields
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
            where = where or "(top level)"
            raise OrgError(f"{source}: {where}: {first['msg']}.") from exc


def _by_email(items: Iterable[Item], email: str, email_of: Callable[[Item], str]) -> Item:
    """The item with this email (case-insensitive); KeyError if none."""
    wanted = email.lower()
    found = next((item for item in items if email_of(item).lower() == wanted), None)
    if found is None:
        raise KeyError(email)
    return found


def load_org(path: Path | str) -> Org:
    """Read a snapshot file; OrgError names the file and the first mistake."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OrgError(f"{path} cannot be read: {exc.strerror}.") from exc
    return Org.from_yaml(text, str(path))


def sample_org() -> Org:
    """The bundled demo organization (a few dozen people, nested groups)."""
    return load_org(Path(__file__).parent / "data" / "sample-org.yaml")
