"""Benchmark: how soon `gwsync` answers, each command run as a whole new process.

    python bench/cli_startup.py --runs 10 --json out.json

Each round runs, one after the other: the floor (`python -c pass`, the same interpreter); a
reference that only imports what `validate` needs (typer, rich, the API models); `gwsync
--help`; `gwsync --version`; `gwsync validate` on an example manifest; `gwsync report list`
against the Kubernetes emulator (served from a thread of this process, reached through a
kubeconfig like a real cluster); a bash completion request; and `gwsync plan` and `gwsync
sync` until their first request reaches a local server (issue 24): a GoogleProvisioning whose
Google endpoint, service-account key (token_uri) and SCIM target all point at a socket this
benchmark listens on; the command is stopped once that request arrives. Rounds interleave
the commands, so a busy machine slows them all alike; the table gives each command's median
and worst wall time, its median wall and CPU time above the floor, and the budgets of issues
15 and 24.
"""

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gwsync.testing.kube import PROVISIONINGS, REPORTS, KubeEmulator, kube_emulator_in_thread

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EXAMPLE = ROOT / "manifests" / "examples" / "all-users.yaml"
FLOOR = "python -c pass"
# What validate cannot do without: typer, pydantic and the API models, imported and nothing run.
VALIDATE_IMPORTS = "python -c 'import typer, gwsync.api.validation'"
# Seconds a command's median may spend above the floor (issue 15); None: measured, no budget.
BUDGETS: dict[str, float | None] = {
    "gwsync --help": 0.3,
    "gwsync --version": 0.3,
    "gwsync validate all-users.yaml": 0.6,
    "gwsync report list": None,
    "complete: gwsync report <TAB>": None,
    "gwsync plan (to its first request)": 0.6,
    "gwsync sync (to its first request)": 0.6,
}
# Commands timed until their first request reaches the benchmark's socket, then stopped.
FIRST_REQUEST = ("gwsync plan (to its first request)", "gwsync sync (to its first request)")

PROVISIONING: dict[str, Any] = {
    "apiVersion": "provisioning.gwsync.io/v1alpha1",
    "kind": "GoogleProvisioning",
    "metadata": {"name": "acme", "namespace": "default"},
    "spec": {
        "google": {
            "adminEmail": "admin@acme.example",
            "credentialsSecretRef": {"name": "acme-google", "key": "credentials.json"},
        },
        "target": {
            "scim": {
                "url": "https://scim.example/v2",
                "tokenSecretRef": {"name": "acme-scim", "key": "token"},
            }
        },
    },
}


def sync_report(day: int) -> dict[str, Any]:
    """A finished daily sync of acme, as the operator leaves it."""
    return {
        "apiVersion": "provisioning.gwsync.io/v1alpha1",
        "kind": "SyncReport",
        "metadata": {"name": f"acme-202503{day:02d}-0926", "namespace": "default"},
        "spec": {"provisioningRef": {"name": "acme"}, "trigger": "Scheduled", "dryRun": False},
        "status": {
            "phase": "Succeeded",
            "startTime": f"2025-03-{day:02d}T09:26:53Z",
            "completionTime": f"2025-03-{day:02d}T09:28:05Z",
            "duration": "1m12s",
            "message": "Succeeded: 3 users created, 1 updated.",
            "summary": {"users": {"created": 3, "updated": 1, "unchanged": 120}},
            "itemCount": 124,
        },
    }


@contextmanager
def local_cluster() -> Iterator[Path]:
    """A kubeconfig for the emulator, seeded with one GoogleProvisioning and a week of reports."""
    objects = [(PROVISIONINGS, PROVISIONING), *((REPORTS, sync_report(day)) for day in range(10, 17))]
    emulator: KubeEmulator
    with kube_emulator_in_thread(objects) as emulator, tempfile.TemporaryDirectory() as folder:
        yield emulator.write_kubeconfig(Path(folder) / "kubeconfig")


def service_account_key(token_uri: str) -> str:
    """A JSON key like the one Google lets you download, whose token_uri is ours."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "bench",
            "private_key_id": "bench",
            "private_key": pem.decode("ascii"),
            "client_email": "sync@bench.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": token_uri,
        }
    )


@contextmanager
def listener() -> Iterator[socket.socket]:
    """A loopback socket standing in for Google and the SCIM target: it only takes requests."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.05)
        yield server


def local_sync_files(folder: Path, url: str) -> dict[str, Path]:
    """The files of `gwsync plan|sync` whose every endpoint is `url`."""
    manifest = json.loads(json.dumps(PROVISIONING))
    manifest["spec"]["google"]["apiEndpoint"] = f"{url}/"
    manifest["spec"]["target"]["scim"]["url"] = f"{url}/scim/v2"
    files = {"manifest": folder / "acme.json", "key": folder / "key.json", "token": folder / "token"}
    files["manifest"].write_text(json.dumps(manifest), encoding="utf-8")  # JSON is YAML
    files["key"].write_text(service_account_key(f"{url}/token"), encoding="utf-8")
    files["token"].write_text("bench-token\n", encoding="utf-8")
    files["state"] = folder / "ledger.json"
    return files


def commands(kubeconfig: Path, files: dict[str, Path]) -> dict[str, tuple[list[str], dict[str, str]]]:
    gwsync = str(BIN / "gwsync")
    local = ["-f", str(files["manifest"]), "--google-credentials", str(files["key"])]
    local += ["--scim-token-file", str(files["token"])]
    completion = {"_GWSYNC_COMPLETE": "complete_bash", "COMP_WORDS": "gwsync report ", "COMP_CWORD": "2"}
    return {
        FLOOR: ([sys.executable, "-c", "pass"], {}),
        VALIDATE_IMPORTS: ([sys.executable, "-c", "import typer, gwsync.api.validation"], {}),
        "gwsync --help": ([gwsync, "--help"], {}),
        "gwsync --version": ([gwsync, "--version"], {}),
        "gwsync validate all-users.yaml": ([gwsync, "validate", str(EXAMPLE)], {}),
        "gwsync report list": ([gwsync, "report", "list", "--kubeconfig", str(kubeconfig)], {}),
        "complete: gwsync report <TAB>": ([gwsync], completion),
        FIRST_REQUEST[0]: ([gwsync, "plan", *local], {}),
        FIRST_REQUEST[1]: ([gwsync, "sync", *local, "--state", str(files["state"])], {}),
    }


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one whole process."""
    cpu, started = children_cpu(), time.perf_counter()
    done = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-400:]}")
    return seconds, children_cpu() - cpu


def until_first_request(argv: list[str], env: dict[str, str], server: socket.socket) -> tuple[float, float]:
    """Wall and CPU seconds from starting `argv` until a request reaches `server`; then it is killed."""
    cpu, started = children_cpu(), time.perf_counter()
    process = subprocess.Popen(
        argv, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    arrived = None
    while arrived is None:
        try:
            connection, _ = server.accept()
        except TimeoutError:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise SystemExit(
                    f"{' '.join(argv)} exited {process.returncode} first: {error[-400:]}"
                ) from None
            continue
        with connection:
            connection.settimeout(10)
            if connection.recv(1):  # the request's first byte
                arrived = time.perf_counter()
    process.kill()
    process.communicate()
    return arrived - started, children_cpu() - cpu


Samples = dict[str, list[tuple[float, float]]]


def measure(runs: int, only: str | None = None) -> Samples:
    with local_cluster() as kubeconfig, listener() as server, tempfile.TemporaryDirectory() as folder:
        host, port = server.getsockname()[:2]
        todo = commands(kubeconfig, local_sync_files(Path(folder), f"http://{host}:{port}"))
        warm = todo["gwsync --help"]
        if only:
            todo = {name: command for name, command in todo.items() if name == FLOOR or only in name}
        samples: Samples = {name: [] for name in todo}
        timed(*warm)  # warm the file cache once, as a user's second call would be
        for _ in range(runs):
            for name, (argv, env) in todo.items():
                if name in FIRST_REQUEST:
                    samples[name].append(until_first_request(argv, env, server))
                else:
                    samples[name].append(timed(argv, env))
    return samples


def result(samples: Samples, runs: int) -> dict[str, Any]:
    times = {name: [wall for wall, _ in runs] for name, runs in samples.items()}
    floor = statistics.median(times[FLOOR])
    floor_cpu = statistics.median(cpu for _, cpu in samples[FLOOR])
    rows = []
    for name, walls in times.items():
        median = statistics.median(walls)
        cpu = statistics.median(cpu for _, cpu in samples[name])
        budget = BUDGETS.get(name)
        rows.append(
            {
                "command": name,
                "median": round(median, 3),
                "worst": round(max(walls), 3),
                "above_floor": round(median - floor, 3),
                # CPU seconds barely depend on how busy the machine is; wall seconds do.
                "cpu_above_floor": round(cpu - floor_cpu, 3),
                "budget_above_floor": budget,
                "within_budget": None if budget is None else median - floor <= budget,
            }
        )
    headline = "gwsync --help" if "gwsync --help" in times else next(name for name in times if name != FLOOR)
    help_median = statistics.median(times[headline])
    return {
        "name": "cli_startup",
        "runs": runs,
        "users": None,
        "seconds": round(help_median, 3),
        "floor_seconds": round(floor, 3),
        "ratio": round(help_median / floor, 1),
        "requests": None,
        "min_requests": None,
        # The largest child: ru_maxrss of RUSAGE_CHILDREN is the peak of any one of them (KiB).
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        # Other work on the machine slows every command but hardly the floor: quote it with the numbers.
        "load_average_1m": round(os.getloadavg()[0], 2),
        "commands": rows,
    }


def table(report: dict[str, Any]) -> str:
    cols = [
        "command",
        "median",
        "worst",
        "above_floor",
        "cpu_above_floor",
        "budget_above_floor",
        "within_budget",
    ]
    lines = [" | ".join(cols)]
    for row in report["commands"]:
        lines.append(" | ".join("-" if row[col] is None else str(row[col]) for col in cols))
    lines.append(
        f"({report['runs']} runs each, seconds; peak RSS of one command {report['peak_rss_mb']} MB; "
        f"load average {report['load_average_1m']} on {os.cpu_count()} CPUs)"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--only", help="measure only the commands whose name contains this (and the floor)")
    parser.add_argument("--json", dest="json_out", help="write the JSON result here")
    args = parser.parse_args()
    report = result(measure(args.runs, args.only), args.runs)
    print(table(report))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
