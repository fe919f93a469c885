"""Offline validation of GoogleProvisioning manifests, for `gwsync validate` and GitOps CI.

Every problem becomes one line a person can act on: the file, the object, the field path
and the fix. Other kinds in a multi-document file are skipped and named, so a whole GitOps
folder can be checked in one go.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from gwsync.api import constants as c
from gwsync.api.common import SECRET_KEY_FIX, SECRET_NAME_FIX
from gwsync.api.provisioning import GoogleProvisioningSpec

# Custom resource names are DNS subdomains (RFC 1123): the API server refuses anything else.
# Any length up to 253 works: reports and ConfigMaps label long names with a hash of them.
MAX_OBJECT_NAME = 253
_OBJECT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
OBJECT_NAME_FIX = (
    "must be a DNS subdomain, as the API server requires: at most 253 characters, lower-case "
    "letters, digits, '-' and '.', beginning and ending with a letter or digit; rename the object"
)

PYDANTIC_FIXES: dict[str, str] = {
    "extra_forbidden": "unknown field: remove it or check its spelling "
    "(`kubectl explain gprov.spec` lists the fields)",
    "missing": "required field is missing: add it",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one object, phrased for a person."""

    file: str
    subject: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.subject}: " if self.subject else ""
        at = f"{self.path}: " if self.path else ""
        return f"{self.file}: {where}{at}{self.message}"


@dataclass
class FileResult:
    """What validating one file found."""

    file: str
    checked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)  # the GoogleProvisionings, as parsed


def _yaml_type(value: object) -> str:
    """What a YAML value is, in YAML's words: a list, a string, a number."""
    if isinstance(value, list):
        return "a list (lines starting with -)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"a {type(value).__name__}"


def _unknown_kind(doc: dict[str, Any], file: str, subject: str) -> Problem | None:
    """A kind of our API group that does not exist: most likely a misspelt GoogleProvisioning.

    Other groups' kinds are skipped (a GitOps folder holds Secrets and Deployments too), but
    `provisioning.gwsync.io` has only these kinds: a typo must not pass as "skipped".
    """
    api_version = doc.get("apiVersion")
    kind = doc.get("kind")
    if not (isinstance(api_version, str) and api_version.split("/")[0] == c.GROUP):
        return None
    if kind in c.KINDS:
        return None
    known = " and ".join(c.KINDS)
    what = f"kind {kind!r} is not" if kind else "the kind is missing: it must be"
    return Problem(file, subject, "", f"{what} a kind of {c.GROUP}; the known kinds are {known}")


def _describe(doc: dict[str, Any]) -> str:
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    name = metadata.get("name", "<unnamed>") if metadata else "<unnamed>"
    namespace = metadata.get("namespace") if metadata else None
    return f"{doc.get('kind', '<no kind>')} {namespace + '/' if namespace else ''}{name}"


def _loc(loc: Iterable[int | str]) -> str:
    out = "spec"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


SECRET_REF_FIXES = {"name": SECRET_NAME_FIX, "key": SECRET_KEY_FIX}
_STRING_SHAPE = frozenset({"string_pattern_mismatch", "string_too_long", "string_too_short"})


def _secret_ref_fix(error: Any) -> str | None:
    """What is wrong with a secretRef's name or key, and the fix (None for other errors)."""
    loc = error["loc"]
    if error["type"] not in _STRING_SHAPE or len(loc) < 2 or not str(loc[-2]).endswith("SecretRef"):
        return None
    value = str(error["input"])
    shown = repr(value if len(value) <= 60 else value[:60] + "…")
    return f"{shown} {SECRET_REF_FIXES[str(loc[-1])]}"


def _message(error: Any) -> str:
    kind = error["type"]
    if kind in PYDANTIC_FIXES:
        return PYDANTIC_FIXES[kind]
    if (fix := _secret_ref_fix(error)) is not None:
        return fix
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping (field: value lines), not {_yaml_type(error['input'])}"
    text = str(error["msg"])
    return text.removeprefix("Value error, ")


def _check_object(doc: dict[str, Any], file: str, subject: str) -> list[Problem]:
    problems: list[Problem] = []
    if doc.get("apiVersion") != c.API_VERSION:
        problems.append(
            Problem(file, subject, "apiVersion", f"must be {c.API_VERSION}, not {doc.get('apiVersion')!r}")
        )
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict) or not metadata.get("name"):
        problems.append(Problem(file, subject, "metadata.name", "required field is missing: add it"))
    elif not _OBJECT_NAME.match(str(metadata["name"])) or len(str(metadata["name"])) > MAX_OBJECT_NAME:
        problems.append(Problem(file, subject, "metadata.name", OBJECT_NAME_FIX))
    spec = doc.get("spec")
    if spec is None:
        problems.append(Problem(file, subject, "spec", "required field is missing: add it"))
        return problems
    if not isinstance(spec, dict):
        problems.append(
            Problem(file, subject, "", f"spec must be a mapping (field: value lines), not {_yaml_type(spec)}")
        )
        return problems
    try:
        GoogleProvisioningSpec.model_validate(spec)
    except ValidationError as exc:
        for error in exc.errors():
            problems.append(Problem(file, subject, _loc(error["loc"]), _message(error)))
    return problems


def validate_text(text: str, file: str) -> FileResult:
    """Validate every GoogleProvisioning in one YAML text (possibly multi-document)."""
    result = FileResult(file)
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}: " if mark else ""
        problem = exc.problem or "invalid YAML"
        result.problems.append(Problem(file, "", "", f"{line}YAML syntax error: {problem}"))
        return result
    except yaml.YAMLError as exc:
        result.problems.append(Problem(file, "", "", f"YAML syntax error: {exc}"))
        return result
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            result.skipped.append(f"a {type(doc).__name__} document")
            continue
        subject = _describe(doc)
        unknown = _unknown_kind(doc, file, subject)
        if unknown is not None:
            result.problems.append(unknown)
            continue
        if doc.get("kind") != c.PROVISIONING_KIND:
            result.skipped.append(subject)
            continue
        result.checked.append(subject)
        result.objects.append(doc)
        result.problems.extend(_check_object(doc, file, subject))
    return result
