"""The target side of a GoogleProvisioning: the SCIM 2.0 service provider and its limits."""

from typing import Literal

from pydantic import Field, field_validator

from gwsync.api.base import ApiModel, validations
from gwsync.api.common import SecretKeyRef
from gwsync.api.formats import is_loopback_http, tls_or_loopback_rule

DEFAULT_MAX_RESOURCES = 200_000
DEFAULT_MAX_PAGES = 20_000


class ListLimits(ApiModel):
    """How far one listing of the target may go before gwsync gives up on it.

    A target whose paging never ends (a cursor that comes back, pages that always bring new
    ids) would otherwise be read until the operator runs out of memory. Each listing of /Users
    or /Groups is counted on its own; going past a limit fails the sync before anything is
    changed, with a message naming the limit and this field.
    """

    max_resources: int = Field(
        default=DEFAULT_MAX_RESOURCES,
        ge=1,
        le=10_000_000,
        description=(
            "The most users (or groups) one listing of the target may return, and 256 times it "
            "the characters of text they may keep; past either the sync fails, changing nothing. "
            "The default, 200000, is twice the 100,000-user organization gwsync is sized for; a "
            "listing stopped there holds about 80 MiB in the operator, well within its 512Mi "
            "memory limit. Raise it (and that limit) for a target that holds more."
        ),
    )
    max_pages: int = Field(
        default=DEFAULT_MAX_PAGES,
        ge=1,
        le=1_000_000,
        description=(
            "The most pages one listing of the target may take; past it the sync fails, changing "
            "nothing. The default, 20000, is maxResources' default in pages of 10 (targets page by "
            "100 to 1000; gwsync asks 500), and bounds the requests a target paging one resource "
            "at a time can draw. Raise it for a target that pages more finely."
        ),
    )


class ScimTarget(ApiModel):
    """A SCIM 2.0 (RFC 7643/7644) service provider."""

    model_config = validations(
        tls_or_loopback_rule(
            "url", "url must use https:// (plain http is allowed only for loopback addresses)"
        )
    )

    url: str = Field(
        min_length=1,
        max_length=2048,
        description="Base URL of the SCIM endpoint, e.g. https://example.com/scim/v2.",
    )
    token_secret_ref: SecretKeyRef = Field(description="Secret key holding the bearer token.")
    ca_bundle_secret_ref: SecretKeyRef | None = Field(
        default=None,
        description="Secret key holding extra PEM CA certificates; TLS verification is always on.",
    )
    max_concurrency: int = Field(
        default=8, ge=1, le=64, description="Most requests in flight to the target at once."
    )
    profile: Literal["Auto", "Generic", "AWSIdentityCenter"] = Field(
        default="Auto",
        description=(
            "How to talk to the target. Auto: from its ServiceProviderConfig (AWS IAM Identity "
            "Center is recognised). Generic: RFC 7644 as written. AWSIdentityCenter: cursor paging, "
            "members read per mapped team, no photos (AWS's published SCIM limits)."
        ),
    )
    bulk: bool = Field(
        default=True,
        description=(
            "Use SCIM Bulk (RFC 7644 §3.7) when the target's ServiceProviderConfig advertises it "
            "(with PATCH): creates, updates, deactivations and membership changes go many to a "
            "request, within its maxOperations and maxPayloadSize, each with its own result. A "
            "target that refuses Bulk is written one request per change for the rest of the "
            "sync, with a note. false: always one request per change."
        ),
    )
    list_limits: ListLimits = Field(
        default_factory=ListLimits,
        description=(
            "Bounds on each listing of the target's users and groups, so that a target whose "
            "paging never ends fails the sync instead of exhausting the operator's memory."
        ),
    )
    account_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=253,
        description=(
            "Which account of the target this is, for services that serve every account at one "
            "URL and tell them apart by token. Only one GoogleProvisioning may be active per "
            "target, and a target is the URL plus this id: set it (any stable name, e.g. the "
            "tenant's domain) on each provisioning of such a service."
        ),
    )

    @property
    def adapter_profile(self) -> str:
        """The profile as the SCIM adapter names it (gwsync.targets.scim.PROFILES)."""
        names = {"Auto": "auto", "Generic": "generic", "AWSIdentityCenter": "aws-identity-center"}
        return names[self.profile]

    @field_validator("url")
    @classmethod
    def _tls_unless_loopback(cls, url: str) -> str:
        if "://" not in url:  # `example.com/scim/v2`: the scheme was left out
            raise ValueError(f"url {url} has no scheme: write https://{url.lstrip('/')}")
        if not (url.startswith("https://") or is_loopback_http(url)):
            raise ValueError("url must use https:// (plain http is allowed only for loopback addresses)")
        return url


class Target(ApiModel):
    """Where people are provisioned to."""

    scim: ScimTarget = Field(
        description=(
            "The SCIM 2.0 target: any RFC 7644 service provider. Tested against scim2-server, "
            "SCIMMY, django-scim2-server, Canaille, elimity-com/scim (Go), scim-sdk-server (Java) "
            "and AWS IAM Identity Center; what each supports is in docs/targets.md."
        )
    )
