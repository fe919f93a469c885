"""A scan for secret values in everything the operator lets people see (docs/security.md).

A secret can leave in a form a plain substring search misses: inside a base64 blob (a
ConfigMap, a JWT, a header dump) or percent-encoded in a URL or a form body. So each secret
is looked for in every form it could take:

- plain;
- base64, standard and URL-safe alphabets, padded or not: a secret inside a longer encoded
  text starts at one of three byte offsets, each giving different characters, so the
  characters that depend on the secret alone are searched for at all three offsets;
- percent-encoded (`quote` and `quote_plus`), when that differs from plain.

A finding names the secret, the form and the channel, and shows the text around it with the
secret itself blanked: the scan's own failure message must not be a leak.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

MIN_NEEDLE = 12  # shorter forms would match by chance in a large text
CONTEXT = 40


@dataclass(frozen=True)
class Leak:
    """One secret found in one channel, in one form."""

    secret: str
    form: str
    channel: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.secret} ({self.form}) in {self.channel}: …{self.excerpt}…"


def _base64_cores(value: bytes) -> dict[str, str]:
    """The base64 characters that encode `value` alone, at each of the three byte offsets.

    Character i of an encoding covers bits 6i to 6i+6 of the input; with `value` at byte
    `offset`, those bits are all the value's from character ceil(8·offset/6) to
    floor(8·(offset+len)/6): the characters before and after also hold the neighbours' bits.
    """
    cores: dict[str, str] = {}
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + value).decode("ascii")
        core = encoded[-(-8 * offset // 6) : 8 * (offset + len(value)) // 6]
        cores[f"base64 (offset {offset})"] = core
        cores[f"base64url (offset {offset})"] = core.replace("+", "-").replace("/", "_")
    return cores


def encoded_forms(secret: str) -> dict[str, str]:
    """Each form `secret` could take in an output, by name (forms too short to be telling dropped)."""
    raw = secret.encode("utf-8")
    forms = {"plain": secret, **_base64_cores(raw)}
    for name, encode in (("url-encoded", quote), ("form-encoded", quote_plus)):
        encoded = encode(secret, safe="")
        if encoded != secret:
            forms[name] = encoded
    escaped = json.dumps(secret)[1:-1]
    if escaped != secret:
        forms["json-escaped"] = escaped
    unique: dict[str, str] = {}
    for name, form in forms.items():
        if len(form) >= MIN_NEEDLE and form not in unique.values():
            unique[name] = form
    return unique


def private_key_lines(key_json: str) -> dict[str, str]:
    """The body lines of a service-account key's PEM private key: any one of them is a leak."""
    pem = str(json.loads(key_json)["private_key"])
    body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    return {f"private key line {index + 1}": line for index, line in enumerate(body)}


def find_leaks(secrets: Mapping[str, str], channels: Iterable[tuple[str, str]]) -> list[Leak]:
    """Every (secret, form, channel) where a form of a secret appears in a channel's text."""
    needles = [
        (name, form_name, form)
        for name, secret in secrets.items()
        for form_name, form in encoded_forms(secret).items()
    ]
    found: list[Leak] = []
    for channel, text in channels:
        for name, form_name, form in needles:
            at = text.find(form)
            if at < 0:
                continue
            before = text[max(0, at - CONTEXT) : at]
            after = text[at + len(form) : at + len(form) + CONTEXT]
            found.append(Leak(name, form_name, channel, f"{before}<{name}>{after}"))
    return found


def assert_no_leaks(secrets: Mapping[str, str], channels: Iterable[tuple[str, str]]) -> None:
    """Fail, naming each finding without printing the secret, when any secret appears anywhere."""
    __tracebackhide__ = True  # pytest would print the arguments: the secrets themselves
    leaks = find_leaks(secrets, channels)
    if leaks:
        lines = "\n".join(f"- {leak}" for leak in leaks[:20])
        more = f"\n(and {len(leaks) - 20} more)" if len(leaks) > 20 else ""
        raise AssertionError(f"{len(leaks)} secret value(s) found in the operator's outputs:\n{lines}{more}")
