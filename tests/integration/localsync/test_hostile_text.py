"""`gwsync sync -o report.json` when Google and the target send lone surrogates and format characters.

A lone surrogate (JSON `"\\ud800"`) has no UTF-8 form: kept as it is, it failed the report's
serialisation and the report ended without its items. Read as U+FFFD at the adapters, it
changes one character of one value. Format characters in the target's answers (U+202E reverses
what a reader sees) reach report details escaped.
"""

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from gwsync.cli.main import app
from gwsync.testing.faults import Rewrite, fault_proxy_in_thread
from gwsync.testing.google import google_emulator_in_thread
from gwsync.testing.lightscim import run_light_scim
from gwsync.testing.org import Org, OrgUser

TOKEN = "hostile-text-token"
MARK = "-surrogate-"  # where Google's answer gets a lone surrogate, sent as the JSON escape \ud800
REFUSAL = "Refused: \u202eelpmaxe\u2028next \x1b[31m\ud800."


def org() -> Org:
    return Org(
        admins=["admin@acme.example"],
        users=[
            OrgUser(id="1001", primary_email="admin@acme.example", given_name="Ada", family_name="Admin"),
            OrgUser(id="1002", primary_email=f"lone{MARK}@acme.example", given_name=f"Lo{MARK}ne"),
            OrgUser(id="1003", primary_email="kate@acme.example", given_name="Kate", family_name="Adams"),
            OrgUser(id="1004", primary_email="refused@acme.example", given_name="Re", family_name="Fused"),
        ],
    )


def with_surrogates(answer: Any) -> Any:
    """Google's answer with a lone surrogate in place of each MARK (the proxy sends `\\ud800`)."""
    if isinstance(answer, str):
        return answer.replace(MARK, "\ud800")
    if isinstance(answer, dict):
        return {key: with_surrogates(value) for key, value in answer.items()}
    if isinstance(answer, list):
        return [with_surrogates(value) for value in answer]
    return answer


def manifest(url: str, google: str) -> dict[str, Any]:
    return {
        "apiVersion": "provisioning.gwsync.io/v1alpha1",
        "kind": "GoogleProvisioning",
        "metadata": {"name": "acme", "namespace": "people"},
        "spec": {
            "google": {
                "adminEmail": "admin@acme.example",
                "credentialsSecretRef": {"name": "acme-google", "key": "credentials.json"},
                "apiEndpoint": google,
            },
            "target": {"scim": {"url": url, "tokenSecretRef": {"name": "acme-scim", "key": "token"}}},
        },
    }


def test_lone_surrogates_from_google_and_the_target_leave_the_report_whole(tmp_path: Path) -> None:
    refused = {"refused@acme.example": REFUSAL}
    with (
        google_emulator_in_thread(org()) as google,
        fault_proxy_in_thread(google.url) as proxy,
        run_light_scim(token=TOKEN, refused_names=refused) as scim,
    ):
        proxy.inject(Rewrite(with_surrogates), method="GET", path="/users", times=None)
        scim.seed_user(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "kate@acme.example",
                "name": {"givenName": "Kate", "familyName": "Ad\ud800ams"},
                "active": True,
            }
        )
        (tmp_path / "acme.yaml").write_text(yaml.safe_dump(manifest(scim.url, proxy.url)), encoding="utf-8")
        (tmp_path / "key.json").write_text(google.service_account_key(), encoding="utf-8")
        (tmp_path / "token").write_text(TOKEN, encoding="utf-8")
        args = ["sync", "-f", str(tmp_path / "acme.yaml"), "--google-credentials", str(tmp_path / "key.json")]
        args += ["--scim-token-file", str(tmp_path / "token"), "-o", str(tmp_path / "report.json")]
        args += ["--state", str(tmp_path / "ledger.json")]
        result = CliRunner().invoke(app, args)
        created = {user["userName"] for user in scim.users.resources.values()}

    assert result.exit_code == 2, result.output  # PartiallySucceeded: the refused user failed
    assert any(entry.outcome == "rewritten" for entry in proxy.log)
    assert "lone\ufffd@acme.example" in created
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["status"]["itemCount"] == 4
    items = {item["key"]: item for item in report["status"]["items"]}
    assert items["lone\ufffd@acme.example"]["action"] == "Create"
    assert (
        scim.users.resources[scim.users.by_key["lone\ufffd@acme.example"]]["name"]["givenName"]
        == "Lo\ufffdne"
    )
    assert {"field": "name.familyName", "from": "Ad\ufffdams", "to": "Adams"} in items["kate@acme.example"][
        "changes"
    ]
    assert items["refused@acme.example"]["details"] == (
        "Target refused creating refused@acme.example: 400 invalidValue: "
        "Refused: \\u202eelpmaxe\\u2028next \\x1b[31m\\ud800"
    )
