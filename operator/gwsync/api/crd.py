"""Generate the CustomResourceDefinitions from the pydantic models.

The models are the single source of truth; this turns their JSON Schema into the
structural OpenAPI v3 schema the API server wants: `$ref`s inlined, `null` alternatives
and titles dropped, `const` turned into one-value enums, CEL rules kept, and defaults of
nested objects set to `{}` so the API server fills their own defaults in.
"""

from typing import Any

import yaml
from pydantic import BaseModel

from gwsync.api import constants as c
from gwsync.api.provisioning import GoogleProvisioningSpec, GoogleProvisioningStatus
from gwsync.api.report import SyncReportSpec, SyncReportStatus

Schema = dict[str, Any]
DROPPED_KEYS = frozenset({"title", "additionalProperties", "$defs"})


def _inline(node: Any, defs: Schema) -> Any:
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        extra = {k: _inline(v, defs) for k, v in node.items() if k != "$ref"}
        return {**target, **extra}
    any_of = node.get("anyOf")
    if any_of is not None:
        options = [option for option in any_of if option.get("type") != "null"]
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        if rest.get("default", "") is None:
            del rest["default"]
        if len(options) == 1:
            return {**_inline(options[0], defs), **_inline(rest, defs)}
        return {**_inline(rest, defs), "anyOf": _inline(options, defs)}
    out: Schema = {}
    for key, value in node.items():
        if key in DROPPED_KEYS:
            continue
        if key == "const":
            out["enum"] = [value]
        elif key == "properties":
            out[key] = {name: _inline(prop, defs) for name, prop in value.items()}
        else:
            out[key] = _inline(value, defs)
    return out


def _default_nested_objects(schema: Schema, model: type[BaseModel]) -> None:
    """Give defaultable sub-objects their whole default, so the API server applies it.

    The default is the sub-object with every field defaulted, not `{}`: the API server checks
    each default against the CEL rules of its node when the CRD is created, and `{}` fails a
    rule such as `self.from == 'Groups' ...` with "no such key" — the CRD would be refused.
    """
    for name, info in model.model_fields.items():
        alias = info.alias or name
        annotation = info.annotation
        if (
            info.default_factory is not None
            and isinstance(annotation, type)
            and issubclass(annotation, BaseModel)
        ):
            prop = schema["properties"][alias]
            prop["default"] = annotation().model_dump(mode="json", by_alias=True, exclude_none=True)
            _default_nested_objects(prop, annotation)


def model_schema(model: type[BaseModel]) -> Schema:
    """The structural schema of one model."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    schema: Schema = _inline(raw, raw.get("$defs", {}))
    _default_nested_objects(schema, model)
    return schema


def _conditions_as_map(status: Schema) -> None:
    conditions = status["properties"].get("conditions")
    if conditions is not None:
        conditions["x-kubernetes-list-type"] = "map"
        conditions["x-kubernetes-list-map-keys"] = ["type"]


def _root_schema(spec: type[BaseModel], status: type[BaseModel], description: str) -> Schema:
    status_schema = model_schema(status)
    _conditions_as_map(status_schema)
    return {
        "type": "object",
        "description": description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string", "description": "API version of this object."},
            "kind": {"type": "string", "description": "Kind of this object."},
            "metadata": {"type": "object"},
            "spec": model_schema(spec),
            "status": status_schema,
        },
    }


def _condition_column(name: str, condition: str) -> Schema:
    return {
        "name": name,
        "type": "string",
        "jsonPath": f'.status.conditions[?(@.type=="{condition}")].status',
    }


PROVISIONING_COLUMNS: list[Schema] = [
    _condition_column("Active", c.ACTIVE),
    _condition_column("Connected", c.CONNECTED),
    {"name": "Last Sync", "type": "string", "jsonPath": ".status.lastSync.phase"},
    {"name": "Last Sync Age", "type": "date", "jsonPath": ".status.lastSync.completionTime"},
    {"name": "Next Sync", "type": "string", "jsonPath": ".status.nextSyncTime"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]

REPORT_COLUMNS: list[Schema] = [
    {"name": "Provisioning", "type": "string", "jsonPath": ".spec.provisioningRef.name"},
    {"name": "Trigger", "type": "string", "jsonPath": ".spec.trigger"},
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Created", "type": "integer", "jsonPath": ".status.summary.users.created"},
    {"name": "Updated", "type": "integer", "jsonPath": ".status.summary.users.updated"},
    {"name": "Removed", "type": "integer", "jsonPath": ".status.summary.users.deprovisioned"},
    {"name": "Failed", "type": "integer", "jsonPath": ".status.summary.users.failed"},
    {"name": "Duration", "type": "string", "jsonPath": ".status.duration"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def _crd(
    kind: str,
    plural: str,
    singular: str,
    short_names: tuple[str, ...],
    schema: Schema,
    columns: list[Schema],
) -> Schema:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{c.GROUP}"},
        "spec": {
            "group": c.GROUP,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": singular,
                "shortNames": list(short_names),
                "categories": [c.CATEGORY],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": c.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def provisioning_crd() -> Schema:
    schema = _root_schema(
        GoogleProvisioningSpec,
        GoogleProvisioningStatus,
        "GoogleProvisioning syncs the people and teams of a Google Workspace organization "
        "into a SCIM 2.0 target, daily and on demand.",
    )
    return _crd(
        c.PROVISIONING_KIND,
        c.PROVISIONING_PLURAL,
        c.PROVISIONING_SINGULAR,
        c.PROVISIONING_SHORT_NAMES,
        schema,
        PROVISIONING_COLUMNS,
    )


def report_crd() -> Schema:
    schema = _root_schema(
        SyncReportSpec,
        SyncReportStatus,
        "SyncReport records one sync of a GoogleProvisioning: its outcome, counts and items.",
    )
    return _crd(
        c.REPORT_KIND,
        c.REPORT_PLURAL,
        c.REPORT_SINGULAR,
        c.REPORT_SHORT_NAMES,
        schema,
        REPORT_COLUMNS,
    )


def all_crds() -> list[Schema]:
    return [provisioning_crd(), report_crd()]


def render_crds() -> str:
    """Both CRDs as one multi-document YAML, exactly as committed in crds/crds.yaml."""
    header = "# Generated by `gwsync crds` from operator/gwsync/api/. Do not edit.\n"
    docs = [yaml.safe_dump(crd, sort_keys=False, allow_unicode=True, width=100) for crd in all_crds()]
    return header + "---\n" + "---\n".join(docs)
