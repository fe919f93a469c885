"""The base every API model shares: camelCase on the wire, unknown fields refused."""

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict

from gwsync.text import without_surrogates_in


class ApiModel(BaseModel):
    """A Kubernetes-style object part: camelCase keys, strict about unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        validate_default=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready form as it is stored in the cluster (aliases, no nulls).

        Text is read from Google and the target with lone surrogates replaced; this replaces any
        left (a value made some other way) so that no object fails to encode as UTF-8.
        """
        wire: dict[str, Any] = without_surrogates_in(
            self.model_dump(mode="json", by_alias=True, exclude_none=True)
        )
        return wire


class StoredObject(ApiModel):
    """An object of ours as stored in the cluster; each kind adds its kind, spec and status.

    Fields the API server adds (and later versions may) are ignored, not refused.
    """

    model_config = {"extra": "ignore"}

    api_version: str = Field(default="provisioning.gwsync.io/v1alpha1")
    kind: str
    metadata: dict[str, Any] = Field(default_factory=dict)


def first_repeated(values: Iterable[str]) -> str | None:
    """The first value seen twice (a list whose entries must be unique), or None."""
    seen: set[str] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


def validations(*rules: JsonDict) -> ConfigDict:
    """The model_config of a model whose rules span its fields: CEL the API server enforces."""
    return ConfigDict(json_schema_extra={"x-kubernetes-validations": list(rules)})


def cel(rule: str, message: str, field_path: str | None = None) -> JsonDict:
    """One `x-kubernetes-validations` entry: a CEL rule the API server enforces."""
    entry: JsonDict = {"rule": rule, "message": message}
    if field_path:
        entry["fieldPath"] = field_path
    return entry
