"""`gwsync sync --scim-token-file FILE`: a bad token file is named as the file the person passed.

The operator reads the token from a Secret and says so; a local sync never saw a Secret, so
its messages name the file.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from gwsync.cli.main import app
from gwsync.testing.org import sample_org
from gwsync.testing.scim import ScimServer, run_scim_server

TOKEN = "token-file-token"
runner = CliRunner()


@pytest.fixture(scope="module")
def scim() -> Iterator[ScimServer]:
    with run_scim_server(token=TOKEN) as server:
        yield server


def sync(tmp_path: Path, scim: ScimServer, token_file: Path) -> tuple[int, str]:
    manifest = {
        "apiVersion": "provisioning.gwsync.io/v1alpha1",
        "kind": "GoogleProvisioning",
        "metadata": {"name": "acme", "namespace": "people"},
        "spec": {
            "google": {
                "adminEmail": "admin@acme.example",
                "credentialsSecretRef": {"name": "acme-google", "key": "credentials.json"},
            },
            "target": {"scim": {"url": scim.url, "tokenSecretRef": {"name": "acme-scim", "key": "token"}}},
        },
    }
    (tmp_path / "acme.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    (tmp_path / "org.yaml").write_text(sample_org().to_yaml(), encoding="utf-8")
    args = ["sync", "-f", str(tmp_path / "acme.yaml"), "--directory-file", str(tmp_path / "org.yaml")]
    args += ["--state", str(tmp_path / "ledger.json")]
    result = runner.invoke(app, [*args, "--scim-token-file", str(token_file)])
    return result.exit_code, " ".join(result.stderr.split())  # rich's line wrapping undone


def test_a_missing_token_file_is_named(tmp_path: Path, scim: ScimServer) -> None:
    missing = tmp_path / "nope.txt"
    assert sync(tmp_path, scim, missing) == (1, f"error: The SCIM token file {missing} does not exist.")


def test_an_empty_token_file_is_named(tmp_path: Path, scim: ScimServer) -> None:
    empty = tmp_path / "token"
    empty.write_text(" \n", encoding="utf-8")
    assert sync(tmp_path, scim, empty) == (1, f"error: The SCIM token file {empty} is empty.")


def test_a_folder_given_as_the_token_file_is_named(tmp_path: Path, scim: ScimServer) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir()
    assert sync(tmp_path, scim, folder) == (
        1,
        f"error: The SCIM token file {folder} is a folder: pass the file itself.",
    )


def test_a_token_file_that_is_not_text_is_named(tmp_path: Path, scim: ScimServer) -> None:
    binary = tmp_path / "token.der"
    binary.write_bytes(b"\xff\xfe\x00token")
    assert sync(tmp_path, scim, binary) == (1, f"error: The SCIM token file {binary} is not UTF-8 text.")


def test_a_refused_token_names_the_file_not_a_secret(tmp_path: Path, scim: ScimServer) -> None:
    wrong = tmp_path / "token"
    wrong.write_text("not-the-token\n", encoding="utf-8")
    writes = len(scim.writes)
    assert sync(tmp_path, scim, wrong) == (
        1,
        f"error: The SCIM token in {wrong} was refused (401) by {scim.url}; put a valid bearer token "
        "for it in that file.",
    )
    assert len(scim.writes) == writes
