"""The one place that talks to the Kubernetes API, through the official ``kubernetes`` client.

Everything else in ``gwsync.kube`` works on plain dicts through ``Kube``, so the rest of the
operator never imports the client (nor catches its exceptions): errors come out as
``KubeApiError`` with the API server's own message. Calls are blocking; the controller runs
them in threads, and the client's urllib3 pool is thread-safe, so one ``Kube`` is shared.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import urllib3
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from gwsync.api import constants

MERGE_PATCH: Final = "application/merge-patch+json"
# Threads of the controller share the client; the default pool (5 per CPU) would queue them.
CONNECTION_POOL_SIZE: Final = 32
REQUEST_TIMEOUT_SECONDS: Final = 60.0
DEFAULT_NAMESPACE: Final = "default"
# Where a pod's service account token mounts say which namespace the pod runs in.
SERVICE_ACCOUNT_NAMESPACE: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass(frozen=True)
class Resource:
    """A resource type, as its REST path names it (namespaced, except in the `*_cluster_scoped` calls)."""

    group: str  # "" for the core API
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


CONFIG_MAPS: Final = Resource("", "v1", "configmaps", "ConfigMap")
SECRETS: Final = Resource("", "v1", "secrets", "Secret")
PROVISIONINGS: Final = Resource(
    constants.GROUP, constants.VERSION, constants.PROVISIONING_PLURAL, constants.PROVISIONING_KIND
)
REPORTS: Final = Resource(constants.GROUP, constants.VERSION, constants.REPORT_PLURAL, constants.REPORT_KIND)

# CoreV1Api method suffixes of the core resources gwsync uses.
_CORE_NAMES: Final = {"configmaps": "config_map", "secrets": "secret"}


class KubeConfigError(Exception):
    """No usable way to reach a Kubernetes API server was found."""


class KubeApiError(Exception):
    """The API server refused a request (or could not be reached: status 0)."""

    def __init__(self, message: str, *, status: int, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class KubeNotFound(KubeApiError):
    """HTTP 404: the object (or its namespace) does not exist."""


class KubeConflict(KubeApiError):
    """HTTP 409: the name is taken (AlreadyExists) or the resourceVersion is stale (Conflict)."""


def _error_from(exc: ApiException, what: str) -> KubeApiError:
    status = int(exc.status or 0)
    reason = str(exc.reason or "")
    detail = reason
    try:
        body = json.loads(exc.body or "{}")
        detail = str(body.get("message") or detail)
        reason = str(body.get("reason") or reason)
    except (TypeError, ValueError):
        pass
    message = f"{what} failed: {status} {detail}".rstrip()
    kind: type[KubeApiError] = {404: KubeNotFound, 409: KubeConflict}.get(status, KubeApiError)
    return kind(message, status=status, reason=reason)


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except ApiException as exc:
        raise _error_from(exc, what) from None
    except urllib3.exceptions.HTTPError as exc:
        raise KubeApiError(f"{what} failed: the Kubernetes API is unreachable ({exc})", status=0) from None


def _json(response: Any) -> dict[str, Any]:
    data = response.data
    return json.loads(data) if data else {}


def _selector(labels: Mapping[str, str] | None) -> str | None:
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items())) if labels else None


def _matches(obj: Mapping[str, Any], labels: Mapping[str, str] | None) -> bool:
    present = (obj.get("metadata") or {}).get("labels") or {}
    return all(present.get(key) == value for key, value in (labels or {}).items())


class Kube:
    """Blocking CRUD on namespaced objects as dicts; thread-safe, one per operator process.

    The typed APIs are made on first use: creating a `CoreV1Api` imports the client's ~280
    core/v1 models, which a command that reads only custom objects (`gwsync report list`)
    need not pay for (bench/README.md, CLI start-up).
    """

    def __init__(self, api_client: k8s.ApiClient) -> None:
        self.api_client = api_client

    @cached_property
    def _core(self) -> k8s.CoreV1Api:
        return k8s.CoreV1Api(self.api_client)

    @cached_property
    def _custom(self) -> k8s.CustomObjectsApi:
        return k8s.CustomObjectsApi(self.api_client)

    @property
    def server(self) -> str:
        return str(self.api_client.configuration.host)

    def close(self) -> None:
        self.api_client.close()  # type: ignore[no-untyped-call]  # untyped in the client

    def namespace_exists(self, name: str) -> bool:
        try:
            with _translated(f"reading Namespace {name}"):
                self._core.read_namespace(name, **_RAW)
        except KubeNotFound:
            return False
        return True

    def _core_call(self, verb: str, resource: Resource) -> Callable[..., Any]:
        method: Callable[..., Any] = getattr(self._core, f"{verb}_namespaced_{_CORE_NAMES[resource.plural]}")
        return method

    def _custom_args(self, resource: Resource) -> dict[str, Any]:
        return {"group": resource.group, "version": resource.version, "plural": resource.plural}

    def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any]:
        with _translated(f"reading {resource.kind} {namespace}/{name}"):
            if not resource.group:
                return _json(self._core_call("read", resource)(name, namespace, **_RAW))
            return _json(
                self._custom.get_namespaced_custom_object(
                    namespace=namespace, name=name, **self._custom_args(resource), **_RAW
                )
            )

    def list(
        self, resource: Resource, namespace: str, labels: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Objects of a namespace carrying all these labels (filtered here too, defensively)."""
        selector = _selector(labels)
        with _translated(f"listing {resource.kind}s in {namespace}"):
            if not resource.group:
                payload = _json(self._core_call("list", resource)(namespace, label_selector=selector, **_RAW))
            else:
                payload = _json(
                    self._custom.list_namespaced_custom_object(
                        namespace=namespace, label_selector=selector, **self._custom_args(resource), **_RAW
                    )
                )
        return [obj for obj in payload.get("items") or [] if _matches(obj, labels)]

    def create(self, resource: Resource, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        name = (body.get("metadata") or {}).get("name", "?")
        with _translated(f"creating {resource.kind} {namespace}/{name}"):
            if not resource.group:
                return _json(self._core_call("create", resource)(namespace, dict(body), **_RAW))
            return _json(
                self._custom.create_namespaced_custom_object(
                    namespace=namespace, body=dict(body), **self._custom_args(resource), **_RAW
                )
            )

    def patch(self, resource: Resource, namespace: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A JSON merge patch (RFC 7386) of the object; a metadata.resourceVersion is a precondition."""
        with _translated(f"updating {resource.kind} {namespace}/{name}"):
            if not resource.group:
                return _json(
                    self._core_call("patch", resource)(
                        name, namespace, dict(body), _content_type=MERGE_PATCH, **_RAW
                    )
                )
            patch = self._custom.patch_namespaced_custom_object
            return self._merge_patch(patch, resource, namespace, name, body)

    def patch_status(
        self, resource: Resource, namespace: str, name: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A merge patch through the status subresource (custom resources only)."""
        with _translated(f"updating the status of {resource.kind} {namespace}/{name}"):
            return self._merge_patch(
                self._custom.patch_namespaced_custom_object_status, resource, namespace, name, body
            )

    def _merge_patch(
        self,
        call: Callable[..., Any],
        resource: Resource,
        namespace: str,
        name: str,
        body: Mapping[str, Any],
    ) -> dict[str, Any]:
        """A merge patch of a custom object (or its status, as `call` says)."""
        return _json(
            call(
                namespace=namespace,
                name=name,
                body=dict(body),
                _content_type=MERGE_PATCH,
                **self._custom_args(resource),
                **_RAW,
            )
        )

    def get_cluster_scoped(self, resource: Resource, name: str) -> dict[str, Any]:
        """A cluster-scoped custom object (the operator's ClusterKopfPeering)."""
        with _translated(f"reading {resource.kind} {name}"):
            return _json(
                self._custom.get_cluster_custom_object(name=name, **self._custom_args(resource), **_RAW)
            )

    def create_cluster_scoped(self, resource: Resource, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a cluster-scoped custom object; KubeConflict when the name is taken."""
        name = (body.get("metadata") or {}).get("name", "?")
        with _translated(f"creating {resource.kind} {name}"):
            return _json(
                self._custom.create_cluster_custom_object(
                    body=dict(body), **self._custom_args(resource), **_RAW
                )
            )

    def delete(self, resource: Resource, namespace: str, name: str, *, missing_ok: bool = True) -> bool:
        """Delete an object; False when it was already gone (and ``missing_ok``)."""
        try:
            with _translated(f"deleting {resource.kind} {namespace}/{name}"):
                if not resource.group:
                    self._core_call("delete", resource)(name, namespace, **_RAW)
                else:
                    self._custom.delete_namespaced_custom_object(
                        namespace=namespace, name=name, **self._custom_args(resource), **_RAW
                    )
        except KubeNotFound:
            if missing_ok:
                return False
            raise
        return True


# Raw responses: the JSON is parsed once into dicts, not into the client's models and back.
_RAW: Final[dict[str, Any]] = {"_preload_content": False, "_request_timeout": REQUEST_TIMEOUT_SECONDS}


def _configuration() -> k8s.Configuration:
    configuration = k8s.Configuration()
    configuration.connection_pool_maxsize = CONNECTION_POOL_SIZE
    return configuration


def connect(
    server: str | None = None,
    *,
    kubeconfig: str | Path | None = None,
    context: str | None = None,
    token: str | None = None,
    insecure: bool = False,
) -> Kube:
    """A client for the API server: an explicit URL, else in-cluster, else the kubeconfig.

    The kubeconfig is $KUBECONFIG's first file or ~/.kube/config, as kubectl reads it; it is
    never written back (the operator's root filesystem is read-only).
    """
    configuration = _configuration()
    if server:
        configuration.host = server.rstrip("/")
        configuration.verify_ssl = not insecure
        if token:
            configuration.api_key = {"BearerToken": token}
            configuration.api_key_prefix = {"BearerToken": "Bearer"}
    elif kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except ConfigException as exc:
            raise KubeConfigError(f"in-cluster Kubernetes configuration is unusable: {exc}") from None
    else:
        _load_kubeconfig(configuration, kubeconfig, context)
    return Kube(k8s.ApiClient(configuration))


def _load_kubeconfig(
    configuration: k8s.Configuration, kubeconfig: str | Path | None, context: str | None
) -> None:
    path = kubeconfig_path(kubeconfig)
    shown = str(path or Path("~/.kube/config"))
    if path is not None and not Path(path).is_file():
        raise KubeConfigError(
            f"kubeconfig {shown} does not exist: pass --kubeconfig, set KUBECONFIG, or run in a cluster"
        )
    try:
        k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(path) if path else None,
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
    except (ConfigException, OSError) as exc:
        raise KubeConfigError(
            f"cannot use kubeconfig {shown}: {exc}; pass --kubeconfig, set KUBECONFIG, or run in a cluster"
        ) from None


def kubeconfig_path(kubeconfig: str | Path | None) -> str | Path | None:
    """The kubeconfig kubectl would read: the given one, else $KUBECONFIG's first file (else None)."""
    return kubeconfig or (os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or None)


def context_namespace(kubeconfig: str | Path | None = None, context: str | None = None) -> str:
    """The namespace kubectl would use: the (current or named) context's, else "default".

    Like ``connect``: without a kubeconfig inside a pod, it is the pod's own namespace. A
    missing or unreadable kubeconfig gives "default" here; ``connect`` says what is wrong.
    """
    if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            return SERVICE_ACCOUNT_NAMESPACE.read_text(encoding="utf-8").strip() or DEFAULT_NAMESPACE
        except OSError:
            return DEFAULT_NAMESPACE
    path = kubeconfig_path(kubeconfig)
    try:
        contexts, current = k8s_config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
            config_file=str(path) if path else None
        )
    except (ConfigException, OSError, ValueError, TypeError, yaml.YAMLError):
        return DEFAULT_NAMESPACE
    if context is not None:
        current = next((entry for entry in contexts or [] if entry.get("name") == context), None)
    namespace = ((current or {}).get("context") or {}).get("namespace")
    return str(namespace) if namespace else DEFAULT_NAMESPACE


@dataclass(frozen=True)
class ClusterCredentials:
    """How to reach and authenticate to the API server of a kubeconfig (for Kopf's login)."""

    server: str
    ca_path: str | None = None
    insecure: bool = False
    certificate_path: str | None = None
    private_key_path: str | None = None
    token: str | None = None


def kubeconfig_credentials(kubeconfig: str | Path, context: str | None = None) -> ClusterCredentials:
    """Read a kubeconfig the way kubectl does (certificates land in temporary files)."""
    configuration = _configuration()
    _load_kubeconfig(configuration, kubeconfig, context)
    # kubernetes >= 30 keeps a kubeconfig token under "BearerToken"; older ones under "authorization".
    keys = configuration.api_key or {}
    authorization = keys.get("BearerToken") or keys.get("authorization") or ""
    return ClusterCredentials(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
        token=authorization.removeprefix("Bearer ").strip() or None,
    )
