"""Writing to a SCIM target without losing what others wrote, and without creating twice.

- Creates are not idempotent, so a POST is never blindly sent twice (`ScimWrites._create`):
  429 means the server refused before acting, and is retried as is; 503, any other 5xx and a
  request with no answer (a timeout) are ambiguous, since a gateway may fail after the
  provider stored the object. Then the object is first looked up by filter (`userName eq
  "..."`, `displayName eq "..."`) and, if it is there and is ours (same externalId for a
  user), its id is returned, with a sentence in `write_notes`. Only 503 is retried after a
  lookup that finds nothing; other failures fail the item and the next sync, which reads the
  whole target, finds the object if it was made. Without filter support there is no lookup
  and no retry after a 503.
- Without PATCH, every write is a read-modify-write PUT: GET the resource, change only the
  attributes gwsync manages (a user's mapped fields, a group's member list), PUT the whole
  resource back without `meta`, so what other tools or admins set survives. When the server
  versions resources (meta.version or an ETag header) the PUT carries If-Match; a 412 means
  someone wrote in between, so the resource is read again and the change re-applied, at most
  PRECONDITION_ATTEMPTS times.
- Membership changes are PATCHes of at most MAX_MEMBER_OPS member operations, because
  providers (Azure, Okta, Slack) cap PATCH size around there.
- SCIM Bulk (RFC 7644 §3.7): writes go as operations of `POST /Bulk` requests (`bulk.Batcher`),
  each keeping its own result (`bulk_result`); a Bulk request refused as a whole
  (BULK_REFUSALS) switches the target to single requests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, cast

import httpx
from scim2_client import SCIMClientException

from gwsync.sync.ports import TargetError, TargetUnavailable, UserAttributes
from gwsync.targets.scim.answers import ERROR_SCHEMA, answer, call, quoted, refusal
from gwsync.targets.scim.bulk import Batcher, BulkRefused, Operation, member_patch
from gwsync.targets.scim.discovery import Capabilities
from gwsync.targets.scim.read import text
from gwsync.targets.scim.transport import RETRIED_STATUSES, ScimTransport, Withdrawn
from gwsync.targets.scim.wire import (
    PATCH_SCHEMA,
    change_members,
    chunks,
    filter_string,
    fit_operation,
    fit_user,
    formatted_name,
    group_display_name_operation,
    group_external_id_operation,
    group_resource,
    put_user_fields,
    user_operation,
    user_resource,
)
from gwsync.text import same_address

log = logging.getLogger(__name__)

BULK_REFUSALS = frozenset({400, 403, 404, 405, 413, 415, 422, 501})
"""Answers to POST /Bulk that refuse Bulk as a whole (not there, not allowed, too large...)."""
MAX_MEMBER_OPS = 100
MAX_REFERENCES = 20
"""PATCHes naming a create by bulkId in one Bulk request (ScimWrites.add_created_members)."""
PRECONDITION_ATTEMPTS = 4


class ScimWrites:
    """ScimTarget's writes: creates, updates, deactivations, deletions and member changes, each
    a request of its own (PATCH, or a read-modify-write PUT without PATCH) or an operation of
    a Bulk request."""

    _scim: ScimTransport
    _batcher: Batcher | None
    _creating: dict[asyncio.Future[Any], Operation]
    _member_values: dict[str, str]
    _recoveries: list[str]
    _recovery_note: str | None
    write_notes: list[str]

    async def _capabilities(self) -> Capabilities:
        raise NotImplementedError  # ScimTarget's: the check, once

    async def _send_bulk(
        self, body: bytes, count: int, wanted: Callable[[], bool]
    ) -> list[dict[str, Any]] | None:
        """`bulk.Send`: POST /Bulk; the answer's Operations, or None when nothing was sent
        (withdrawn while waiting for a slot). BulkRefused when Bulk is refused as a whole."""
        doing = f"sending {count} writes in a SCIM Bulk request"
        headers = {"Content-Type": "application/scim+json"}
        try:
            # 429 refused before acting: sent again. A 503 may come after the target applied
            # some operations (creates are not idempotent), so it fails the writes instead.
            for attempt in range(1, self._scim.max_attempts + 1):
                response = await self._scim.send_once(
                    "POST", "/Bulk", wanted=wanted, content=body, headers=headers
                )
                if response.status_code != 429 or attempt == self._scim.max_attempts:
                    break
                await asyncio.sleep(self._scim.delay(attempt, response))
        except Withdrawn:
            return None
        except SCIMClientException as exc:
            notes = "; ".join(getattr(exc, "__notes__", [])) or str(exc)
            raise TargetError(f"Target failed while {doing}: {notes}") from exc
        payload = answer(response, doing)
        status = response.status_code
        if status == 401:
            raise TargetUnavailable(
                "The SCIM token was refused (401); check the Secret named in "
                "spec.target.scim.tokenSecretRef holds a valid bearer token.",
                status=401,
            )
        operations = payload.get("Operations") if isinstance(payload, dict) else None
        if status == 200 and isinstance(operations, list):
            return [op for op in operations if isinstance(op, dict)]
        if status in BULK_REFUSALS or 200 <= status < 300:
            if not isinstance(payload, TargetError):
                raise BulkRefused(f"it answered {status} without a BulkResponse")
            said = str(payload).split(f"{doing}: ", 1)[-1]
            raise BulkRefused(said if said.startswith("it answered") else f"it answered {said}")
        raise payload if isinstance(payload, TargetError) else TargetError(f"Target failed while {doing}.")

    async def _write(
        self,
        method: str,
        path: str,
        doing: str,
        single: Callable[[], Awaitable[str | None]],
        data: dict[str, Any] | None = None,
    ) -> str | None:
        """One write: an operation of a Bulk request when Bulk is on, else `single`."""
        if self._batcher is None:
            return await single()

        async def alone(_: list[str]) -> str | None:
            return await single()

        return await self._batcher.write(Operation(method, path, doing, alone, data=data))

    async def create_user(self, user: UserAttributes) -> str:
        capabilities = await self._capabilities()
        if self._batcher is None:
            return await self._create_alone(user, capabilities)
        operation = self._create_operation(user, capabilities)
        task = asyncio.current_task()
        if task is not None:  # add_created_members may name this user by its bulkId
            self._creating[task] = operation
        try:
            return created_id(await self._batcher.write(operation), f"creating {user.user_name}")
        finally:
            if task is not None:
                self._creating.pop(task, None)

    async def create_users(self, users: Sequence[UserAttributes]) -> list[asyncio.Future[str]]:
        """`Batching.create_users`: each create queued for Bulk, its future giving the id (a
        create's result always has one: bulk_result) or a TargetError; add_created_members
        may name these futures."""
        capabilities = await self._capabilities()
        batcher = self._batcher
        if batcher is None:  # Bulk was never on: each create a task of its own
            return [asyncio.ensure_future(self.create_user(user)) for user in users]
        created: list[asyncio.Future[str]] = []
        for user in users:
            operation = self._create_operation(user, capabilities)
            result = batcher.queue(operation)
            self._creating[result] = operation
            result.add_done_callback(self._created)
            created.append(cast("asyncio.Future[str]", result))
        return created

    def _created(self, result: asyncio.Future[str | None]) -> None:
        self._creating.pop(result, None)

    def _create_operation(self, user: UserAttributes, capabilities: Capabilities) -> Operation:
        """The Bulk operation creating `user`; alone, it goes as create_user sends it."""

        async def alone(_: list[str]) -> str:
            return await self._create_alone(user, capabilities)

        # The resource is made again if it has to go alone: a queued write holds only its JSON,
        # so thousands of them waiting for their request leave little for the GC to scan.
        resource = fit_user(user_resource(user), user, capabilities)
        return Operation("POST", "/Users", f"creating {user.user_name}", alone, data=resource)

    async def _create_alone(self, user: UserAttributes, capabilities: Capabilities) -> str:
        def ours(found: dict[str, Any]) -> bool:
            same_name = same_address(str(found.get("userName", "")), user.user_name)
            return same_name and (found.get("externalId") or None) == user.external_id

        resource = fit_user(user_resource(user), user, capabilities)
        return await self._create("User", resource, ("userName", user.user_name), ours, user.user_name)

    async def update_user(self, target_id: str, user: UserAttributes, fields: Sequence[str]) -> None:
        capabilities = await self._capabilities()
        fields = [field for field in fields if field not in capabilities.unsupported_fields]
        renaming = "userName" in fields and capabilities.schema.immutable_user_name
        if renaming:  # the rest is written; the rename fails its item, saying why
            fields.remove("userName")
        if fields and capabilities.patch:
            operations = [fit_operation(user_operation(field, user), capabilities) for field in fields]
            if capabilities.schema.formatted_name and {"name.givenName", "name.familyName"} & set(fields):
                operations.append({"op": "replace", "path": "name.formatted", "value": formatted_name(user)})
            await self._patch_user(target_id, operations, f"updating {user.user_name}")
        elif fields:

            def change(resource: dict[str, Any]) -> bool:
                put_user_fields(resource, user, fields)
                fit_user(resource, user, capabilities)
                return True

            await self._read_modify_write("User", target_id, change, f"replacing {user.user_name}")
        if renaming:
            raise TargetError(
                f"Target cannot rename user {target_id} to {user.user_name}: its User schema declares "
                "userName immutable (set once, at creation); rename it in the target itself."
            )

    async def _patch_user(self, target_id: str, operations: list[dict[str, Any]], doing: str) -> None:
        """PATCH a user: one operation of a Bulk request, or a request of its own."""
        await self._write(
            "PATCH",
            f"/Users/{target_id}",
            doing,
            lambda: self._patch("User", target_id, operations, doing),
            {"schemas": [PATCH_SCHEMA], "Operations": operations},
        )

    async def deactivate_user(self, target_id: str) -> None:
        if (await self._capabilities()).patch:
            operations = [{"op": "replace", "path": "active", "value": False}]
            await self._patch_user(target_id, operations, "deactivating the user")
            return

        def change(resource: dict[str, Any]) -> bool:
            resource["active"] = False
            return True

        await self._read_modify_write("User", target_id, change, "deactivating the user")

    async def delete_user(self, target_id: str) -> None:
        async def single() -> None:
            await call(self._scim.delete("User", target_id, expected_status_codes=None), "deleting the user")

        await self._write("DELETE", f"/Users/{target_id}", "deleting the user", single)

    # --- groups ----------------------------------------------------------------------------------

    async def create_group(self, display_name: str) -> str:
        return await self._create_group(group_resource(display_name))

    async def create_group_with_external_id(self, display_name: str, external_id: str) -> str:
        """`GroupExternalIds.create_group_with_external_id`: a target that refuses the group
        with its externalId (a 400) gets it without, and a write note says so."""
        try:
            return await self._create_group(group_resource(display_name, external_id))
        except TargetUnavailable:
            raise
        except TargetError as exc:
            if exc.status != 400:
                raise
            group_id = await self._create_group(group_resource(display_name))
            self.write_notes.append(
                f"The target refused team {display_name} with an externalId ({exc}); gwsync created "
                "it without one and does not send it again."
            )
            return group_id

    async def set_group_external_id(self, group_id: str, external_id: str) -> None:
        """`GroupExternalIds.set_group_external_id`: one PATCH (or a read-modify-write PUT)."""
        doing = "setting the team's externalId"
        await self._change_group(group_id, "externalId", external_id, group_external_id_operation, doing)

    async def rename_group(self, group_id: str, display_name: str) -> None:
        """`Target.rename_group`: one PATCH (or a read-modify-write PUT)."""
        doing = f"renaming the team's group to {display_name}"
        await self._change_group(group_id, "displayName", display_name, group_display_name_operation, doing)

    async def _change_group(
        self,
        group_id: str,
        attribute: str,
        value: str,
        operation: Callable[[str, Capabilities], dict[str, Any]],
        doing: str,
    ) -> None:
        """Set one attribute of a group: a PATCH where the target takes them, else a PUT."""
        capabilities = await self._capabilities()
        if capabilities.patch:
            operations = [operation(value, capabilities)]
            await self._write(
                "PATCH",
                f"/Groups/{group_id}",
                doing,
                lambda: self._patch("Group", group_id, operations, doing),
                {"schemas": [PATCH_SCHEMA], "Operations": operations},
            )
            return

        def change(resource: dict[str, Any]) -> bool:
            resource[attribute] = value
            return True

        await self._read_modify_write("Group", group_id, change, doing)

    async def _create_group(self, payload: dict[str, Any]) -> str:
        display_name = str(payload["displayName"])

        def ours(found: dict[str, Any]) -> bool:
            return found.get("displayName") == display_name

        async def single() -> str:
            return await self._create(
                "Group", payload, ("displayName", display_name), ours, f"team {display_name}"
            )

        doing = f"creating team {display_name}"
        return created_id(await self._write("POST", "/Groups", doing, single, payload), doing)

    async def _create(
        self,
        resource_type: str,
        payload: dict[str, Any],
        key: tuple[str, str],
        ours: Callable[[dict[str, Any]], bool],
        what: str,
    ) -> str:
        """POST, never twice: after an ambiguous failure, look the object up before retrying.

        429 is retried as is (the server refused before doing anything). A 5xx or no answer
        may come after the server stored the object: it is looked up by `key` (a filter
        `attribute eq "value"`), and an object that `ours` recognizes is returned as the
        created one. Only 503 is retried after a lookup that finds nothing; other 5xx and
        network errors fail the item (the next sync reads the target and finds the object if
        it was made). Without filter support no lookup is possible, so 503 is not retried.
        """
        endpoint, doing = f"/{resource_type}s", f"creating {what}"
        can_look_up = (await self._capabilities()).filter
        for attempt in range(1, self._scim.max_attempts + 1):
            response: httpx.Response | None = None
            try:
                response = await self._scim.send_once("POST", endpoint, json=payload)
            except SCIMClientException as exc:
                notes = "; ".join(getattr(exc, "__notes__", []))
                failure = TargetError(f"Target failed while {doing}: {notes or exc}")
            else:
                created = answer(response, doing)
                if isinstance(created, TargetError):
                    failure = created
                elif created.get("id"):
                    return str(created["id"])
                else:
                    failure = TargetError(f"Target failed while {doing}: its answer has no id")
            status = response.status_code if response is not None else None
            if status is None or status >= 500:
                if can_look_up and (found := await self._find(resource_type, key, ours)) is not None:
                    self._recovered(what, status)
                    return found
                if status == 503 and not can_look_up:
                    raise failure
            if status not in RETRIED_STATUSES or attempt == self._scim.max_attempts:
                raise failure
            await asyncio.sleep(self._scim.delay(attempt, response))
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _find(
        self, resource_type: str, key: tuple[str, str], ours: Callable[[dict[str, Any]], bool]
    ) -> str | None:
        """The id of the object `ours` recognizes among those whose `key` matches, else None."""
        attribute, value = key
        try:
            page = await call(
                self._scim.query(
                    resource_type,
                    query_parameters={
                        "filter": f"{attribute} eq {filter_string(value)}",
                        "startIndex": 1,
                        "count": 10,
                    },
                    expected_status_codes=None,
                ),
                f"looking up {value}",
            )
        except TargetError as exc:
            log.info("Could not look up %s after an ambiguous create: %s", value, exc)
            return None
        matches = [r for r in page.get("Resources") or [] if ours(r) and r.get("id")]
        return str(matches[0]["id"]) if matches else None

    def _recovered(self, what: str, status: int | None) -> None:
        self._recoveries.append(f"{what} ({status or 'no answer'})")
        count = len(self._recoveries)
        shown = ", ".join(self._recoveries[:5]) + (f" and {count - 5} more" if count > 5 else "")
        plural = count > 1
        sentence = (
            f"{count} create{'s' if plural else ''} answered with an error after the target had "
            f"applied {'them' if plural else 'it'}; gwsync found the created "
            f"object{'s' if plural else ''} instead of creating {'them' if plural else 'it'} "
            f"twice: {shown}."
        )
        if self._recovery_note in self.write_notes:
            self.write_notes.remove(self._recovery_note)
        self._recovery_note = sentence
        self.write_notes.append(sentence)

    async def add_members(self, group_id: str, user_ids: Sequence[str]) -> None:
        if not (await self._capabilities()).patch:
            await self._put_members(group_id, add=user_ids, remove=(), doing="adding team members")
            return
        for chunk in chunks(user_ids, MAX_MEMBER_OPS):
            await self._members(group_id, "add", list(chunk))

    async def remove_members(self, group_id: str, user_ids: Sequence[str]) -> None:
        if not (await self._capabilities()).patch:
            await self._put_members(group_id, add=(), remove=user_ids, doing="removing team members")
            return
        for chunk in chunks([self._member_values.get(uid, uid) for uid in user_ids], MAX_MEMBER_OPS):
            await self._members(group_id, "remove", list(chunk))

    async def add_created_members(self, group_id: str, created: Sequence[asyncio.Future[str]]) -> None:
        """`Batching.add_created_members`: users whose create_user runs as these tasks. A create
        still queued for Bulk is named by its bulkId (the same request carries both), one
        reference per PATCH: SCIMMY 1.3 resolves only the last of several in one operation
        and keeps the others as member values "bulkId:..." (tests/integration/interop). At
        most MAX_REFERENCES such PATCHes go in a request: past that, resolving references gets
        slow on some servers (SCIMMY took over 30 s for 250), so the other additions wait for
        their creates and go as merged PATCHes of real ids (100 per PATCH: fewer operations).
        A user whose create failed is left out."""
        batcher = self._batcher
        room = MAX_REFERENCES - batcher.references if batcher is not None else 0
        pending = [self._creating.get(task) for task in created]
        pending = [op if op is not None and (room := room - 1) >= 0 else None for op in pending]
        if batcher is not None:
            batcher.references += sum(1 for op in pending if op is not None)
        if self._batcher is None or not any(pending):
            answers = await asyncio.gather(*created, return_exceptions=True)
            if ids := [uid for uid in answers if isinstance(uid, str)]:
                await self.add_members(group_id, ids)
            return
        writes = [self._members(group_id, "add", [operation]) for operation in pending if operation]
        waited = [t for t, op in zip(created, pending, strict=True) if not op]
        answers = await asyncio.gather(*waited) if waited else []
        ids = [uid for uid in answers if isinstance(uid, str)]
        writes += [self._members(group_id, "add", list(chunk)) for chunk in chunks(ids, MAX_MEMBER_OPS)]
        # One write (a create's addition, as apply sends them) is queued now, not a turn of the
        # event loop later as a task: it goes in the request that carries the create.
        await (writes[0] if len(writes) == 1 else asyncio.gather(*writes))

    async def _members(self, group_id: str, op: str, members: list[str | Operation]) -> None:
        """One PATCH of members (at most MAX_MEMBER_OPS): alone, or merged into a Bulk operation."""
        doing = "adding team members" if op == "add" else "removing team members"

        async def single(ids: list[str]) -> None:
            if ids:
                await self._patch("Group", group_id, member_patch(op, ids)["Operations"], doing)

        if self._batcher is None:
            await single([m for m in members if isinstance(m, str)])
            return
        operation = Operation(
            "PATCH",
            f"/Groups/{group_id}",
            doing,
            single,
            members=members,
            member_op=op,
            merge=(op, group_id) if all(isinstance(m, str) for m in members) else None,
        )
        await self._batcher.members(operation)

    async def _put_members(
        self, group_id: str, *, add: Iterable[str], remove: Iterable[str], doing: str
    ) -> None:
        """Membership on a target without PATCH: the group's whole member list, by PUT."""

        def change(resource: dict[str, Any]) -> bool:
            named = self._member_values
            return change_members(resource, add, [named.get(uid, uid) for uid in remove])

        await self._read_modify_write("Group", group_id, change, doing)

    async def _read_modify_write(
        self,
        resource_type: str,
        target_id: str,
        change: Callable[[dict[str, Any]], bool],
        doing: str,
    ) -> None:
        """GET, `change` in place (False: nothing to write), PUT back with If-Match; 412 → again."""
        endpoint = f"/{resource_type}s/{target_id}"
        for attempt in range(1, PRECONDITION_ATTEMPTS + 1):
            current, version = await self._read(endpoint, f"reading before {doing}")
            current.pop("meta", None)
            if not change(current):
                return
            headers = {"If-Match": version} if version else {}
            try:
                await call(
                    self._scim.replace(
                        resource_type, current, url=endpoint, expected_status_codes=None, headers=headers
                    ),
                    doing,
                )
                return
            except TargetError as exc:
                if exc.status != 412:
                    raise
                if attempt == PRECONDITION_ATTEMPTS:
                    raise TargetError(
                        f"Target refused {doing}: the {resource_type.lower()} was changed by someone "
                        f"else each of the {PRECONDITION_ATTEMPTS} times gwsync read and wrote it "
                        "(412 Precondition Failed); the next sync tries again.",
                        status=412,
                    ) from exc
                log.info("%s %s changed while %s; reading it again.", resource_type, target_id, doing)

    async def _read(self, endpoint: str, doing: str) -> tuple[dict[str, Any], str | None]:
        """GET one resource and its version: meta.version, else the ETag header, else None."""
        try:
            response = await self._scim.request("GET", endpoint)
        except SCIMClientException as exc:
            notes = "; ".join(getattr(exc, "__notes__", []))
            raise TargetError(f"Target failed while {doing}: {notes or exc}") from exc
        payload = answer(response, doing)
        if isinstance(payload, TargetError):
            raise payload
        version = (payload.get("meta") or {}).get("version") or response.headers.get("ETag")
        return payload, str(version) if version else None

    async def _patch(
        self, resource_type: str, target_id: str, operations: list[dict[str, Any]], doing: str
    ) -> None:
        payload = {"schemas": [PATCH_SCHEMA], "Operations": operations}
        await call(self._scim.modify(resource_type, target_id, payload, expected_status_codes=None), doing)


def created_id(found: str | None, doing: str) -> str:
    if not found:
        raise TargetError(f"Target failed while {doing}: its answer has no id")
    return found


def bulk_result(operation: Operation, result: dict[str, Any]) -> str | None:
    """`bulk.Judge`: one operation's result in a BulkResponse (RFC 7644 §3.7.3): its id when
    it created something, None when it succeeded otherwise; a TargetError when it failed (a
    create whose answer gives no id too)."""
    status_field = result.get("status")
    if isinstance(status_field, dict):  # SCIM 1.1 said {"code": "201"}
        status_field = status_field.get("code")
    status = str(status_field or "").strip()
    code = int(status) if status.isascii() and status.isdigit() and len(status) == 3 else 0
    response = result.get("response")
    if not 200 <= code < 300:
        if isinstance(response, dict) and ERROR_SCHEMA in (response.get("schemas") or []):
            raise refusal(response, operation.doing)
        if isinstance(response, dict) and response.get("detail"):
            raise refusal({"status": status, **response}, operation.doing)
        shown = quoted(status, 10) or "no status"
        raise TargetError(f"Target refused {operation.doing}: it answered {shown}", status=code or None)
    if operation.method != "POST":
        return None
    if isinstance(response, dict) and response.get("id"):
        return text(response.get("id"), "the created resource's id")
    location = text(result.get("location"), "the operation's location") or ""
    return created_id(location.rstrip("/").rsplit("/", 1)[-1], operation.doing)
