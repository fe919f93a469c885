"""`gwsync emulate google|scim`: standalone emulators, as the e2e suite runs them in a pod."""

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from gwsync.sources.google import GoogleDirectory

GWSYNC = str(Path(sys.executable).parent / "gwsync")
URL = re.compile(r"(http://127\.0\.0\.1:\d+(?:/v2)?)")


@contextmanager
def serving(*args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Start `gwsync emulate ...`, wait for the line naming its URL, stop it with SIGTERM."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "300"}
    process = subprocess.Popen(
        [GWSYNC, "emulate", *args, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # blocks until the server announces itself
        found = URL.search(first)
        assert found, (first, process.stderr.read() if process.stderr else "")
        yield found.group(1), process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_the_google_emulator_serves_the_sample_org_and_writes_a_usable_key(tmp_path: Path) -> None:
    key_file = tmp_path / "sa.json"
    with serving("google", "--key-out", str(key_file)) as (url, process):
        reader = GoogleDirectory.from_service_account_key(
            key_file.read_text(encoding="utf-8"), admin_email="admin@acme.example", api_endpoint=url
        )
        assert reader.check_connection() == ("C03acme01", "acme.example")
        assert (
            len(reader.read(["engineering@acme.example"]).groups["engineering@acme.example"]) == 16
        )  # suspended included; the planner drops them
    out, _ = process.communicate()
    assert process.returncode == 0
    assert "Google emulator stopped." in out


def test_the_scim_emulator_requires_its_token(tmp_path: Path) -> None:
    with serving("scim", "--token", "e2e-token") as (url, process):
        assert httpx.get(f"{url}/Users").status_code == 401
        assert httpx.get(f"{url}/Users", headers={"Authorization": "Bearer wrong"}).status_code == 401
        answer = httpx.get(f"{url}/Users", headers={"Authorization": "Bearer e2e-token"})
        assert answer.status_code == 200 and answer.json()["totalResults"] == 0
    assert process.wait() == 0


def test_a_broken_snapshot_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "org.yaml"
    broken.write_text("users: [{id: '1'}]\n", encoding="utf-8")
    done = subprocess.run(
        [GWSYNC, "emulate", "google", "--directory-file", str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert " ".join(done.stderr.split()) == f"error: {broken}: users[0].primaryEmail: Field required."
