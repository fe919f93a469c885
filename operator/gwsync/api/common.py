"""Parts both kinds share: Secret references and conditions."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from gwsync.api.base import ApiModel

# What the API server accepts (apimachinery's IsDNS1123Subdomain and IsConfigMapKey): a name
# or key outside these can never be read, so it is refused when the object is written, with
# the field named, instead of failing every sync with a 404.
SECRET_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
SECRET_NAME_FIX = (
    "is not a Secret name: at most 253 characters, lower-case letters, digits, '-' and '.', "
    "beginning and ending with a letter or digit; use a name `kubectl get secrets` lists"
)
SECRET_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"
SECRET_KEY_FIX = (
    "is not a key of a Secret's data: at most 253 characters, letters, digits, '-', '_' and '.'"
    "; use a key `kubectl describe secret NAME` lists"
)


class SecretKeyRef(ApiModel):
    """A key of a Secret in the GoogleProvisioning's own namespace."""

    name: str = Field(
        min_length=1,
        max_length=253,
        pattern=SECRET_NAME_PATTERN,
        description="Name of the Secret, in the same namespace (a DNS-1123 subdomain).",
    )
    key: str = Field(
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY_PATTERN,
        description="Key within the Secret's data (letters, digits, '-', '_' and '.').",
    )


class Condition(ApiModel):
    """A Kubernetes API convention condition."""

    type: str = Field(description="Type of the condition, e.g. Ready.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(description="One CamelCase word saying why the condition is so.")
    message: str = Field(default="", description="What happened and, when it is bad, what to do.")
    last_transition_time: datetime = Field(
        description="When the status last changed from one value to another."
    )
    observed_generation: int | None = Field(
        default=None, description="The .metadata.generation this condition was set from."
    )
