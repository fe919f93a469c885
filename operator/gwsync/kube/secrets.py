"""Reading the credentials a GoogleProvisioning points at, with errors a person can act on.

A missing Secret or key is the most common setup mistake, so each error names the
namespace, the Secret, the key and what to put there; the controller copies the message
into a condition and an Event. No message ever contains a value read from a Secret.

A Secret is used only when it opts in with the label gwsync.io/credentials=true. The
operator may get every Secret of a namespace, and whoever may create a GoogleProvisioning
there names which one: without the opt-in they could have the operator send any Secret of
the namespace, as a bearer token, to a URL of their choosing. The label is checked before
the data is even looked at, so a refusal does not say whether the key exists either.
"""

from __future__ import annotations

import base64
import binascii

from gwsync.api.common import SecretKeyRef
from gwsync.api.constants import CREDENTIALS_LABEL, CREDENTIALS_LABEL_VALUE
from gwsync.kube.client import SECRETS, Kube, KubeApiError, KubeNotFound


class SecretUnavailable(Exception):
    """A referenced Secret key cannot be read; the message says which one and how to fix it."""

    reason = "SecretUnavailable"


class SecretNotFound(SecretUnavailable):
    reason = "SecretNotFound"


class SecretKeyMissing(SecretUnavailable):
    reason = "SecretKeyMissing"


class SecretForbidden(SecretUnavailable):
    reason = "SecretForbidden"


class SecretNotLabelled(SecretUnavailable):
    """The Secret has not opted in to being used by gwsync (the confused-deputy guard)."""

    reason = "SecretNotLabelled"


def label_command(namespace: str, name: str) -> str:
    """The kubectl command that lets gwsync use Secret `namespace/name`."""
    return f"kubectl label secret {name} -n {namespace} {CREDENTIALS_LABEL}={CREDENTIALS_LABEL_VALUE}"


def read_secret_value(kube: Kube, namespace: str, ref: SecretKeyRef, purpose: str) -> bytes:
    """The decoded value of ``ref.key`` in Secret ``namespace/ref.name``.

    ``purpose`` says what belongs there ("the service-account key", "the SCIM bearer token"),
    for the message when it is missing.
    """
    where = f"Secret {namespace}/{ref.name}"
    try:
        secret = kube.get(SECRETS, namespace, ref.name)
    except KubeNotFound:
        raise SecretNotFound(f"{where} not found: create it with {purpose} under key {ref.key}") from None
    except KubeApiError as exc:
        if exc.status == 403:
            raise SecretForbidden(
                f"{where} cannot be read: the operator's service account needs get on secrets "
                f"in namespace {namespace}"
            ) from None
        raise
    labels = (secret.get("metadata") or {}).get("labels") or {}
    if labels.get(CREDENTIALS_LABEL) != CREDENTIALS_LABEL_VALUE:
        raise SecretNotLabelled(
            f"{where} is not labelled {CREDENTIALS_LABEL}={CREDENTIALS_LABEL_VALUE}, so gwsync does not "
            f"use it; if it holds {purpose} for this GoogleProvisioning, run: "
            f"{label_command(namespace, ref.name)}"
        )
    encoded = (secret.get("data") or {}).get(ref.key)
    plain = (secret.get("stringData") or {}).get(ref.key)  # only seen on objects never stored
    if encoded is None and plain is None:
        raise SecretKeyMissing(f"{where} has no key {ref.key}")
    try:
        value = base64.b64decode(encoded, validate=True) if encoded is not None else str(plain).encode()
    except (binascii.Error, ValueError):
        raise SecretKeyMissing(
            f"{where} key {ref.key} is not valid base64: store {purpose} there again"
        ) from None
    if not value.strip():
        raise SecretKeyMissing(f"{where} key {ref.key} is empty: put {purpose} there")
    return value
