"""The secret scan catches a planted secret in every encoding, and only then."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus, urlencode

import pytest

from gwsync.testing.leaks import assert_no_leaks, encoded_forms, find_leaks, private_key_lines

TOKEN = "scim-token/with+odd chars&=ü"
SECRETS = {"SCIM token": TOKEN}


def planted(form: str) -> str:
    """A log line, an Event or a ConfigMap that carries the token in one form."""
    raw = TOKEN.encode()
    texts = {
        "plain": f"Authorization: Bearer {TOKEN} was sent",
        "base64": json.dumps({"binaryData": {"x": base64.b64encode(b"prefix:" + raw + b":suffix").decode()}}),
        "base64, other offset": base64.b64encode(b"ab" + raw).decode(),
        "base64, third offset": base64.b64encode(b"a" + raw + b"tail").decode(),
        "base64url, unpadded": base64.urlsafe_b64encode(b"{" + raw + b"}").decode().rstrip("="),
        "url-encoded": f"GET /callback?token={quote(TOKEN, safe='')} HTTP/1.1",
        "form-encoded": urlencode({"assertion": TOKEN}),
        "json-escaped": json.dumps({"message": f"refused {TOKEN}"}),
    }
    return texts[form]


@pytest.mark.parametrize(
    "form",
    [
        "plain",
        "base64",
        "base64, other offset",
        "base64, third offset",
        "base64url, unpadded",
        "url-encoded",
        "form-encoded",
        "json-escaped",
    ],
)
def test_a_planted_secret_is_found_in_each_encoding(form: str) -> None:
    [leak] = find_leaks(SECRETS, [("Event x", planted(form))])
    assert (leak.secret, leak.channel) == ("SCIM token", "Event x")
    with pytest.raises(AssertionError) as failure:
        assert_no_leaks(SECRETS, [("Event x", planted(form))])
    # The scan's own message names the finding without repeating the secret in any form.
    assert find_leaks(SECRETS, [("message", str(failure.value))]) == []
    assert "SCIM token" in str(failure.value) and "Event x" in str(failure.value)


def test_outputs_without_the_secret_pass() -> None:
    harmless = [
        ("log", "Sync of t/acme succeeded: 3 created."),
        ("Event", base64.b64encode(b"scim-token/with+odd chars").decode()),  # a prefix is no leak
        ("status", quote_plus("scim-token")),
    ]
    assert find_leaks(SECRETS, harmless) == []
    assert_no_leaks(SECRETS, harmless)


def test_every_form_is_long_enough_not_to_match_by_chance() -> None:
    forms = encoded_forms(TOKEN)
    assert {"plain", "url-encoded", "form-encoded", "json-escaped"} <= set(forms)
    assert len([name for name in forms if name.startswith("base64 (")]) == 3
    assert all(len(form) >= 12 for form in forms.values())


def test_any_line_of_a_private_key_is_a_secret() -> None:
    pem = (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n"
        "-----END PRIVATE KEY-----\n"
    )
    lines = private_key_lines(json.dumps({"private_key": pem}))
    assert list(lines.values()) == ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "BKcwggSjAgEAAoIBAQC7"]
    [leak] = find_leaks(lines, [("log", "key: BKcwggSjAgEAAoIBAQC7 oops")])
    assert leak.secret == "private key line 2"
