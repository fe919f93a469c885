"""Ctrl-C during `gwsync sync`, and progress without a terminal (issue 24, point 5).

A real `gwsync` process, its standard error a pipe (no terminal), syncs through a fault proxy that
slows each create: it prints progress lines, and SIGINT, sent once the proxy has seen creates
answered, stops it as a target gone would: the create in flight is answered, nothing more is
sent, the ledger holding every create done and the partial report are saved, exit 130. The rerun
creates only the rest.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gwsync.sync.ledger import Verdict, read_state, state_file_key
from gwsync.testing.faults import Delay, FaultProxy, Hang, fault_proxy_in_thread
from gwsync.testing.scim import run_scim_server

from .test_sync_command import ACTIVE_PEOPLE, TOKEN, Workspace, flat, provisioning

GWSYNC = Path(sys.executable).parent / "gwsync"


@pytest.fixture
def work(tmp_path: Path) -> Iterator[Workspace]:
    with run_scim_server(token=TOKEN) as scim:
        yield Workspace(tmp_path, scim)


def created(proxy: FaultProxy) -> int:
    log = list(proxy.log)
    return sum(1 for e in log if e.method == "POST" and e.path.endswith("/Users") and e.status == 201)


def wait_for(condition: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the sync did not get there in time"
        time.sleep(0.02)


def test_ctrl_c_saves_the_ledger_and_the_partial_report_and_exits_130(work: Workspace) -> None:
    report = work.root / "report.json"
    base = work.scim.url.removesuffix("/v2")
    with fault_proxy_in_thread(base, "/v2") as proxy:
        proxy.inject(Delay(0.05), method="POST", path="/Users", times=None)  # one create at a time
        slow = provisioning(proxy.url)
        slow["spec"]["target"]["scim"].update({"maxConcurrency": 1, "bulk": False})
        work.manifest = work.write("slow.yaml", yaml.safe_dump(slow))
        args = ["sync", "-f", str(work.manifest), "--directory-file", str(work.org)]
        args += ["--scim-token-file", str(work.token), "--state", str(work.state), "-o", str(report)]
        env = {**os.environ, "GWSYNC_PROGRESS_SECONDS": "0.1", "COLUMNS": "200"}
        sync = subprocess.Popen(
            [str(GWSYNC), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        try:
            wait_for(lambda: created(proxy) >= 3)
            sync.send_signal(signal.SIGINT)
            stdout, stderr = sync.communicate(timeout=30)
        finally:
            sync.kill()
        done = created(proxy)
        state, users_then = work.state.read_bytes(), len(work.scim.users())
        proxy.clear()
        rerun = work.run("sync", "-o", str(work.root / "rerun.json"))  # the same target, at full speed
    assert sync.returncode == 130, stderr
    assert 3 <= done < ACTIVE_PEOPLE
    lines = stderr.splitlines()
    assert any(line.startswith("Syncing acme: ") for line in lines), stderr  # progress, no terminal
    assert (
        "Stopping (Ctrl-C): waiting for the writes in flight to be answered, then saving the ledger; press "
        "Ctrl-C again to stop at once." in lines
    )
    not_applied = ACTIVE_PEOPLE - done + 1 + 15  # the other users, the team and its members
    assert flat(stdout).endswith(
        f"Interrupted: Ctrl-C stopped the sync after {done} writes; {not_applied} items not applied. Wrote "
        f"the SyncReport with {ACTIVE_PEOPLE + 16} items to {report}. The ledger of what was written is "
        f"saved in {work.state}: run the same command again to go on from there."
    )
    ledger, verdict = read_state(state, state_file_key(TOKEN))
    assert verdict is Verdict.SIGNED and len(ledger.users) == done == users_then
    saved = json.loads(report.read_text(encoding="utf-8"))
    results = [(i["action"], i["result"]) for i in saved["status"]["items"] if i["type"] == "User"]
    assert saved["status"]["phase"] == "Interrupted"
    assert results.count(("Create", "Succeeded")) == done
    assert results.count(("Create", "Skipped")) == ACTIVE_PEOPLE - done

    assert rerun.exit_code == 0, rerun.output
    again = json.loads((work.root / "rerun.json").read_text(encoding="utf-8"))
    actions = [i["action"] for i in again["status"]["items"] if i["type"] == "User"]
    assert (actions.count("Unchanged"), actions.count("Create")) == (done, ACTIVE_PEOPLE - done)
    assert len(work.scim.users()) == ACTIVE_PEOPLE  # nobody created twice


def test_a_second_ctrl_c_stops_at_once_and_the_rerun_adopts_what_was_created(work: Workspace) -> None:
    base = work.scim.url.removesuffix("/v2")
    log = work.root / "stderr.txt"
    with fault_proxy_in_thread(base, "/v2") as proxy:
        proxy.inject(Delay(0.05), method="POST", path="/Users", times=2)
        proxy.inject(Hang(applied=True), method="POST", path="/Users", times=1)  # created, never answered
        slow = provisioning(proxy.url)
        slow["spec"]["target"]["scim"].update({"maxConcurrency": 1, "bulk": False})
        work.manifest = work.write("slow.yaml", yaml.safe_dump(slow))
        args = ["sync", "-f", str(work.manifest), "--directory-file", str(work.org)]
        args += ["--scim-token-file", str(work.token), "--state", str(work.state)]
        with log.open("w", encoding="utf-8") as stderr:
            sync = subprocess.Popen([str(GWSYNC), *args], stdout=subprocess.PIPE, stderr=stderr, text=True)
            try:
                wait_for(lambda: len(work.scim.users()) == 3)  # the hung create is applied
                sync.send_signal(signal.SIGINT)  # waits for the hung create's answer...
                wait_for(lambda: "Stopping (Ctrl-C)" in log.read_text(encoding="utf-8"))
                sync.send_signal(signal.SIGINT)  # ...so a second Ctrl-C stops at once
                sync.communicate(timeout=30)
            finally:
                sync.kill()
        assert sync.returncode == 130
        assert flat(log.read_text(encoding="utf-8")).endswith(
            "press Ctrl-C again to stop at once. "
            f"error: Stopped at once (Ctrl-C): the ledger in {work.state} holds what was written up "
            "to its last checkpoint, and the next sync finds the rest by externalId."
        )
        assert len(work.scim.users()) == 3 and not work.state.exists()  # no checkpoint came
        proxy.clear()
        rerun = work.run("sync", "-o", str(work.root / "rerun.json"))

    assert rerun.exit_code == 0, rerun.output
    report = json.loads((work.root / "rerun.json").read_text(encoding="utf-8"))
    users = [i for i in report["status"]["items"] if i["type"] == "User"]
    adopted = [i for i in users if i["action"] == "Adopt"]
    assert (len(adopted), sum(i["action"] == "Create" for i in users)) == (3, ACTIVE_PEOPLE - 3)
    assert adopted[0]["details"] == (
        "Found by its externalId, not in the ledger (a sync stopped before saving it, or the ledger was "
        "lost): taken into the ledger, nothing written."
    )
    assert len(work.scim.users()) == ACTIVE_PEOPLE  # nobody created twice
