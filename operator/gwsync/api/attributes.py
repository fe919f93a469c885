"""spec.attributes: which Google user field (or constant) fills which SCIM attribute.

Today's fixed mapping is the default (DEFAULT_MAPPINGS); a mapping with the same target
replaces a default, any other adds an attribute. userName, externalId, active and photos are
gwsync's own (the identity and the lifecycle of the user) and are never mapped.

The names are plain strings checked against two small grammars, written once here as
regular expressions (RE2-compatible, so the CRD's CEL rules use the very same ones):
- targets: a core User attribute by its SCIM path, an enterprise extension attribute by its
  name, or `<extension schema URN>:<attribute>` for a custom extension;
- sources: a Directory API user field, a field of one entry of a list (`phones[type=work].value`:
  the first entry of that type; without `[type=...]` the primary entry, else the first), or
  `customSchemas.<schema>.<field>`.
"""

import re
from enum import StrEnum
from typing import Final

from pydantic import Field, ValidationInfo, field_validator, model_validator

from gwsync.api.base import ApiModel, cel, first_repeated, validations

CORE_TARGETS: Final = (
    "emails",
    "name.givenName",
    "name.familyName",
    "name.middleName",
    "name.honorificPrefix",
    "name.honorificSuffix",
    "name.formatted",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
)
PHONE_TYPES: Final = ("work", "mobile", "home", "fax", "pager", "other")
ENTERPRISE_TARGETS: Final = (
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
)
FIXED_TARGETS: Final = ("userName", "externalId", "active", "photos")
MANAGER: Final = "manager"
CORE_URN: Final = "urn:ietf:params:scim:schemas:core:2.0:"
ENTERPRISE_URN: Final = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

SCALAR_SOURCES: Final = (
    "id",
    "primaryEmail",
    "name.givenName",
    "name.familyName",
    "name.fullName",
    "orgUnitPath",
    "isAdmin",
)
BOOLEAN_SOURCES: Final = ("isAdmin",)
LIST_SOURCES: Final = {
    "organizations": (
        "title",
        "department",
        "description",
        "costCenter",
        "name",
        "location",
        "domain",
        "symbol",
    ),
    "phones": ("value",),
    "externalIds": ("value",),
    "relations": ("value",),
    "emails": ("address",),
}
CUSTOM_SOURCE: Final = r"customSchemas\.([A-Za-z][A-Za-z0-9_]*)\.([A-Za-z][A-Za-z0-9_]*)"


def phone_target(kind: str) -> str:
    return f'phoneNumbers[type eq "{kind}"].value'


def _escape(text: str) -> str:
    """A literal in a regular expression both Python and RE2 (the API server's CEL) read alike."""
    return re.sub(r"([.\[\](){}*+?|^$\\])", r"\\\1", text)


def _alternatives(names: list[str]) -> str:
    return "|".join(_escape(name) for name in names)


KNOWN_TARGETS: Final = (*CORE_TARGETS, *(phone_target(kind) for kind in PHONE_TYPES), *ENTERPRISE_TARGETS)
CUSTOM_TARGET: Final = (
    r"urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}(:[A-Za-z0-9()+,.=@;$_!*'%/?#-]+)+:[A-Za-z][A-Za-z0-9_-]*"
)
TARGET_PATTERN: Final = f"^({_alternatives(list(KNOWN_TARGETS))}|{CUSTOM_TARGET})$"
LIST_PATTERN: Final = "|".join(
    f"{name}(\\[type=[^\\]=]+\\])?\\.({'|'.join(fields)})" for name, fields in LIST_SOURCES.items()
)
SOURCE_PATTERN: Final = f"^({_alternatives(list(SCALAR_SOURCES))}|{LIST_PATTERN}|{CUSTOM_SOURCE})$"

EXACTLY_ONE_MESSAGE: Final = "set exactly one of source (a Google user field) or constant (a fixed value)"
FIXED_MESSAGE: Final = (
    "userName, externalId, active and photos are set by gwsync itself (from the primary email, the "
    "Google id, the account state and the photo) and cannot be mapped: remove this mapping"
)
TARGET_MESSAGE: Final = (
    "unknown target attribute: write a core User attribute by its SCIM path (displayName, "
    'name.middleName, title, locale, phoneNumbers[type eq "work"].value, ...), an enterprise '
    "attribute by its name (employeeNumber, costCenter, organization, division, department, "
    "manager), or a custom extension attribute as <schema URN>:<attribute>"
)
SOURCE_MESSAGE: Final = (
    "unknown source field: use a Directory API user field (primaryEmail, name.fullName, "
    "organizations.costCenter, phones[type=work].value, externalIds[type=organization].value, "
    "relations[type=manager].value, ...) or customSchemas.<schema>.<field>"
)
BOOLEAN_MESSAGE: Final = (
    "type mismatch: isAdmin is true or false, and only a custom extension attribute can take a "
    "boolean; map it to <schema URN>:<attribute>"
)
MANAGER_MESSAGE: Final = (
    "type mismatch: manager is a reference to another user, so it takes a source holding the "
    "manager's email (relations[type=manager].value), not a constant"
)
TRANSFORMS_MESSAGE: Final = (
    "transforms change text: remove them from a mapping to manager (resolved from the email as "
    "Google holds it) or from isAdmin (true or false)"
)
DUPLICATE_MESSAGE: Final = "each target attribute may be mapped once: remove the repeated target"
OMITTED_MESSAGE: Final = "an attribute is either mapped or omitted: remove it from omit or from mappings"


def is_custom_target(target: str) -> bool:
    """`<schema URN>:<attribute>` of a custom extension (not the core or enterprise schema)."""
    return target.startswith("urn:") and not target.startswith((CORE_URN, ENTERPRISE_URN))


def split_custom(target: str) -> tuple[str, str]:
    """(schema URN, attribute) of a custom extension target."""
    schema, _, attribute = target.rpartition(":")
    return schema, attribute


def custom_schema(source: str) -> str | None:
    """The Google custom schema a `customSchemas.<schema>.<field>` source reads, else None."""
    found = re.fullmatch(CUSTOM_SOURCE, source)
    return found.group(1) if found else None


class Transform(StrEnum):
    LOWERCASE = "Lowercase"
    LOCAL_PART = "LocalPart"


class Omitted(StrEnum):
    """A default attribute gwsync can leave out: neither sent nor compared (data minimisation)."""

    DISPLAY_NAME = "displayName"
    TITLE = "title"
    DEPARTMENT = "department"
    USER_TYPE = "userType"
    PHOTOS = "photos"


def _target_rule(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


class AttributeMapping(ApiModel):
    """One SCIM attribute and where its value comes from: a Google user field or a constant."""

    model_config = validations(
        cel("has(self.source) != has(self.constant)", EXACTLY_ONE_MESSAGE),
        cel(
            "!(self.target in [" + ", ".join(f"'{t}'" for t in FIXED_TARGETS) + "])",
            FIXED_MESSAGE,
            ".target",
        ),
        cel(
            "self.target in [" + ", ".join(f"'{t}'" for t in FIXED_TARGETS) + "] || "
            f"(self.target.matches('{_target_rule(TARGET_PATTERN)}') && "
            f"!self.target.startsWith('{CORE_URN}') && !self.target.startsWith('{ENTERPRISE_URN}'))",
            TARGET_MESSAGE,
            ".target",
        ),
        cel(
            f"!has(self.source) || self.source.matches('{_target_rule(SOURCE_PATTERN)}')",
            SOURCE_MESSAGE,
            ".source",
        ),
        cel(
            "!has(self.source) || self.source != 'isAdmin' || self.target.startsWith('urn:')",
            BOOLEAN_MESSAGE,
            ".source",
        ),
        cel("self.target != 'manager' || !has(self.constant)", MANAGER_MESSAGE, ".constant"),
        cel(
            "!has(self.transforms) || size(self.transforms) == 0 || (self.target != 'manager' "
            "&& (!has(self.source) || self.source != 'isAdmin'))",
            TRANSFORMS_MESSAGE,
            ".transforms",
        ),
    )

    target: str = Field(
        min_length=1,
        max_length=256,
        description=(
            "The SCIM attribute written: a core User attribute by its path (displayName, "
            'name.middleName, title, locale, phoneNumbers[type eq "mobile"].value, ...), an '
            "enterprise extension attribute by its name (employeeNumber, costCenter, organization, "
            "division, department, manager), or <custom extension schema URN>:<attribute>."
        ),
    )
    source: str | None = Field(
        default=None,
        max_length=256,
        description=(
            "The Google user field read: primaryEmail, name.givenName, name.fullName, orgUnitPath, "
            "isAdmin, organizations.costCenter (the primary organization), phones[type=mobile].value, "
            "externalIds[type=organization].value, relations[type=manager].value, emails[type=home]"
            ".address, or customSchemas.<schema>.<field> (read with projection=custom)."
        ),
    )
    constant: str | None = Field(
        default=None, max_length=1024, description="A fixed value written for every user instead of a source."
    )
    transforms: list[Transform] = Field(
        default_factory=list,
        max_length=2,
        description="Applied in order to the value: Lowercase, or LocalPart (the part before @).",
    )

    @field_validator("target")
    @classmethod
    def _known_target(cls, target: str) -> str:
        if target in FIXED_TARGETS:
            raise ValueError(FIXED_MESSAGE)
        if not re.match(TARGET_PATTERN, target) or target.startswith((CORE_URN, ENTERPRISE_URN)):
            raise ValueError(TARGET_MESSAGE)
        return target

    @field_validator("source")
    @classmethod
    def _known_source(cls, source: str | None, info: ValidationInfo) -> str | None:
        if source is None:
            return None
        if not re.match(SOURCE_PATTERN, source):
            raise ValueError(SOURCE_MESSAGE)
        target = info.data.get("target")
        if source in BOOLEAN_SOURCES and target is not None and not is_custom_target(target):
            raise ValueError(BOOLEAN_MESSAGE)
        return source

    @field_validator("constant")
    @classmethod
    def _manager_needs_a_source(cls, constant: str | None, info: ValidationInfo) -> str | None:
        if constant is not None and info.data.get("target") == MANAGER:
            raise ValueError(MANAGER_MESSAGE)
        return constant

    @field_validator("transforms")
    @classmethod
    def _transforms_on_text(cls, transforms: list[Transform], info: ValidationInfo) -> list[Transform]:
        if transforms and (info.data.get("target") == MANAGER or info.data.get("source") in BOOLEAN_SOURCES):
            raise ValueError(TRANSFORMS_MESSAGE)
        return transforms

    @model_validator(mode="after")
    def _one_origin(self) -> "AttributeMapping":
        if (self.source is None) == (self.constant is None):
            raise ValueError(EXACTLY_ONE_MESSAGE)
        return self


class Attributes(ApiModel):
    """SCIM attributes filled from Google: today's mapping, with these mappings on top."""

    model_config = validations(
        cel(
            "!has(self.mappings) || self.mappings.all(m, self.mappings.exists_one(n, n.target == m.target))",
            DUPLICATE_MESSAGE,
            ".mappings",
        ),
        cel(
            "!has(self.omit) || !has(self.mappings) || self.mappings.all(m, !(m.target in self.omit))",
            OMITTED_MESSAGE,
            ".omit",
        ),
    )

    mappings: list[AttributeMapping] = Field(
        default_factory=list,
        max_length=64,
        description=(
            "Each replaces the default of its target (emails, name.givenName, name.familyName, "
            "displayName, title, department, userType) or adds an attribute; only mapped attributes "
            "are compared and written."
        ),
    )

    omit: list[Omitted] = Field(
        default_factory=list,
        max_length=len(Omitted),
        description=(
            "Default attributes gwsync neither sends nor compares, for apps that must not "
            "hold them (data minimisation): displayName, title, department, userType, photos. "
            "Values a target already holds stay as they are; clear them there if needed."
        ),
    )

    @field_validator("mappings")
    @classmethod
    def _unique_targets(cls, mappings: list[AttributeMapping]) -> list[AttributeMapping]:
        if (target := first_repeated(mapping.target for mapping in mappings)) is not None:
            raise ValueError(f"{target} is mapped twice: {DUPLICATE_MESSAGE}")
        return mappings

    @field_validator("omit")
    @classmethod
    def _omitted_not_mapped(cls, omit: list[Omitted], info: ValidationInfo) -> list[Omitted]:
        mapped = {mapping.target for mapping in info.data.get("mappings") or []}
        for name in omit:
            if name.value in mapped:
                raise ValueError(f"{name.value} is mapped and omitted: {OMITTED_MESSAGE}")
        return list(dict.fromkeys(omit))


DEFAULT_MAPPINGS: Final = (
    AttributeMapping(target="emails", source="primaryEmail"),
    AttributeMapping(target="name.givenName", source="name.givenName"),
    AttributeMapping(target="name.familyName", source="name.familyName"),
    AttributeMapping(target="displayName", source="name.fullName"),
    AttributeMapping(target="title", source="organizations.title"),
    AttributeMapping(target="department", source="organizations.department"),
    AttributeMapping(target="userType", source="organizations.description"),
)
"""Today's fixed mapping (DESIGN §3 rule 2), the default of every target it names."""


def effective_mappings(attributes: Attributes | None) -> tuple[AttributeMapping, ...]:
    """The defaults not omitted, each replaced by a mapping of the same target, then the added
    mappings. The very DEFAULT_MAPPINGS only when nothing is mapped or omitted (its fast paths
    compare photos too)."""
    if attributes is None or not (attributes.mappings or attributes.omit):
        return DEFAULT_MAPPINGS
    given = {mapping.target: mapping for mapping in attributes.mappings}
    left_out = set(attributes.omit)
    defaults = [given.pop(m.target, m) for m in DEFAULT_MAPPINGS if m.target not in left_out]
    return (*defaults, *given.values())


def omits_photos(attributes: Attributes | None) -> bool:
    return attributes is not None and Omitted.PHOTOS in attributes.omit
