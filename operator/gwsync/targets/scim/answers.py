"""What a SCIM target's refusals and failures become: one sentence for the sync report.

A SCIM Error (RFC 7644 §3.12), a non-2xx answer or a network failure is a `TargetError`
naming what gwsync was doing; a 401 is `TargetUnavailable` (the token). Text the target
sends is untrusted: it is shortened and its control characters escaped before it reaches a
report (`quoted`).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import httpx
from scim2_client import SCIMClientException

from gwsync.sync.ports import TargetError, TargetUnavailable
from gwsync.text import quoted

# `quoted` is gwsync.text's, named here too for the writes that quote what the target sent.
__all__ = ["DETAIL_LIMIT", "ERROR_SCHEMA", "answer", "call", "quoted", "refusal"]

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"

DETAIL_LIMIT = 300


async def call(request: Awaitable[Any], doing: str) -> Any:
    """Await one scim2-client call; turn refusals and network errors into TargetError."""
    try:
        result = await request
    except SCIMClientException as exc:
        notes = "; ".join(getattr(exc, "__notes__", []))
        status = getattr(getattr(exc, "source", None), "status_code", None)
        raise TargetError(f"Target failed while {doing}: {notes or exc}", status=status) from exc
    if isinstance(result, dict) and ERROR_SCHEMA in (result.get("schemas") or []):
        raise refusal(result, doing)
    return result


def answer(response: httpx.Response, doing: str) -> dict[str, Any] | TargetError:
    """The JSON object of a 2xx answer, else the failure as a sentence for the report."""
    try:
        payload = response.json() if response.content else None
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        payload = None
    if isinstance(payload, dict) and ERROR_SCHEMA in (payload.get("schemas") or []):
        return refusal(payload, doing)
    if not 200 <= response.status_code < 300 or not isinstance(payload, dict):
        return TargetError(
            f"Target failed while {doing}: it answered {response.status_code} without a SCIM resource",
            status=response.status_code,
        )
    return payload


def refusal(error: dict[str, Any], doing: str) -> TargetError:
    """A SCIM Error as the sentence people read in the report."""
    status = quoted(str(error.get("status", "")), 10).strip()
    scim_type = quoted(str(error.get("scimType") or ""), 40)
    detail = quoted(str(error.get("detail") or "").strip(), DETAIL_LIMIT).rstrip(".")
    words = " ".join(w for w in (status, scim_type) if w)
    text = f"Target refused {doing}: {words}" + (f": {detail}" if detail else "")
    if status == "401":
        raise TargetUnavailable(
            "The SCIM token was refused (401); check the Secret named in "
            "spec.target.scim.tokenSecretRef holds a valid bearer token.",
            status=401,
        )
    known = status.isascii() and status.isdigit() and len(status) <= 3  # not '²': isdigit() but no int
    return TargetError(text, status=int(status) if known else None)
