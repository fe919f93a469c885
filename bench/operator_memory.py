"""Benchmark: the operator's peak memory while it syncs a large organization (issue 23, point 6).

    python bench/operator_memory.py --users 10000 --json out.json
    python bench/operator_memory.py --users 100000 --only initial
    python bench/operator_memory.py --users 100000 --only daily --no-floor
    python bench/operator_memory.py --users 100000 --kubeconfig admin.kubeconfig

The operator runs as `gwsync run` runs it (controller/operator.py: Kopf, the handlers, the
schedule), in a process of its own that holds nothing else, logged in with an admin
kubeconfig, and syncs one GoogleProvisioning the way it does in a cluster: the engine, the
SyncReport and its item store, the ledger's saves, the status writes, the Events. Everything
else runs in other processes: the Google and SCIM emulators (bench/serve.py, 100 ms and 50 ms
a request by default; the SCIM one advertises Bulk, maxOperations `--bulk-max-operations`,
0 for none) and the Kubernetes API: a real control plane (etcd, kube-apiserver,
kube-controller-manager, built once by `make control-plane`, started here for the run) or
the API server of `--kubeconfig` (an admin's). So `peak_rss_mb`, getrusage(RUSAGE_SELF) of
the operator's process, is the operator's alone.

Phases, each in a fresh operator process: `initial` (N users into an empty target: the
GoogleProvisioning is created and its Initial sync runs at once) and `daily` (N users
provisioned, their ledger in the cluster, then 1% churn: a quarter renames, a quarter title
changes, a quarter hires, a quarter departures; the sync is requested with the
`gwsync.io/sync-requested-at` annotation). `seconds` runs from the object's creation (or
the annotation) until the GoogleProvisioning's status names the finished report.

The floor is the engine alone: `bench/sync_scim.py --only PHASE --no-floor`, in its own
process against fresh emulators of the same shape (its ledger in memory, no Kubernetes). So
`ratio` (seconds / floor_seconds) and `rss_over_floor_mb` (peak RSS above the engine's) are
what the operator's bookkeeping costs. `requests` are the SCIM requests the emulator
answered, `min_requests` the fewest the APIs allow (as in sync_scim.py). `rss_timeline`
samples the operator's resident memory (MB) once a second.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import Emulator

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PAGE = 500  # the target's list page (sync_scim.py's PAGE)
NAME = "bench"
POLL_SECONDS = 0.5  # how often the benchmark reads the GoogleProvisioning's status


# --- the operator's process ---------------------------------------------------------------


class RssSampler:
    """Resident memory of this process, read from /proc every few milliseconds in a thread."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.started = time.perf_counter()
        self.timeline: list[tuple[float, float]] = []  # (seconds, MB) once a second
        self.peak = (0.0, 0.0)  # (seconds, MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def now_mb(self) -> float:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * self.page / 2**20

    def _run(self) -> None:
        next_mark = 0.0
        while not self._stop.wait(self.interval):
            at, mb = time.perf_counter() - self.started, self.now_mb()
            if mb > self.peak[1]:
                self.peak = (at, mb)
            if at >= next_mark:
                self.timeline.append((round(at, 1), round(mb, 1)))
                next_mark = at + 1.0

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def operator_phase(settings: dict[str, Any]) -> dict[str, Any]:
    """Run the operator here, start one sync, wait for its status; what the process used."""
    from gwsync.api import constants
    from gwsync.controller.operator import serving_in_thread
    from gwsync.kube.client import PROVISIONINGS, REPORTS, connect

    namespace, kubeconfig = settings["namespace"], settings["kubeconfig"]
    baseline = rss_mb()
    creating = settings["manifest"] is not None
    operator = serving_in_thread(
        server=None,
        kubeconfig=kubeconfig,
        namespaces=[namespace],
        tick=0.5,
        allow_endpoint_overrides=True,  # the emulators' loopback URLs
        operator_namespace=namespace,  # its ledger signing key: made there, or read (daily)
        startup_timeout=120,
    )
    with RssSampler() as sampler, operator:
        started_mb = sampler.now_mb()
        kube = connect(kubeconfig=kubeconfig)
        request = datetime.now(UTC).isoformat()
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        if creating:
            kube.create(PROVISIONINGS, namespace, settings["manifest"])
        else:
            annotation = {"metadata": {"annotations": {constants.SYNC_REQUESTED_AT: request}}}
            kube.patch(PROVISIONINGS, namespace, NAME, annotation)
        deadline = started + settings["deadline"]
        while True:
            status = kube.get(PROVISIONINGS, namespace, NAME).get("status") or {}
            last = status.get("lastSync") or {}
            done = last.get("phase") not in (None, "Pending", "Running")
            if done and (creating or status.get("lastHandledSyncRequest") == request):
                break
            if time.perf_counter() > deadline:
                raise SystemExit(f"no finished sync after {settings['deadline']} s: {last}")
            time.sleep(POLL_SECONDS)  # a poll interval, not a wait for an outcome
        seconds = time.perf_counter() - started
        used = resource.getrusage(resource.RUSAGE_SELF)
        report = kube.get(REPORTS, namespace, last["report"])
    report_status = report.get("status") or {}
    return {
        "seconds": round(seconds, 3),
        "phase_result": last["phase"],
        "message": report_status.get("message", ""),
        "items": report_status.get("itemCount"),
        "item_config_maps": len((report_status.get("itemStore") or {}).get("configMaps") or []),
        "ledger_config_maps": len((status.get("ledger") or {}).get("configMaps") or []),
        "cpu_seconds": round(used.ru_utime - cpu.ru_utime + used.ru_stime - cpu.ru_stime, 2),
        "imported_rss_mb": round(baseline, 1),
        "started_rss_mb": round(started_mb, 1),
        "peak_rss_mb": round(rss_mb(), 1),
        "peak_at_seconds": round(sampler.peak[0] - (started - sampler.started), 1),
        "rss_timeline": [(round(at - (started - sampler.started), 1), mb) for at, mb in sampler.timeline],
    }


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the benchmark's process: the cluster, the emulators, the phases -------------------------


def kubectl(kubeconfig: str, *args: str) -> str:
    from gwsync.testing.kube import kubectl_path

    done = subprocess.run(
        [kubectl_path(), "--kubeconfig", kubeconfig, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


@contextlib.contextmanager
def cluster(args: argparse.Namespace) -> Iterator[str]:
    """An admin kubeconfig: the one given, or a control plane started for this run."""
    if args.kubeconfig:
        yield args.kubeconfig
        return
    from gwsync.testing.controlplane import ControlPlaneUnavailable, running_control_plane

    with tempfile.TemporaryDirectory(prefix="gwsync-bench-") as root:
        try:
            with running_control_plane(Path(root)) as plane:
                yield str(plane.admin_kubeconfig)
        except ControlPlaneUnavailable as exc:
            raise SystemExit(f"{exc}\n(or pass --kubeconfig with an admin's kubeconfig)") from None


def install_crds(kubeconfig: str) -> None:
    kubectl(kubeconfig, "apply", "--server-side", "-f", str(REPO / "crds" / "crds.yaml"))
    kubectl(kubeconfig, "wait", "--for=condition=Established", "--timeout=120s", "crd", "--all")


def secret(namespace: str, name: str, key: str, value: str) -> dict[str, Any]:
    from gwsync.api.constants import CREDENTIALS_LABEL, CREDENTIALS_LABEL_VALUE

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {CREDENTIALS_LABEL: CREDENTIALS_LABEL_VALUE},
        },
        "data": {key: base64.b64encode(value.encode()).decode()},
    }


def manifest(namespace: str, google: Emulator, scim: Emulator, args: argparse.Namespace) -> dict[str, Any]:
    """The GoogleProvisioning of sync_scim.py's spec: everyone, removals never held."""
    return {
        "apiVersion": "provisioning.gwsync.io/v1alpha1",
        "kind": "GoogleProvisioning",
        "metadata": {"name": NAME, "namespace": namespace},
        "spec": {
            "google": {
                "adminEmail": google.info["admin"],
                "credentialsSecretRef": {"name": "google", "key": "key.json"},
                "apiEndpoint": google.url,
            },
            "target": {
                "scim": {
                    "url": scim.url,
                    "tokenSecretRef": {"name": "scim", "key": "token"},
                    "maxConcurrency": args.concurrency,
                }
            },
            "members": {"from": "AllUsers"},
            "deprovision": {"maxCount": 10**9, "maxPercent": 100},
        },
    }


def run_operator_phase(phase: str, args: argparse.Namespace, kubeconfig: str) -> dict[str, Any]:
    """One phase: a namespace, the emulators, the objects, then the operator in a process of its own."""
    from gwsync.kube.blobs import Owner
    from gwsync.kube.client import PROVISIONINGS, SECRETS, connect
    from gwsync.kube.ledger import LedgerStore
    from gwsync.kube.ledger_key import ensure_ledger_key
    from gwsync.sync.ledger import Ledger

    users = args.users
    daily = phase == "daily"
    namespace = f"bench-{phase}-{secrets.token_hex(3)}"
    kubectl(kubeconfig, "create", "namespace", namespace)
    scim_flags = ["--latency-ms", str(args.scim_latency_ms)]
    scim_flags += ["--bulk-max-operations", str(args.bulk_max_operations)]
    google_flags = ["--latency-ms", str(args.google_latency_ms), "--people", str(users)]
    if daily:
        google_flags.append("--daily")
        scim_flags += ["--seed-people", str(users), "--daily"]
    kube = connect(kubeconfig=kubeconfig)
    try:
        with Emulator("google", *google_flags) as google, Emulator("scim", *scim_flags) as scim:
            kube.create(SECRETS, namespace, secret(namespace, "google", "key.json", google.info["key"]))
            kube.create(SECRETS, namespace, secret(namespace, "scim", "token", scim.info["token"]))
            body = manifest(namespace, google, scim, args)
            if daily:
                # Provisioned earlier: the object (no scheduled syncs, so none starts before the
                # request) and the ledger the earlier syncs left, saved from this process.
                body["spec"]["suspend"] = True
                created = kube.create(PROVISIONINGS, namespace, body)
                ledger = Ledger(dict(scim.info.pop("ledger")), {})
                # Signed with the key the operator then reads there, as its own earlier sync did.
                key = ensure_ledger_key(kube, namespace)
                LedgerStore(kube, Owner.of(created), namespace, key=key).save(ledger.to_json())
                del ledger
            google.reset()
            scim.reset()
            settings = {
                "kubeconfig": kubeconfig,
                "namespace": namespace,
                "manifest": None if daily else body,
                "deadline": 600 + users / 50,
            }
            child = subprocess.run(
                [sys.executable, __file__, "--operator", json.dumps(settings)],
                stdout=subprocess.PIPE,
                text=True,
                timeout=settings["deadline"] + 300,
                check=False,
            )
            if child.returncode != 0:
                raise SystemExit(f"the operator's process failed ({child.returncode})")
            result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
            if result["phase_result"] != "Succeeded":  # a figure of a failed sync measures nothing
                raise SystemExit(f"the {phase} sync ended {result['phase_result']}: {result['message']}")
            scim_stats, google_stats = scim.stats(), google.stats()
    finally:
        kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false")
    changed = users if not daily else 4 * max(1, max(4, users // 100) // 4)
    bulk = args.bulk_max_operations
    write_bound = math.ceil(changed / bulk) if bulk else changed
    before = users if daily else 0
    result.update(
        phase=phase,
        users=users,
        requests=scim_stats["requests"],
        min_requests=1 + max(1, math.ceil(before / PAGE)) + 1 + write_bound,
        writes=scim_stats["writes"],
        google_requests=sum(google_stats["requests"].values()),
        max_in_flight=scim_stats["max_in_flight"],
        load_average=[round(x, 2) for x in os.getloadavg()],
    )
    return result


def engine_floor(phase: str, args: argparse.Namespace) -> dict[str, Any]:
    """The same sync by the engine alone (bench/sync_scim.py, in a process of its own)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        size = ["--users", str(args.users)] if phase == "initial" else ["--daily-users", str(args.users)]
        subprocess.run(
            [
                sys.executable,
                str(BENCH / "sync_scim.py"),
                "--only",
                phase,
                "--no-floor",
                *size,
                "--concurrency",
                str(args.concurrency),
                "--google-latency-ms",
                str(args.google_latency_ms),
                "--scim-latency-ms",
                str(args.scim_latency_ms),
                "--bulk-max-operations",
                str(args.bulk_max_operations),
                "--json",
                out.name,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        engine: dict[str, Any] = json.loads(Path(out.name).read_text())["phases"][0]
    return engine


def run_phase(phase: str, args: argparse.Namespace, kubeconfig: str) -> dict[str, Any]:
    result = run_operator_phase(phase, args, kubeconfig)
    if args.floor:
        engine = engine_floor(phase, args)
        result.update(
            floor_seconds=engine["seconds"],
            ratio=round(result["seconds"] / engine["seconds"], 2),
            floor_peak_rss_mb=engine["peak_rss_mb"],
            rss_over_floor_mb=round(result["peak_rss_mb"] - engine["peak_rss_mb"], 1),
        )
    else:
        result.update(floor_seconds=None, ratio=None, floor_peak_rss_mb=None, rss_over_floor_mb=None)
    return result


def main(args: argparse.Namespace) -> dict[str, Any]:
    phases = [args.only] if args.only else ["initial", "daily"]
    with cluster(args) as kubeconfig:
        install_crds(kubeconfig)
        results = [run_phase(phase, args, kubeconfig) for phase in phases]
    head = results[0]
    return {
        "name": "operator_memory",
        "users": args.users,
        "google_latency_ms": args.google_latency_ms,
        "scim_latency_ms": args.scim_latency_ms,
        "bulk_max_operations": args.bulk_max_operations,
        "concurrency": args.concurrency,
        "seconds": head["seconds"],
        "floor_seconds": head["floor_seconds"],
        "ratio": head["ratio"],
        "requests": head["requests"],
        "min_requests": head["min_requests"],
        "peak_rss_mb": max(p["peak_rss_mb"] for p in results),
        "phases": results,
    }


COLUMNS = [
    "phase",
    "users",
    "phase_result",
    "seconds",
    "floor_seconds",
    "ratio",
    "requests",
    "min_requests",
    "items",
    "item_config_maps",
    "ledger_config_maps",
    "cpu_seconds",
    "started_rss_mb",
    "peak_rss_mb",
    "peak_at_seconds",
    "floor_peak_rss_mb",
    "rss_over_floor_mb",
    "load_average",
]


def table(report: dict[str, Any]) -> str:
    lines = [" | ".join(COLUMNS)]
    lines += [" | ".join(str(p.get(c)) for c in COLUMNS) for p in report["phases"]]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000, help="organization size (the real line: 100000)")
    parser.add_argument("--only", choices=["initial", "daily"], help="run one phase")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--google-latency-ms", type=float, default=100.0)
    parser.add_argument("--scim-latency-ms", type=float, default=50.0)
    parser.add_argument(
        "--bulk-max-operations", type=int, default=1000, help="SCIM Bulk's maxOperations (0: no Bulk)"
    )
    parser.add_argument("--kubeconfig", help="an admin's kubeconfig of an API server (default: start one)")
    parser.add_argument("--no-floor", dest="floor", action="store_false", help="skip the engine-only runs")
    parser.add_argument("--json", help="write the JSON result here")
    parser.add_argument("--operator", help=argparse.SUPPRESS)  # the operator's process: its settings
    arguments = parser.parse_args()
    if arguments.operator:
        print(json.dumps(operator_phase(json.loads(arguments.operator))))
        sys.exit(0)
    report = main(arguments)
    print(table(report))
    if arguments.json:
        with open(arguments.json, "w") as out:
            json.dump(report, out, indent=2)
