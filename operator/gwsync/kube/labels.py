"""The label that ties reports and ConfigMaps to their GoogleProvisioning, for any name length.

Object names may be 253 characters, label values only 63. A GoogleProvisioning whose name
fits is labelled with its name as it is (what ``kubectl get sreport -l`` users type); a
longer one with its first characters and a hash of the whole name, still a valid label value.
The full name is kept in an annotation (and in a report's spec.provisioningRef), and readers
compare it, so two long names that share their first characters never mix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

from gwsync.api import constants

MAX_LABEL_VALUE: Final = 63
HASH_LENGTH: Final = 10
PROVISIONING_NAME_ANNOTATION: Final = "gwsync.io/provisioning-name"


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def label_value(name: str) -> str:
    """``name`` when it is a valid label value's length, else a truncated name plus a hash."""
    if len(name) <= MAX_LABEL_VALUE:
        return name
    # A label value must begin and end with an alphanumeric character.
    head = name[: MAX_LABEL_VALUE - HASH_LENGTH - 1].rstrip("-._")
    return f"{head}-{short_hash(name)}"


def provisioning_labels(provisioning: str) -> dict[str, str]:
    return {constants.PROVISIONING_LABEL: label_value(provisioning)}


def provisioning_annotations(provisioning: str) -> dict[str, str]:
    return {PROVISIONING_NAME_ANNOTATION: provisioning}


def belongs_to(obj: Mapping[str, Any], provisioning: str) -> bool:
    """Whether an object found by ``provisioning_labels`` is really that provisioning's.

    Objects written before the annotation existed carry the full name as their label.
    """
    meta = obj.get("metadata") or {}
    named = (meta.get("annotations") or {}).get(PROVISIONING_NAME_ANNOTATION)
    if named is not None:
        return bool(named == provisioning)
    return bool((meta.get("labels") or {}).get(constants.PROVISIONING_LABEL) == provisioning)
