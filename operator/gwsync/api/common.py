"""Parts both kinds share: Secret references and conditions."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from gwsync.api.base import ApiModel


class SecretKeyRef(ApiModel):
    """A key of a Secret in the GoogleProvisioning's own namespace."""

    name: str = Field(min_length=1, max_length=253, description="Name of the Secret, in the same namespace.")
    key: str = Field(min_length=1, max_length=253, description="Key within the Secret's data.")


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
