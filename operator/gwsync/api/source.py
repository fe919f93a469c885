"""The Google side of a GoogleProvisioning: the organization to read and which of its users."""

import re
from enum import StrEnum

from pydantic import Field, ValidationInfo, field_validator, model_validator

from gwsync.api.base import ApiModel, cel, validations
from gwsync.api.common import SecretKeyRef
from gwsync.api.constants import DEFAULT_CUSTOMER_ID, DEFAULT_GOOGLE_ENDPOINT
from gwsync.api.formats import Email, is_loopback_http, tls_or_loopback_rule

API_ENDPOINT_MESSAGE = "apiEndpoint must use https:// (plain http is allowed only for loopback addresses)"


class GoogleSource(ApiModel):
    """How to reach the Google Workspace organization (Admin SDK Directory API, read-only)."""

    model_config = validations(
        cel(
            "has(self.credentialsSecretRef) != has(self.serviceAccountEmail)",
            "set exactly one of credentialsSecretRef (a service-account key) or "
            "serviceAccountEmail (keyless, signed through IAM Credentials)",
        ),
        tls_or_loopback_rule("apiEndpoint", API_ENDPOINT_MESSAGE),
    )

    customer_id: str = Field(
        default=DEFAULT_CUSTOMER_ID,
        min_length=1,
        description="Google customer id of the organization; my_customer means the admin's own.",
    )
    admin_email: Email = Field(
        description="Workspace administrator impersonated through domain-wide delegation.",
    )
    credentials_secret_ref: SecretKeyRef | None = Field(
        default=None,
        description="Secret key holding the service-account JSON key with domain-wide delegation.",
    )
    service_account_email: Email | None = Field(
        default=None,
        description="Keyless alternative: the service account whose delegation JWT is signed "
        "through the IAM Credentials signJwt API by the operator's own identity.",
    )
    api_endpoint: str = Field(
        default=DEFAULT_GOOGLE_ENDPOINT,
        pattern=r"^https?://",
        description="Admin SDK endpoint; override for Private Service Connect (or an emulator).",
    )

    @field_validator("api_endpoint")
    @classmethod
    def _endpoint_tls_unless_loopback(cls, url: str) -> str:
        if not (url.startswith("https://") or is_loopback_http(url)):
            raise ValueError(API_ENDPOINT_MESSAGE)
        return url

    @model_validator(mode="after")
    def _one_credential(self) -> "GoogleSource":
        if (self.credentials_secret_ref is None) == (self.service_account_email is None):
            raise ValueError(
                "set exactly one of credentialsSecretRef (a service-account key) or "
                "serviceAccountEmail (keyless, signed through IAM Credentials)"
            )
        return self


GROUPS_REQUIRED = (
    "groups or groupQuery is required when from is Groups: list at least one group email, "
    "or a group query such as email:team*"
)
QUERY_NEEDS_GROUPS = "groupQuery is read only when from is Groups: set from: Groups, or remove groupQuery"
QUERY_SYNTAX = (
    "groupQuery must be clauses separated by spaces, each email or name, then = (equals) or : "
    "(a prefix ending in *), then a value, quoted with ' when it holds spaces: "
    "email:team* name:'Platform *'"
)
_VALUE = r"(?:'[^']+'|[^\s']+)"
GROUP_QUERY = rf"^(?:email|name)[=:]{_VALUE}(?: +(?:email|name)[=:]{_VALUE})*$"
"""The groups.list query subset gwsync accepts (Google's `memberKey=` selects by member, not
by group, so it is left out); the same expression is checked by CEL, with RE2."""


class MemberSource(StrEnum):
    ALL_USERS = "AllUsers"
    GROUPS = "Groups"


class Members(ApiModel):
    """Which Google users are provisioned."""

    model_config = validations(
        cel(
            "self.from != 'Groups' || (has(self.groups) && size(self.groups) > 0) || has(self.groupQuery)",
            GROUPS_REQUIRED,
            ".groups",
        ),
        cel("self.from == 'Groups' || !has(self.groupQuery)", QUERY_NEEDS_GROUPS, ".groupQuery"),
        cel(
            f'!has(self.groupQuery) || self.groupQuery.matches(r"{GROUP_QUERY}")',
            QUERY_SYNTAX,
            ".groupQuery",
        ),
    )

    from_: MemberSource = Field(
        default=MemberSource.ALL_USERS,
        alias="from",
        description="AllUsers: every user of the organization. Groups: the members of groups.",
    )
    group_query: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="A Directory API group query (groups.list `query`) whose groups' members are "
        "provisioned, besides those of groups, with from: Groups: clauses `email:prefix*`, "
        "`email=address`, `name:'Display prefix*'` or `name='Display name'`, separated by spaces "
        "(all must hold). A query that finds no group fails the sync.",
    )
    groups: list[Email] = Field(
        default_factory=list,
        max_length=500,
        description="Group emails whose members (nested groups expanded) are provisioned; "
        "required when from is Groups.",
    )
    include_suspended: bool = Field(
        default=False,
        description="Provision suspended and archived users too; by default they count as removed.",
    )

    @field_validator("group_query")
    @classmethod
    def _query_of_groups(cls, query: str | None, info: ValidationInfo) -> str | None:
        if query is None:
            return None
        if info.data.get("from_") is not MemberSource.GROUPS:
            raise ValueError(QUERY_NEEDS_GROUPS)
        if not re.fullmatch(GROUP_QUERY, query):
            raise ValueError(QUERY_SYNTAX)
        return query

    @field_validator("groups")
    @classmethod
    def _groups_when_from_groups(cls, groups: list[str], info: ValidationInfo) -> list[str]:
        # A groupQuery that failed its own check is absent here: it was reported, not missing.
        query = info.data.get("group_query", "")
        if info.data.get("from_") is MemberSource.GROUPS and not groups and query is None:
            raise ValueError(GROUPS_REQUIRED)
        return groups
