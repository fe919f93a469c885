"""`gwsync validate`: one precise line per problem, exit 1; GitOps folders welcome."""

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from gwsync.cli.main import app
from tests.unit.api.samples import SPEC, provisioning

runner = CliRunner()


def _write(tmp_path: Path, name: str, *docs: object) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    return path


def _with(**changes: object) -> dict[str, object]:
    spec = {key: dict(value) if isinstance(value, dict) else value for key, value in SPEC.items()}
    for dotted, value in changes.items():
        section, field = dotted.split("__")
        spec[section] = {**spec[section], field: value}
    return spec


def _validate(*paths: Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["validate", *map(str, paths)])
    return result.exit_code, result.stdout, result.stderr


def test_a_valid_file_passes(tmp_path: Path) -> None:
    code, out, _ = _validate(_write(tmp_path, "ok.yaml", provisioning()))
    assert code == 0
    assert out == "ok: 1 GoogleProvisioning object valid in 1 file.\n"


def test_groups_are_required_when_members_come_from_groups(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", provisioning(_with(members__groups=[])))
    code, _, err = _validate(path)
    assert code == 1
    assert (
        f"{path}: GoogleProvisioning default/acme: spec.members.groups: groups or groupQuery is "
        "required when from is Groups: list at least one group email, or a group query such as "
        "email:team*"
    ) in err


def test_an_unknown_field_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", provisioning(_with(members__includeSuspend=True)))
    code, _, err = _validate(path)
    assert code == 1
    assert (
        f"{path}: GoogleProvisioning default/acme: spec.members.includeSuspend: unknown field: "
        "remove it or check its spelling (`kubectl explain gprov.spec` lists the fields)"
    ) in err


def test_an_interval_under_an_hour_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", provisioning({**SPEC, "schedule": {"interval": "5m"}}))
    code, _, err = _validate(path)
    assert code == 1
    assert (
        f"{path}: GoogleProvisioning default/acme: spec.schedule.interval: interval 5m is too "
        "short: it must be at least 1h (Go duration syntax, e.g. 24h)"
    ) in err


def test_a_sync_timeout_under_a_second_and_a_list_limit_of_zero_are_refused(tmp_path: Path) -> None:
    target = {"scim": {**SPEC["target"]["scim"], "listLimits": {"maxPages": 0}}}
    path = _write(tmp_path, "bad.yaml", provisioning({**SPEC, "syncTimeout": "10ms", "target": target}))
    code, _, err = _validate(path)
    assert code == 1
    assert (
        f"{path}: GoogleProvisioning default/acme: spec.syncTimeout: syncTimeout 10ms is too short: "
        "syncTimeout must be at least 1s (Go duration syntax, e.g. 6h)"
    ) in err
    assert (
        f"{path}: GoogleProvisioning default/acme: spec.target.scim.listLimits.maxPages: Input should "
        "be greater than or equal to 1"
    ) in err


def test_a_team_mapped_twice_is_refused(tmp_path: Path) -> None:
    mappings = [
        {"team": "Engineering", "groups": ["eng@acme.com"]},
        {"team": "Engineering", "groups": ["platform@acme.com"]},
    ]
    path = _write(tmp_path, "bad.yaml", provisioning(_with(teams__mappings=mappings)))
    code, _, err = _validate(path)
    assert code == 1
    assert (
        f"{path}: GoogleProvisioning default/acme: spec.teams.mappings: team 'Engineering' is "
        "mapped twice: team names must be unique within mappings; merge the groups of a "
        "repeated team into one mapping"
    ) in err


def test_a_yaml_syntax_error_gives_its_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("kind: GoogleProvisioning\nspec:\n  members: [AllUsers\n  dryRun: true\n")
    code, _, err = _validate(path)
    assert code == 1
    assert f"{path}: line 4: YAML syntax error: expected ',' or ']', but got ':'" in err


def test_a_file_without_a_google_provisioning_is_a_problem(tmp_path: Path) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "acme-scim"}}
    path = _write(tmp_path, "secret.yaml", secret)
    code, out, err = _validate(path)
    assert code == 1
    assert f"{path}: skipped Secret acme-scim (not a GoogleProvisioning)" in out
    assert (f"{path}: holds no GoogleProvisioning (kind: GoogleProvisioning); nothing was validated") in err


def test_a_gitops_folder_skips_and_names_other_kinds(tmp_path: Path) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "acme-scim"}}
    _write(tmp_path, "a.yaml", secret, provisioning())
    (tmp_path / "apps").mkdir()
    _write(tmp_path / "apps", "b.yml", provisioning(name="other"))
    code, out, _ = _validate(tmp_path)
    assert code == 0
    assert f"{tmp_path / 'a.yaml'}: skipped Secret acme-scim (not a GoogleProvisioning)" in out
    assert "ok: 2 GoogleProvisioning objects valid in 2 files." in out


def test_a_missing_file_is_a_problem(tmp_path: Path) -> None:
    code, _, err = _validate(tmp_path / "nope.yaml")
    assert code == 1
    assert f"{tmp_path / 'nope.yaml'}: no such file" in err


def test_a_name_longer_than_a_label_value_is_accepted(tmp_path: Path) -> None:
    name = "acme-google-workspace-to-the-engineering-scim-directory-production-eu1"  # 70 characters
    code, out, _ = _validate(_write(tmp_path, "long.yaml", provisioning(name=name)))
    assert code == 0, out


def test_a_name_the_api_server_would_refuse_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", provisioning(name="Acme_Prod"), provisioning(name="a" * 254))
    code, _, err = _validate(path)
    assert code == 1
    assert (
        f"{path}: GoogleProvisioning default/Acme_Prod: metadata.name: must be a DNS subdomain, as the API "
        "server requires: at most 253 characters"
    ) in err
    assert f"GoogleProvisioning default/{'a' * 254}: metadata.name: must be a DNS subdomain" in err


def test_secret_names_and_keys_the_api_server_would_refuse_are_named(tmp_path: Path) -> None:
    spec = _with(
        google__credentialsSecretRef={"name": "Acme_Google", "key": "credentials.json"},
        target__scim={
            "url": "https://example.com/scim/v2",
            "tokenSecretRef": {"name": "acme-scim", "key": "to ken"},
            "caBundleSecretRef": {"name": "c" * 254, "key": "ca.crt"},
        },
    )
    path = _write(tmp_path, "bad.yaml", provisioning(spec))
    code, _, err = _validate(path)
    assert code == 1
    subject = f"{path}: GoogleProvisioning default/acme"
    name_fix = (
        "is not a Secret name: at most 253 characters, lower-case letters, digits, '-' and '.', beginning "
        "and ending with a letter or digit; use a name `kubectl get secrets` lists"
    )
    assert err.splitlines() == [
        f"{subject}: spec.google.credentialsSecretRef.name: 'Acme_Google' {name_fix}",
        f"{subject}: spec.target.scim.tokenSecretRef.key: 'to ken' is not a key of a Secret's data: at "
        "most 253 characters, letters, digits, '-', '_' and '.'; use a key `kubectl describe secret NAME` "
        "lists",
        f"{subject}: spec.target.scim.caBundleSecretRef.name: '{'c' * 60}…' {name_fix}",
        "3 problems found in 1 file.",
    ]


def test_a_misspelt_kind_of_our_group_is_a_problem_not_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path, "typo.yaml", {**provisioning(), "kind": "GoogleProvisionning"})
    code, out, err = _validate(path)
    assert code == 1
    assert out == ""
    assert err == (
        f"{path}: GoogleProvisionning default/acme: kind 'GoogleProvisionning' is not a kind of "
        "provisioning.gwsync.io; the known kinds are GoogleProvisioning and SyncReport\n"
        "1 problem found in 1 file.\n"
    )


def test_a_spec_given_as_a_list_must_be_a_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "list.yaml", provisioning([{"google": SPEC["google"]}]))
    code, _, err = _validate(path)
    assert code == 1
    assert err.splitlines()[0] == (
        f"{path}: GoogleProvisioning default/acme: spec must be a mapping (field: value lines), "
        "not a list (lines starting with -)"
    )


def test_a_section_given_as_a_list_must_be_a_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "list.yaml", provisioning({**SPEC, "members": ["eng@acme.com"]}))
    code, _, err = _validate(path)
    assert code == 1
    assert err.splitlines()[0] == (
        f"{path}: GoogleProvisioning default/acme: spec.members: must be a mapping (field: value lines), "
        "not a list (lines starting with -)"
    )


def test_a_target_url_without_a_scheme_suggests_https(tmp_path: Path) -> None:
    target = {"scim": {**SPEC["target"]["scim"], "url": "example.com/scim/v2"}}
    path = _write(tmp_path, "bad.yaml", provisioning({**SPEC, "target": target}))
    code, _, err = _validate(path)
    assert code == 1
    assert err.splitlines() == [
        f"{path}: GoogleProvisioning default/acme: spec.target.scim.url: url example.com/scim/v2 has no "
        "scheme: write https://example.com/scim/v2",
        "1 problem found in 1 file.",
    ]


def test_json_output_lists_what_was_checked_skipped_and_wrong(tmp_path: Path) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "acme-scim"}}
    path = _write(tmp_path, "a.yaml", secret, provisioning(_with(members__groups=[])))
    result = runner.invoke(app, ["validate", str(path), "-o", "json"])
    assert result.exit_code == 1
    assert result.stderr == ""
    assert json.loads(result.stdout) == {
        "valid": False,
        "files": 1,
        "checked": [{"file": str(path), "object": "GoogleProvisioning default/acme"}],
        "skipped": [{"file": str(path), "object": "Secret acme-scim"}],
        "problems": [
            {
                "file": str(path),
                "object": "GoogleProvisioning default/acme",
                "path": "spec.members.groups",
                "message": "groups or groupQuery is required when from is Groups: list at least one group "
                "email, or a group query such as email:team*",
            }
        ],
    }
    ok = runner.invoke(app, ["validate", str(_write(tmp_path, "ok.yaml", provisioning())), "-o", "-"])
    assert (ok.exit_code, json.loads(ok.stdout)["valid"]) == (0, True)


def test_an_unknown_output_format_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(_write(tmp_path, "ok.yaml", provisioning())), "-o", "xml"])
    assert result.exit_code == 1
    assert result.stderr == "error: -o 'xml' is not an output format of validate; use text or json.\n"


def test_json_output_escapes_what_a_terminal_would_act_on(tmp_path: Path) -> None:
    hostile = "acme\x9b2J\u202etxt.exe\x1b]8;;http://x\x07"  # 8-bit CSI, bidi override, OSC 8
    result = runner.invoke(
        app, ["validate", str(_write(tmp_path, "bad.yaml", provisioning(name=hostile))), "-o", "json"]
    )
    assert result.exit_code == 1
    assert not any(char in result.stdout for char in "\x9b\u202e\x1b\x07")
    assert "acme\\u009b2J\\u202etxt.exe\\u001b]8;;http://x\\u0007" in result.stdout
    assert json.loads(result.stdout)["problems"][0]["object"] == f"GoogleProvisioning default/{hostile}"
