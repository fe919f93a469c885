"""`gwsync groups search`: the seed's group type-ahead, with a GoogleProvisioning's own credentials."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from tests.integration.cli.helpers import Gwsync, assert_error, provisioning

from gwsync.testing.google import GoogleEmulator, google_emulator_in_thread
from gwsync.testing.kube import PROVISIONINGS, SECRETS, KubeEmulator
from gwsync.testing.org import sample_org


def google_spec(google: GoogleEmulator, secret: str, admin: str = "admin@acme.example") -> dict[str, object]:
    return {
        "adminEmail": admin,
        "credentialsSecretRef": {"name": secret, "key": "credentials.json"},
        "apiEndpoint": google.url,
    }


@pytest.fixture(scope="module")
def google(emulator: KubeEmulator) -> Iterator[GoogleEmulator]:
    """The sample org behind the Google emulator, and provisionings pointing at it."""
    with google_emulator_in_thread(sample_org()) as google:
        key = base64.b64encode(google.service_account_key().encode()).decode()
        emulator.seed(
            SECRETS,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": "acme-google",
                    "namespace": "default",
                    "labels": {"gwsync.io/credentials": "true"},
                },
                "data": {"credentials.json": key},
            },
        )
        emulator.seed(PROVISIONINGS, provisioning("acme", google=google_spec(google, "acme-google")))
        emulator.seed(PROVISIONINGS, provisioning("keyless", google=google_spec(google, "missing-google")))
        emulator.seed(
            PROVISIONINGS,
            provisioning(
                "notadmin", google=google_spec(google, "acme-google", admin="zoe.muller@acme.example")
            ),
        )
        yield google


def group_rows(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│")]
        if len(cells) == 5 and "@" in cells[1]:
            rows[cells[1]] = cells[2:4]
    return rows


def test_groups_search_lists_the_groups_whose_name_or_email_starts_with_the_text(
    gwsync: Gwsync, google: GoogleEmulator
) -> None:
    result = gwsync("groups", "search", "eng", "--provisioning", "acme")
    assert result.exit_code == 0, result.output
    rows = group_rows(result.stdout)
    assert set(rows) == {"engineering@acme.example"}
    name, members = rows["engineering@acme.example"]
    assert name == "Engineering" and int(members) > 0

    result = gwsync("groups", "search", "s", "-p", "acme")
    assert result.exit_code == 0, result.output
    assert set(group_rows(result.stdout)) == {"sales@acme.example", "sre-oncall@acme.example"}


def test_groups_search_says_when_nothing_matches(gwsync: Gwsync, google: GoogleEmulator) -> None:
    result = gwsync("groups", "search", "zz", "-p", "acme")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "No Google group's name or email starts with 'zz' (customer my_customer)."


def test_a_missing_credentials_secret_is_named_with_its_fix(gwsync: Gwsync, google: GoogleEmulator) -> None:
    assert_error(
        gwsync("groups", "search", "eng", "-p", "keyless"),
        "Secret default/missing-google not found: create it with the service-account key under key "
        "credentials.json.",
    )


def test_a_google_refusal_is_one_sentence(gwsync: Gwsync, google: GoogleEmulator) -> None:
    result = gwsync("groups", "search", "eng", "-p", "notadmin")
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "zoe.muller@acme.example" in result.stderr
