"""`gwsync sync` and `gwsync plan` outside a cluster: a snapshot in, scim2-server out."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from gwsync.cli.main import app
from gwsync.testing.faults import Hang, fault_proxy_in_thread
from gwsync.testing.google import google_emulator_in_thread
from gwsync.testing.org import Org, sample_org
from gwsync.testing.orggen import next_day
from gwsync.testing.scim import ScimServer, run_scim_server

TOKEN = "local-sync-token"
ACTIVE_PEOPLE = 38  # the sample org's 40 users, less one suspended and one archived
runner = CliRunner()


def flat(text: str) -> str:
    """Output with rich's line wrapping undone, so sentences can be matched whole."""
    return " ".join(text.split())


def google_spec(api_endpoint: str | None = None) -> dict[str, Any]:
    google: dict[str, Any] = {
        "adminEmail": "admin@acme.example",
        "credentialsSecretRef": {"name": "acme-google", "key": "credentials.json"},
    }
    return google | ({"apiEndpoint": api_endpoint} if api_endpoint else {})


def provisioning(scim_url: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "provisioning.gwsync.io/v1alpha1",
        "kind": "GoogleProvisioning",
        "metadata": {"name": "acme", "namespace": "people"},
        "spec": {
            "google": google_spec(),
            "target": {"scim": {"url": scim_url, "tokenSecretRef": {"name": "acme-scim", "key": "token"}}},
            "teams": {
                "enabled": True,
                "mappings": [{"team": "Engineering", "groups": ["engineering@acme.example"]}],
            },
            **spec,
        },
    }


class Workspace:
    """The files a person passes to `gwsync sync`, in a temporary folder."""

    def __init__(self, root: Path, scim: ScimServer) -> None:
        self.root, self.scim = root, scim
        self.manifest = self.write("acme.yaml", yaml.safe_dump(provisioning(scim.url)))
        self.token = self.write("token", TOKEN + "\n")
        self.state = root / "state" / "ledger.json"
        self.snapshot(sample_org())

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.write_text(text, encoding="utf-8")
        return path

    def snapshot(self, org: Org) -> None:
        self.org = self.write("org.yaml", org.to_yaml())

    def run(self, command: str, *extra: str) -> Result:
        args = [command, "-f", str(self.manifest), "--directory-file", str(self.org)]
        args += ["--scim-token-file", str(self.token), "--state", str(self.state), *extra]
        return runner.invoke(app, args)


@pytest.fixture
def scim() -> Iterator[ScimServer]:
    with run_scim_server(token=TOKEN) as server:
        yield server


@pytest.fixture
def work(tmp_path: Path, scim: ScimServer) -> Workspace:
    return Workspace(tmp_path, scim)


def test_a_snapshot_is_provisioned_and_the_report_holds_every_item(work: Workspace) -> None:
    report_file = work.root / "report.json"
    result = work.run("sync", "-o", str(report_file))
    assert result.exit_code == 0, result.output
    assert len(work.scim.users()) == ACTIVE_PEOPLE
    assert work.scim.user_by_name("amelie.lefevre@acme.example")["name"]["givenName"] == "Amélie"
    assert "noah.smith@acme.example" not in {u["userName"] for u in work.scim.users()}  # suspended
    assert len(work.scim.group_members("Engineering")) == 15
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert (report["kind"], report["spec"]["provisioningRef"], report["status"]["phase"]) == (
        "SyncReport",
        {"name": "acme"},
        "Succeeded",
    )
    assert report["status"]["itemCount"] == len(report["status"]["items"]) == ACTIVE_PEOPLE + 1 + 15
    ledger = json.loads(work.state.read_text(encoding="utf-8"))
    assert len(ledger["users"]) == ACTIVE_PEOPLE and list(ledger["teams"]) == ["Engineering"]
    assert f"Succeeded: {ACTIVE_PEOPLE} users created, 1 team created, 15 members added" in flat(
        result.stdout
    )


def test_a_second_run_with_a_changed_snapshot_applies_just_the_change(work: Workspace) -> None:
    assert work.run("sync").exit_code == 0
    work.scim.reset_log()
    changed, _ = next_day(sample_org())
    work.snapshot(changed)
    report_file = work.root / "second.yaml"
    result = work.run("sync", "-o", str(report_file))
    assert result.exit_code == 0, result.output
    report = yaml.safe_load(report_file.read_text(encoding="utf-8"))
    changes = sorted(
        (item["action"], item["key"]) for item in report["status"]["items"] if item["action"] != "Unchanged"
    )
    assert changes == [
        ("AddMember", "Engineering/noemie.laurent@acme.example"),
        ("AddMember", "Engineering/zoe.muller@acme.example"),
        ("Create", "noemie.laurent@acme.example"),
        ("Deprovision", "sam.taylor@acme.example"),
        ("Rename", "amelie.martin@acme.example"),
        ("Update", "jose.nunez@acme.example"),
    ]
    # one POST, three user PATCHes, one group PATCH with both additions; nothing else touched
    assert sorted(w.method for w in work.scim.writes) == ["PATCH"] * 4 + ["POST"]
    assert work.scim.user_by_name("sam.taylor@acme.example")["active"] is False
    assert work.scim.user_by_name("amelie.martin@acme.example")["name"]["familyName"] == "Martin"


def test_plan_prints_the_plan_and_changes_nothing(work: Workspace) -> None:
    assert work.run("sync").exit_code == 0
    ledger_before = work.state.read_bytes()
    work.scim.reset_log()
    work.snapshot(next_day(sample_org())[0])
    result = work.run("plan")
    assert result.exit_code == 0, result.output
    assert work.scim.writes == []
    assert work.state.read_bytes() == ledger_before
    text = flat(result.stdout)
    assert "Dry run, would apply: 1 user created, 1 updated, 1 renamed, 1 deprovisioned" in text
    assert text.count("Planned") == 6


def test_a_run_that_would_remove_too_many_is_blocked_until_approved(work: Workspace) -> None:
    assert work.run("sync").exit_code == 0
    org = sample_org()
    org.users = [u for u in org.users if u.department != "R&D" or u.primary_email.startswith("admin")]
    for group in org.groups:
        group.members = [
            m for m in group.members if m.split("@")[0] in {u.primary_email.split("@")[0] for u in org.users}
        ]
    work.snapshot(org)
    blocked = work.run("sync")
    assert blocked.exit_code == 3
    assert (
        "Blocked: Nothing else to change; 16 removals held (16 removals (42% of 38 managed users) exceed "
        "maxPercent 10) until approved" in flat(blocked.stdout)
    )
    assert (
        "Nothing was removed. To apply the held removals, run the same command with --approve-removals."
        in flat(blocked.stdout)
    )
    assert all(u["active"] for u in work.scim.users())
    approved = work.run("sync", "--approve-removals")
    assert approved.exit_code == 0, approved.output
    assert sum(not u["active"] for u in work.scim.users()) == 16


ERRORS = [
    (["-f", "missing.yaml"], "error: The GoogleProvisioning file {root}/missing.yaml does not exist."),
    (
        ["-f", "acme.yaml", "--directory-file", "org.yaml"],
        "error: GoogleProvisioning acme needs the SCIM bearer token of {scim}: pass it with "
        "--scim-token-file FILE.",
    ),
    (
        ["-f", "acme.yaml", "--scim-token-file", "token"],
        "error: GoogleProvisioning acme reads its key from spec.google.credentialsSecretRef: pass the key "
        "file with --google-credentials FILE, or serve a snapshot with --directory-file ORG.yaml.",
    ),
    (
        ["-f", "acme.yaml", "--scim-token-file", "token", "--directory-file", "broken.yaml"],
        "error: {root}/broken.yaml: users[0].primaryEmail: Field required.",
    ),
    (
        [
            "-f",
            "acme.yaml",
            "--scim-token-file",
            "token",
            "--directory-file",
            "org.yaml",
            "--state",
            "bad.json",
        ],
        "error: State file {root}/bad.json: The ledger is not valid JSON (Expecting value: line 1 column 1 "
        "(char 0)); restore it or delete it to re-adopt.",
    ),
    (
        ["-f", "invalid.yaml", "--scim-token-file", "token", "--directory-file", "org.yaml"],
        "error: {root}/invalid.yaml: GoogleProvisioning people/acme: spec.deprovision.action: Input should "
        "be 'Deactivate' or 'Delete'.",
    ),
]


@pytest.mark.parametrize(("args", "message"), ERRORS)
def test_mistakes_are_one_sentence_and_exit_1(work: Workspace, args: list[str], message: str) -> None:
    work.write("broken.yaml", "users:\n  - {id: '1', givenName: X}\n")
    work.write("bad.json", "")
    invalid = provisioning(work.scim.url, deprovision={"action": "Remove"})
    work.write("invalid.yaml", yaml.safe_dump(invalid))
    resolved = [str(work.root / a) if a.endswith((".yaml", ".json")) or a == "token" else a for a in args]
    state = [] if "--state" in args else ["--state", str(work.state)]
    result = runner.invoke(app, ["sync", *resolved, *state])
    assert result.exit_code == 1
    assert flat(result.stderr) == message.format(root=work.root, scim=work.scim.url)
    assert work.scim.writes == []


def test_an_unreachable_target_is_named(work: Workspace) -> None:
    work.manifest = work.write("down.yaml", yaml.safe_dump(provisioning("http://127.0.0.1:9/v2")))
    result = work.run("sync")
    assert result.exit_code == 1
    assert flat(result.stderr).startswith("error: The SCIM target http://127.0.0.1:9/v2 cannot be reached:")
    assert not work.state.exists()


def test_a_service_account_key_file_reads_google_itself(work: Workspace) -> None:
    with google_emulator_in_thread(sample_org()) as google:
        key = work.write("key.json", google.service_account_key())
        work.manifest = work.write(
            "direct.yaml",
            yaml.safe_dump(provisioning(work.scim.url, google=google_spec(api_endpoint=google.url))),
        )
        args = ["sync", "-f", str(work.manifest), "--google-credentials", str(key)]
        args += ["--state", str(work.state)]
        result = runner.invoke(app, [*args, "--scim-token-file", str(work.token)])
    assert result.exit_code == 0, result.output
    assert len(work.scim.users()) == ACTIVE_PEOPLE


def test_a_key_file_that_is_not_a_key_is_named(work: Workspace) -> None:
    key = work.write("key.json", "{}")
    args = ["sync", "-f", str(work.manifest), "--google-credentials", str(key), "--state", str(work.state)]
    result = runner.invoke(app, [*args, "--scim-token-file", str(work.token)])
    assert result.exit_code == 1
    assert flat(result.stderr) == (
        f"error: {key}: The service-account key is not a JSON key file of a service account (missing "
        "client_email, private_key, token_uri); download a new JSON key in the Google Cloud console and put "
        "it in place of this one."
    )


def test_a_sync_past_its_timeout_stops_writing_and_exits_1(work: Workspace) -> None:
    # One create at a time, and the first never answers: the other 37 are never sent.
    base = work.scim.url.removesuffix("/v2")
    with fault_proxy_in_thread(base, "/v2") as proxy:
        proxy.inject(Hang(), method="POST", path="/Users", times=1)
        scim = {"maxConcurrency": 1, "bulk": False}
        stalled = provisioning(proxy.url, syncTimeout="3s")
        stalled["spec"]["target"]["scim"].update(scim)
        work.manifest = work.write("stalled.yaml", yaml.safe_dump(stalled))
        result = work.run("sync")
        creates = [e for e in proxy.log if e.method == "POST"]  # the client is closed by now
    assert result.exit_code == 1
    assert flat(result.stdout).endswith(
        "Failed: The sync did not finish within 3s (spec.syncTimeout) and was stopped: nothing more "
        "was written, what it wrote before stays, and the next sync goes on from there; if a sync of "
        "this size needs longer, raise spec.syncTimeout."
    )
    assert [e.outcome for e in creates] == ["hung"]


def test_o_dash_writes_the_report_to_stdout_and_report_show_file_reads_it_back(work: Workspace) -> None:
    result = work.run("sync", "-o", "-")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # stdout holds the report alone; the summary went to stderr
    assert (report["kind"], len(report["status"]["items"])) == ("SyncReport", ACTIVE_PEOPLE + 1 + 15)
    assert f"Succeeded: {ACTIVE_PEOPLE} users created, 1 team created" in flat(result.stderr)
    saved = work.write("report.json", result.stdout)
    shown = runner.invoke(
        app, ["report", "show", "--file", str(saved), "--type", "Team"], env={"COLUMNS": "200"}
    )
    assert shown.exit_code == 0, shown.output
    assert f"SyncReport people/{report['metadata']['name']}" in shown.stdout
    assert shown.stdout.rstrip().endswith(f"1 of {ACTIVE_PEOPLE + 16} items match the filters.")
    exported = runner.invoke(app, ["report", "export", "--file", str(saved), "--type", "Team", "-o", "-"])
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.splitlines()[1].startswith("Team,Engineering,Create,Succeeded,true,")
    assert len(exported.stdout.splitlines()) == 2


def test_a_report_file_with_an_unknown_extension_is_refused_before_the_sync(work: Workspace) -> None:
    result = work.run("sync", "-o", str(work.root / "report.txt"))
    assert result.exit_code == 1
    assert flat(result.stderr) == (
        f"error: -o {work.root}/report.txt: a SyncReport is written as .json, .yaml or .yml; name the file "
        "so, or pass -o - for JSON on standard output."
    )
    assert work.scim.writes == [] and not work.state.exists()


def test_plan_summary_prints_counts_only_and_json_prints_the_dry_run_report(work: Workspace) -> None:
    summary = work.run("plan", "--summary")
    assert summary.exit_code == 0, summary.output
    assert flat(summary.stdout) == (
        f"users created {ACTIVE_PEOPLE} teams created 1 memberships added 15 Dry run, would apply: "
        f"{ACTIVE_PEOPLE} users created, 1 team created, 15 members added (0 users unchanged)."
    )
    planned = work.run("plan", "-o", "json")
    assert planned.exit_code == 0, planned.output
    report = json.loads(planned.stdout)
    assert (report["spec"]["dryRun"], report["status"]["summary"]["users"]["created"]) == (
        True,
        ACTIVE_PEOPLE,
    )
    assert {item["result"] for item in report["status"]["items"]} == {"Planned"}
    counts_only = json.loads(work.run("plan", "-o", "-", "--summary").stdout)
    assert "items" not in counts_only["status"]
    assert counts_only["status"]["message"] == report["status"]["message"]
    assert work.scim.writes == []
    wrong = work.run("plan", "-o", "yaml")
    assert (wrong.exit_code, wrong.stderr) == (
        1,
        "error: -o 'yaml' is not an output format of plan; use table or json.\n",
    )
