"""`gwsync run --keyless-account NAMESPACE=EMAIL`: which namespaces may use which keyless account."""

import subprocess
import sys
from pathlib import Path

import pytest

from gwsync.controller.endpoints import parse_keyless_accounts

GWSYNC = str(Path(sys.executable).parent / "gwsync")


def test_bindings_are_grouped_by_namespace_and_emails_compared_in_lower_case() -> None:
    assert parse_keyless_accounts(
        ["team-a=Sync@P.iam.gserviceaccount.com", "*=all@p.iam.gserviceaccount.com"]
    ) == {
        "team-a": frozenset({"sync@p.iam.gserviceaccount.com"}),
        "*": frozenset({"all@p.iam.gserviceaccount.com"}),
    }


@pytest.mark.parametrize("value", ["sync@p.iam.gserviceaccount.com", "team-a=", "=sync@p.iam"])
def test_a_binding_without_namespace_or_email_is_refused_before_the_operator_starts(value: str) -> None:
    done = subprocess.run(
        [GWSYNC, "run", "--keyless-account", value], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1  # a usage error: 2 is reserved for PartiallySucceeded
    assert f"--keyless-account '{value}' is not NAMESPACE=EMAIL" in " ".join(done.stderr.split())
