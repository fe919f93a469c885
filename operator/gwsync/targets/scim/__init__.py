"""The SCIM 2.0 target (see `gwsync.targets.scim.target`)."""

from gwsync.targets.scim.target import (
    ERROR_SCHEMA,
    MAX_RETRY_AFTER,
    PROFILES,
    ScimTarget,
    TargetError,
    TargetUnavailable,
    answer,
    bulk_result,
    group_of,
    pick,
    refusal,
    retry_after_seconds,
    user_of,
    user_resource,
)

__all__ = [
    "ERROR_SCHEMA",
    "MAX_RETRY_AFTER",
    "PROFILES",
    "ScimTarget",
    "TargetError",
    "TargetUnavailable",
    "answer",
    "bulk_result",
    "group_of",
    "pick",
    "refusal",
    "retry_after_seconds",
    "user_of",
    "user_resource",
]
