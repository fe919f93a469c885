"""`gwsync` answers at once: `--version`, `--help` and completion load only the command tree.

Each case runs the CLI in a fresh interpreter, as a user's shell does: what an earlier test
imported into this process says nothing about what a new `gwsync` process pays for.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import gwsync

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
EXAMPLE = ROOT / "manifests" / "examples" / "all-users.yaml"

# What the issue names: the clients, the emulators and the operator's framework.
CLIENTS = (
    "scim2_client",
    "scim2_models",
    "kubernetes",
    "kopf",
    "aiohttp",
    "googleapiclient",
    "gwsync.testing",
)
# What `gwsync plan` needs only after Google answered: the SCIM client, Kubernetes, the emulators.
CLIENTS_NOT_FOR_GOOGLE = (
    "scim2_client",
    "scim2_models",
    "kubernetes",
    "aiohttp",
    "gwsync.testing",
    "gwsync.kube.client",
)
MANIFEST = {
    "apiVersion": "provisioning.gwsync.io/v1alpha1",
    "kind": "GoogleProvisioning",
    "metadata": {"name": "acme"},
    "spec": {
        "google": {"adminEmail": "admin@acme.example", "credentialsSecretRef": {"name": "g", "key": "k"}},
        "target": {"scim": {"url": "", "tokenSecretRef": {"name": "s", "key": "token"}}},
    },
}
# Not needed to parse a command line either: the API models alone take a third of a second.
MODELS = ("yaml", "gwsync.api", "gwsync.kube", "gwsync.controller", "gwsync.sync", "gwsync.sources")
# typer 0.29 coerces the root's unset --help through a pydantic TypeAdapter as soon as a
# subcommand is named, so only the root's --help and --version can do without pydantic.
PYDANTIC = ("pydantic", "pydantic_core")
# The root's help is click's plain text and --version a plain echo: rich waits for a command.
RICH = ("rich", "markdown_it")

# Runs `gwsync ARGS...` in this interpreter, then writes every loaded module's name to FILE.
DRIVER = """
import sys
from pathlib import Path

modules_file = Path(sys.argv[1])
sys.argv = ["gwsync", *sys.argv[2:]]
from gwsync.cli.main import main

try:
    main()
except SystemExit:
    pass
modules_file.write_text("\\n".join(sorted(sys.modules)), encoding="utf-8")
"""


def loaded_by(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a `gwsync ARGS...` process has loaded when it exits."""
    modules_file = tmp_path / "modules.txt"
    subprocess.run(
        [sys.executable, "-c", DRIVER, str(modules_file), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        check=True,
        timeout=60,
    )
    return set(modules_file.read_text(encoding="utf-8").split())


def among(modules: set[str], packages: tuple[str, ...]) -> set[str]:
    return {m for m in modules if any(m == p or m.startswith(f"{p}.") for p in packages)}


@pytest.mark.parametrize("command", ["gwsync", "kubectl-gwsync"])
def test_version_prints_the_package_version_and_exits_0(command: str) -> None:
    done = subprocess.run(
        [str(BIN / command), "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, f"gwsync {version('gwsync')}\n", "")
    assert gwsync.__version__ == version("gwsync")


def test_importing_the_command_tree_loads_no_client_and_no_model() -> None:
    code = "import sys, gwsync.cli.main; print('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert among(set(done.stdout.split()), CLIENTS + MODELS + PYDANTIC + RICH) == set()


@pytest.mark.parametrize("args", [["--help"], ["--version"]], ids=" ".join)
def test_help_and_version_load_no_client_and_no_model(tmp_path: Path, args: list[str]) -> None:
    assert among(loaded_by(tmp_path, *args), CLIENTS + MODELS + PYDANTIC + RICH) == set()


@pytest.mark.parametrize(
    "args",
    [["report", "list", "--help"], ["status", "--help"], ["sync", "--help"], ["emulate", "google", "--help"]],
    ids=" ".join,
)
def test_a_commands_help_loads_no_client_and_no_model(tmp_path: Path, args: list[str]) -> None:
    assert among(loaded_by(tmp_path, *args), CLIENTS + MODELS) == set()


def test_completing_a_command_loads_no_client_and_no_model(tmp_path: Path) -> None:
    bash = {"_GWSYNC_COMPLETE": "complete_bash", "COMP_WORDS": "gwsync report show --re", "COMP_CWORD": "3"}
    assert among(loaded_by(tmp_path, env=bash), CLIENTS + MODELS) == set()


def test_validate_loads_the_models_but_no_client_and_no_rich(tmp_path: Path) -> None:
    modules = loaded_by(tmp_path, "validate", str(EXAMPLE))
    assert "gwsync.api.validation" in modules
    assert among(modules, CLIENTS + RICH) == set()


def test_completion_completes_commands_and_options() -> None:
    def complete(words: str) -> list[str]:
        env = {**os.environ, "_GWSYNC_COMPLETE": "complete_bash", "COMP_WORDS": words}
        env["COMP_CWORD"] = str(len(words.split()) - (0 if words.endswith(" ") else 1))
        done = subprocess.run(
            [str(BIN / "gwsync")], env=env, capture_output=True, text=True, check=True, timeout=60
        )
        return done.stdout.split()

    assert complete("gwsync rep") == ["report"]
    assert complete("gwsync report ") == ["list", "show", "export"]
    assert complete("gwsync report show --re") == ["--result"]


def test_show_completion_prints_the_script_that_calls_gwsync_back() -> None:
    # `--show-completion` names the shell it runs in (typer asks shellingham, which walks up the
    # parent processes), so it runs from bash here, as a user types it: run straight from a test
    # it would find whatever started pytest (`sh` under make: "Shell sh not supported").
    # `; exit $?` keeps bash from exec-ing gwsync in its own place.
    done = subprocess.run(
        ["bash", "-c", '"$0" --show-completion; exit $?', str(BIN / "gwsync")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "_GWSYNC_COMPLETE=complete_bash" in done.stdout
    assert "complete -o default -F _gwsync_completion gwsync" in done.stdout


def test_plan_asks_google_before_loading_the_scim_and_kubernetes_clients(tmp_path: Path) -> None:
    """Issue 24: `gwsync plan`'s first request leaves without scim2-models' ~0.5 s of model building,
    the Kubernetes client or the emulators; they load when used. Modules are read from
    `-X importtime` up to the moment the first request reaches a socket standing for Google."""
    from gwsync.testing.google import ServiceAccount, new_key

    with socket.create_server(("127.0.0.1", 0)) as google:
        url = "http://{}:{}".format(*google.getsockname()[:2])
        manifest = json.loads(json.dumps(MANIFEST))
        manifest["spec"]["google"]["apiEndpoint"] = f"{url}/"
        manifest["spec"]["target"]["scim"]["url"] = f"{url}/scim/v2"
        (tmp_path / "acme.json").write_text(json.dumps(manifest), encoding="utf-8")
        account = ServiceAccount("sync@acme.iam.gserviceaccount.com", new_key())
        (tmp_path / "key.json").write_text(account.key_json(f"{url}/token"), encoding="utf-8")
        (tmp_path / "token").write_text("token\n", encoding="utf-8")
        argv = [
            sys.executable,
            "-X",
            "importtime",
            str(BIN / "gwsync"),
            "plan",
            "-f",
            str(tmp_path / "acme.json"),
        ]
        argv += [
            "--google-credentials",
            str(tmp_path / "key.json"),
            "--scim-token-file",
            str(tmp_path / "token"),
        ]
        log = tmp_path / "imports.txt"
        with log.open("w") as stderr:
            process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr)
            try:
                google.settimeout(60)
                connection, _ = google.accept()  # the token request: Google's first
                connection.close()
            finally:
                process.kill()
                process.wait()
    imported = {line.rsplit("|", 1)[-1].strip() for line in log.read_text().splitlines() if "|" in line}
    assert "gwsync.sources.google" in imported
    assert among(imported, CLIENTS_NOT_FOR_GOOGLE) == set()
