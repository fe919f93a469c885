"""The key that signs every ledger (kube/ledger.py), in a Secret of the operator's own namespace.

Tenants may write ConfigMaps in their namespaces, and so could rewrite a ledger; they must not
be able to sign one. The key is 32 random bytes in Secret ``gwsync-ledger-key`` of the namespace
the operator runs in, which only cluster administrators (and the operator) may read. The
operator creates it when it is missing; when two replicas create it at once, one create fails
with a conflict and that replica reads the winner's key. Deleting the Secret replaces the key:
every ledger then fails to verify once (a ``LedgerRejected`` Event each), users are matched
by externalId for that sync, and the ledgers saved afterwards are signed with the new key.

The key is never logged, nor put in an Event, a status or a report: errors name the Secret.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Final

from gwsync.kube.client import SECRETS, Kube, KubeApiError, KubeConflict, KubeNotFound

LEDGER_KEY_SECRET: Final = "gwsync-ledger-key"
LEDGER_KEY_FIELD: Final = "key"
KEY_BYTES: Final = 32
DEFAULT_OPERATOR_NAMESPACE: Final = "gwsync"


class LedgerKeyUnavailable(Exception):
    """The operator can neither read nor create its ledger key; the message says how to fix it."""


def ensure_ledger_key(kube: Kube, namespace: str) -> bytes:
    """The ledger key of Secret `namespace`/gwsync-ledger-key, created when missing."""
    where = f"Secret {namespace}/{LEDGER_KEY_SECRET}"
    try:
        try:
            return _key_of(kube.get(SECRETS, namespace, LEDGER_KEY_SECRET), where)
        except KubeNotFound:
            pass
        key = secrets.token_bytes(KEY_BYTES)
        try:
            kube.create(SECRETS, namespace, _secret_body(namespace, key))
            return key
        except KubeConflict:  # another replica created it first: its key is the key
            return _key_of(kube.get(SECRETS, namespace, LEDGER_KEY_SECRET), where)
    except KubeApiError as exc:
        raise LedgerKeyUnavailable(
            f"The operator cannot read or create its ledger signing key, {where} ({exc}); grant its "
            f"ServiceAccount get and create on secrets in namespace {namespace} (manifests/rbac.yaml), "
            "or run it with --operator-namespace set to the namespace it runs in"
        ) from None


def _key_of(secret: dict[str, object], where: str) -> bytes:
    data = secret.get("data")
    encoded = data.get(LEDGER_KEY_FIELD) if isinstance(data, dict) else None
    try:
        key = base64.b64decode(str(encoded), validate=True) if encoded is not None else b""
    except (binascii.Error, ValueError):
        key = b""
    if len(key) < KEY_BYTES:
        raise LedgerKeyUnavailable(
            f"{where} holds no key of {KEY_BYTES} bytes or more under {LEDGER_KEY_FIELD}; delete it and the "
            "operator creates a new one (each ledger is then ignored once, and signed anew by its next sync)"
        )
    return key


def _secret_body(namespace: str, key: bytes) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": LEDGER_KEY_SECRET,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "gwsync", "app.kubernetes.io/component": "ledger-key"},
        },
        "data": {LEDGER_KEY_FIELD: base64.b64encode(key).decode()},
    }
