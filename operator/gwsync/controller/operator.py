"""Running the Kopf operator: its settings, how it logs in, and the two ways to start it.

``run`` is what ``gwsync run`` calls in a Pod (blocking, kubeconfig or in-cluster login,
peering on). ``serve`` is the same operator as a coroutine for tests and the demo: the API
server URL, the clock and the start/stop flags are injected, so nothing is monkeypatched.
"""

import asyncio
import concurrent.futures
import hashlib
import json
import logging
import secrets
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Unpack, cast

import kopf
import prometheus_client

from gwsync.api import constants as c
from gwsync.controller.handlers import Clock, HandlerOptions, register_provisioning_handlers
from gwsync.controller.peering import PEERING_NAME, register_peering_handler
from gwsync.kube.client import Kube, connect, kubeconfig_credentials
from gwsync.kube.ledger_key import DEFAULT_OPERATOR_NAMESPACE, LedgerKeyUnavailable, ensure_ledger_key
from gwsync.text import escape_logs

FINALIZER = f"{c.ANNOTATION_PREFIX}/finalizer"
log = logging.getLogger(__name__)

Flag = asyncio.Event | asyncio.Future[Any] | threading.Event | concurrent.futures.Future[Any] | None


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(tz=UTC)


class SpecDigestStorage(kopf.AnnotationsDiffBaseStorage):
    """Kopf's last handled configuration, with a digest of the spec instead of the spec itself.

    Kopf diffs each update against the configuration it last handled, kept in an annotation;
    but annotations hold 256 KiB at most, and a spec near the API's object size limit (a few
    thousand mapped groups) then made every patch of Kopf fail: an error every few seconds,
    forever. The only handler that diffs (`acknowledge`, on spec changes) needs to know that
    the spec changed, not how, so a digest is all that is kept.
    """

    def build(
        self,
        *,
        body: kopf.Body,
        extra_fields: Iterable[str | tuple[str, ...] | list[str] | None] | None = None,
    ) -> kopf.BodyEssence:
        essence = dict(super().build(body=body, extra_fields=extra_fields))
        if "spec" in essence:
            text = json.dumps(essence["spec"], sort_keys=True, separators=(",", ":"))
            essence["spec"] = {"sha256": hashlib.sha256(text.encode()).hexdigest()}
        return cast(kopf.BodyEssence, essence)


def configure(settings: kopf.OperatorSettings, *, priority: int = 0) -> None:
    """Kopf settings: our own annotation prefix and finalizer, quiet events, peering."""
    # Kopf's bookkeeping lives under gwsync.io, not Kopf's default kopf.zalando.org keys.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=c.ANNOTATION_PREFIX)
    settings.persistence.diffbase_storage = SpecDigestStorage(
        prefix=c.ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    settings.persistence.finalizer = FINALIZER
    # Only warnings and errors from handler logs become Kubernetes Events; the operator posts
    # its own meaningful Events (SyncStarted, SyncFailed, ...) explicitly.
    settings.posting.level = logging.WARNING
    # Two replicas must never both sync: the ClusterKopfPeering `gwsync` elects one. The
    # operator creates it at start (controller/peering.py); not mandatory, so that an operator
    # without the peering CRD (`--namespace`, a cluster without manifests/) still runs.
    settings.peering.name = PEERING_NAME
    settings.peering.clusterwide = True
    settings.peering.mandatory = False
    settings.peering.priority = priority
    # A deleted GoogleProvisioning keeps its finalizer until its schedule timer has exited;
    # Kopf re-checks that every `cancellation_polling` seconds (60 by default), which would
    # leave a rival waiting a minute to become active. The timer exits within one tick.
    settings.background.cancellation_polling = 1.0


def build_registry(
    *,
    clock: Clock,
    kube: Kube,
    server: str | None = None,
    kubeconfig: str | Path | None = None,
    insecure: bool = False,
    **options: Unpack[HandlerOptions],
) -> kopf.OperatorRegistry:
    """All handlers of the operator, bound to a clock, a Kube client and (optionally) a server."""
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        if server is not None:
            return kopf.ConnectionInfo(server=server, insecure=insecure)
        if kubeconfig is not None:
            found = kubeconfig_credentials(kubeconfig)
            return kopf.ConnectionInfo(
                server=found.server,
                ca_path=found.ca_path,
                insecure=found.insecure,
                certificate_path=found.certificate_path,
                private_key_path=found.private_key_path,
                scheme="Bearer" if found.token else None,
                token=found.token,
            )
        # The kubernetes client resolves kubeconfig or the in-cluster service account.
        return kopf.login_via_client(**kwargs)

    register_peering_handler(registry, kube=kube)
    key_namespace = options.get("operator_namespace", DEFAULT_OPERATOR_NAMESPACE)

    @kopf.on.startup(registry=registry)
    async def create_ledger_key(**_: Any) -> None:
        """The ledger signing key exists before the first sync needs it (kube/ledger_key.py).
        Each sync reads it again, so a failure here is a warning, not a stop."""
        try:
            await asyncio.to_thread(ensure_ledger_key, kube, key_namespace)
        except LedgerKeyUnavailable as exc:
            log.warning("%s; each sync tries again and says so on its LedgerVerified condition.", exc)

    register_provisioning_handlers(
        registry,
        clock=clock,
        kube=kube,
        **options,
    )
    return registry


async def serve(
    *,
    server: str | None = None,
    kubeconfig: str | Path | None = None,
    insecure: bool = False,
    namespaces: Sequence[str] = (),
    liveness: str | None = None,
    standalone: bool = True,
    priority: int = 0,
    stop_flag: Flag = None,
    ready_flag: Flag = None,
    clock: Clock = utc_now,
    **options: Unpack[HandlerOptions],
) -> None:
    """Run the operator in the current event loop until ``stop_flag`` is set."""
    settings = kopf.OperatorSettings()
    configure(settings, priority=priority)
    kube = connect(server, kubeconfig=kubeconfig, insecure=insecure)
    registry = build_registry(
        clock=clock,
        server=server,
        kubeconfig=kubeconfig,
        insecure=insecure,
        kube=kube,
        **options,
    )
    await kopf.operator(
        registry=registry,
        settings=settings,
        standalone=standalone,
        clusterwide=not namespaces,
        namespaces=list(namespaces),
        liveness_endpoint=liveness,
        stop_flag=stop_flag,
        ready_flag=ready_flag,
    )


@contextmanager
def serving_in_thread(
    *, server: str | None, clock: Clock = utc_now, startup_timeout: float = 30, **options: Any
) -> Iterator[None]:
    """Run ``serve`` in a thread of its own until the block exits (tests and the demo).

    Kopf must own its event loop: when it stops, it cancels every task that appeared in its
    loop while it ran, which would include the caller's own tasks (and pytest's teardown).
    """
    ready, stop = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def main() -> None:
        coroutine = serve(server=server, clock=clock, stop_flag=stop, ready_flag=ready, **options)
        try:
            asyncio.run(coroutine)
        except BaseException as exc:
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=main, name="gwsync-operator", daemon=True)
    thread.start()
    try:
        if not ready.wait(startup_timeout) or failure:
            cause = failure[0] if failure else None
            raise RuntimeError(f"The operator did not start against {server}.") from cause
        yield
    finally:
        stop.set()
        thread.join(startup_timeout)


def replica_priority(given: int | None = None) -> int:
    """The peering priority of this process: the given one, else a random one.

    Kopf pauses an operator only for a peer of *higher* priority; replicas that tie would all
    sync. A random priority per process (1 in a billion to tie) leaves exactly one active.
    """
    return given if given is not None else secrets.randbelow(1 << 30) + 1


def run(
    *,
    namespaces: Sequence[str] = (),
    namespace: str | None = None,
    liveness: str | None = None,
    metrics_port: int = 9090,
    standalone: bool = False,
    priority: int | None = None,
    verbose: bool = False,
    **options: Unpack[HandlerOptions],
) -> None:
    """Run the operator until SIGTERM/SIGINT (``gwsync run``), logging in from the environment.

    Watches every namespace unless ``namespaces`` (or ``namespace``) narrows it.
    """
    kopf.configure(verbose=verbose)
    escape_logs()  # log lines quote keys and answers from Google and the target
    if metrics_port:
        prometheus_client.start_http_server(metrics_port)
    watched = [*namespaces, *([namespace] if namespace else [])]
    asyncio.run(
        serve(
            namespaces=watched,
            liveness=liveness,
            standalone=standalone,
            priority=replica_priority(priority),
            **options,
        )
    )
