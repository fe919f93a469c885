"""SCIM Bulk (RFC 7644 §3.7): many writes in one request, each write keeping its own result.

The SCIM adapter (`gwsync.targets.scim`) hands each write to a `Batcher` as an `Operation`
and awaits the operation's own future, so apply sees the same one-call-one-result shape as
with single requests. The batcher sends what has queued up in one Bulk request when the next
operation would pass the server's maxOperations or maxPayloadSize, or when a whole turn of the
event loop queued nothing more (apply starts a batch of writes together, so they have all
queued by then). Several Bulk requests may be in flight at once: the transport's concurrency
bound applies to them as to any request.

Each operation's result goes back to its own future: a status of 2xx gives the id (a
create's), any other status becomes a `TargetError` with the server's sentence, for that
operation alone. Membership additions queued for the same group merge into one PATCH (at most
`max_values` members, as without Bulk); the writes merged share its fate. A change naming a
create by bulkId is never merged (one reference per operation: see ScimTarget).

A member may be a user created in the same batch: its value is then `bulkId:<id>` of the
create, which the server resolves (RFC 7644 §3.7.2); membership changes go last in their
request, after the creates they name. When the create went in an earlier request, the
member op waits for it and carries the real id (or drops a user whose create failed).

A request whose turn comes after the target refused to go on (TargetUnavailable: a refused
token, a target gone) is not sent: its writes fail with that refusal, as the sync stops. Nor
is one whose writes were all withdrawn (cancelled) while it waited.

A Bulk request the server refuses as a whole (`BulkRefused`: 501, 403, 413, an answer that is
no BulkResponse...) switches the batcher off for good: the operations of that request and all
later ones go as single requests (`Operation.single`), and `on_refused` gets the reason once.

This module does no I/O of its own and imports no HTTP client: `send` is the adapter's.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from gwsync.sync.ports import TargetError, TargetUnavailable

log = logging.getLogger(__name__)

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
HEAD = b'{"schemas":["' + BULK_REQUEST.encode() + b'"],"Operations":['
ENVELOPE_BYTES = 128
"""What the request's envelope (schemas, Operations, commas) adds to the operations' own size."""
REFERENCE = "bulkId:"


class BulkRefused(Exception):
    """The server refused a Bulk request as a whole; str() says how, for the write note."""


Send = Callable[[bytes, int, Callable[[], bool]], Awaitable[list[dict[str, Any]] | None]]
"""POST a BulkRequest (its JSON, how many operations it holds, and whether any of them is
still wanted, asked when the request's turn comes); the answer's Operations, or None when it
was not sent (none wanted any more). Raises BulkRefused, TargetError, TargetUnavailable."""
Judge = Callable[["Operation", dict[str, Any]], str | None]
"""One operation's result as the id it gives (None for no id); raises TargetError when it failed."""


@dataclass(eq=False)
class Operation:
    """One write: a Bulk operation, and the same write as a request of its own.

    `data` is the operation's body; for a membership change it is built when sent, from
    `members` (target ids, or the create operations of users made in the same batch).
    """

    method: str
    path: str
    doing: str
    single: Callable[[list[str]], Awaitable[str | None]]
    """The write as its own request(s), given the members' ids (empty for other writes)."""
    data: dict[str, Any] | None = None
    members: list[str | Operation] = field(default_factory=list)
    member_op: str = ""
    """"add" or "remove": `data` is then a PATCH of `members`, `merge` the group's key."""
    merge: tuple[str, str] | None = None
    bulk_id: str = ""
    result: asyncio.Future[str | None] = field(init=False)
    size: int = 0
    encoded: bytes = b""
    """The operation as JSON (UTF-8), made once when queued (membership changes: when sent)."""

    def __post_init__(self) -> None:
        self.result = asyncio.get_running_loop().create_future()

    def body(self, values: Sequence[str]) -> dict[str, Any]:
        """The Bulk operation, with member values as given (ids or bulkId references)."""
        operation: dict[str, Any] = {"method": self.method, "path": self.path, "bulkId": self.bulk_id}
        data = self.data if not self.member_op else member_patch(self.member_op, values)
        if data is not None:
            operation["data"] = data
        return operation


def member_patch(op: str, values: Sequence[str]) -> dict[str, Any]:
    """The PATCH of a group's members that `ScimTarget.add_members`/`remove_members` send."""
    if op == "add":
        operations = [{"op": "add", "path": "members", "value": [{"value": v} for v in values]}]
    else:
        # The value as a filter string literal (RFC 7644 §3.4.2.2: JSON string syntax, as wire.filter_string).
        operations = [{"op": "remove", "path": f"members[value eq {json.dumps(v)}]"} for v in values]
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations}


def member_size(value: str | Operation) -> int:
    """Bytes one member adds to its PATCH (a reference is `bulkId:` and a short id)."""
    shown = value if isinstance(value, str) else REFERENCE + value.bulk_id
    return len(shown) + 40


class Batcher:
    """Queues operations and sends them in Bulk requests (see the module docstring)."""

    def __init__(
        self,
        send: Send,
        judge: Judge,
        *,
        max_operations: int,
        max_payload: int,
        max_values: int,
        on_refused: Callable[[str], None],
    ) -> None:
        self.send, self.judge = send, judge
        self.max_operations = max_operations
        self.max_payload = max_payload
        self.max_values = max_values
        self.on_refused = on_refused
        self.refused: str | None = None
        self.requests = 0  # Bulk requests sent (answered or not)
        self.references = 0  # operations naming a create by bulkId in the queue (counted by the adapter)
        self._queue: list[Operation] = []
        self._queued_bytes = 0
        self._merging: dict[tuple[str, str], Operation] = {}
        self._flushing: asyncio.Handle | None = None
        self._fresh = False  # an operation was queued since the flush callback was scheduled
        self._sending: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._refusals = 0  # TargetUnavailable answers so far: requests made before one stay unsent
        self._refusal: TargetUnavailable | None = None

    @property
    def on(self) -> bool:
        return self.refused is None

    async def write(self, operation: Operation) -> str | None:
        """Queue `operation` (or send it alone once Bulk is off) and wait for its result."""
        if not self._encoded(operation):
            await alone(operation)  # Bulk is off, or the write is too large for any Bulk request
            return operation.result.result()
        self._enqueue(operation)
        return await asyncio.shield(operation.result)

    def queue(self, operation: Operation) -> asyncio.Future[str | None]:
        """Queue `operation` (or start it alone once Bulk is off) and return its result, to
        await later: many writes handed over at once cost no task each. Cancelling the result
        withdraws the operation if its request has not gone yet."""
        if self._encoded(operation):
            self._enqueue(operation)
        else:
            task = asyncio.ensure_future(alone(operation))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        return operation.result

    def _encoded(self, operation: Operation) -> bool:
        """Give `operation` its bulkId and JSON; False when it must go alone (Bulk is off, or
        it is too large for any Bulk request)."""
        operation.bulk_id = f"w{next(self._ids)}"
        operation.encoded = orjson.dumps(operation.body([]))
        if not operation.member_op:
            operation.data = None  # its JSON is what is sent; the objects need not wait with it
        operation.size = len(operation.encoded)
        if operation.members:
            operation.size += sum(member_size(m) for m in operation.members)
        return self.refused is None and operation.size + ENVELOPE_BYTES <= self.max_payload

    async def members(self, operation: Operation) -> str | None:
        """Queue a membership change, merged into a queued one of the same group and direction
        while that one has room; wait for the result of the PATCH that carries it."""
        key = operation.merge
        if self.refused is None and key is not None:
            merged = self._merging.get(key)
            grow = sum(member_size(m) for m in operation.members)
            fits = merged is not None and len(merged.members) + len(operation.members) <= self.max_values
            if merged is not None and fits and self._queued_bytes + grow + ENVELOPE_BYTES <= self.max_payload:
                merged.members.extend(operation.members)
                merged.size += grow
                self._queued_bytes += grow
                return await asyncio.shield(merged.result)
        return await self.write(operation)

    def _enqueue(self, operation: Operation) -> None:
        full = len(self._queue) >= self.max_operations
        if full or self._queued_bytes + operation.size + ENVELOPE_BYTES > self.max_payload:
            self._flush()
        self._queue.append(operation)
        self._queued_bytes += operation.size
        if operation.merge is not None:
            self._merging[operation.merge] = operation
        if len(self._queue) >= self.max_operations:
            self._flush()
        else:
            self._fresh = True
            if self._flushing is None:
                self._flushing = asyncio.get_running_loop().call_soon(self._settled)

    def _settled(self) -> None:
        """Flush once a whole turn of the event loop queued nothing: the writes apply started
        together (and the tasks they start, such as a create's team additions) are all in."""
        if self._fresh:
            self._fresh = False
            self._flushing = asyncio.get_running_loop().call_soon(self._settled)
        else:
            self._flush()

    def _flush(self) -> None:
        if self._flushing is not None:
            self._flushing.cancel()
            self._flushing = None
        batch, self._queue, self._queued_bytes, self.references = self._queue, [], 0, 0
        self._merging.clear()
        if batch:
            task = asyncio.ensure_future(self._send(batch, self._refusals))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[Operation], era: int) -> None:
        try:
            if self.refused is not None:  # refused while this batch waited: each goes alone
                await self._singly(batch)
                return
            here = set(batch)
            for op in batch:
                if op.members:
                    op.encoded = orjson.dumps(op.body(await self._values(op, here)))
            # Membership changes last: a server that runs operations in order (not all resolve
            # references out of order, RFC 7644 §3.7.2) has created whom they name by then.
            sendable = sorted((op for op in batch if not op.result.done()), key=lambda op: bool(op.members))
            if not sendable:
                return
            # The operations were encoded one by one (their size counted): the request is them joined.
            body = HEAD + b",".join(op.encoded for op in sendable) + b"]}"

            def wanted() -> bool:
                """Asked when the request's turn comes: not after the target refused to go on
                (an answer to another request), nor when every write was withdrawn (a stop)."""
                return self._refusals == era and not all(op.result.done() for op in sendable)

            self.requests += 1
            try:
                answers = await self.send(body, len(sendable), wanted)
            except BulkRefused as refused:
                if self.refused is None:
                    self.refused = str(refused)
                    self.on_refused(str(refused))
                await self._singly(sendable)
                return
            if answers is None:  # not sent
                self.requests -= 1
                if self._refusal is not None and self._refusals != era:
                    fail(batch, self._refusal)
                return
            self._settle(sendable, answers)
        except TargetUnavailable as exc:
            self._refusals += 1
            self._refusal = exc
            fail(batch, exc)
        except TargetError as exc:
            fail(batch, exc)
        except asyncio.CancelledError:
            fail(batch, TargetError("Not written: the sync stopped before the target answered."))
            raise
        except Exception as exc:  # a bug must fail the writes, not leave apply waiting
            log.exception("A SCIM Bulk request failed")
            fail(batch, exc)

    async def _values(self, operation: Operation, here: set[Operation]) -> list[str]:
        """The operation's member values: an id, `bulkId:` of a create in the same request,
        or the id a create in an earlier request gave (members whose create failed dropped;
        an operation left without members fails)."""
        values: list[str] = []
        for member in operation.members:
            if isinstance(member, str):
                values.append(member)
            elif member in here:
                values.append(REFERENCE + member.bulk_id)
            else:
                created = await wait_id(member)
                if created is not None:
                    values.append(created)
        if operation.members and not values:
            operation.result.set_exception(TargetError("Not written: none of its users could be created."))
        return values

    def _settle(self, batch: list[Operation], answers: list[dict[str, Any]]) -> None:
        """Each operation's result from the answer: at its position when the answer has as many
        operations as the request (servers keep the request's order) and that one carries no
        other bulkId (many echo it for POSTs only, as RFC 7644 requires), else by bulkId."""
        by_id = {str(a.get("bulkId")): a for a in answers if a.get("bulkId")}
        in_order = len(answers) == len(batch)
        for index, operation in enumerate(batch):
            if operation.result.done():  # withdrawn (cancelled) while its request was under way
                continue
            found = answers[index] if in_order else None
            if found is None or found.get("bulkId") not in (None, "", operation.bulk_id):
                found = by_id.get(operation.bulk_id)
            if found is None:
                operation.result.set_exception(
                    TargetError(
                        f"Target failed while {operation.doing}: its Bulk answer says nothing of "
                        "this operation; the next sync tries again."
                    )
                )
                continue
            try:
                operation.result.set_result(self.judge(operation, found))
            except (TargetError, TargetUnavailable) as exc:
                operation.result.set_exception(exc)

    async def _singly(self, batch: list[Operation]) -> None:
        """Each operation as its own request(s), together (the transport bounds how many)."""
        await asyncio.gather(*(alone(op) for op in batch if not op.result.done()))

    async def aclose(self) -> None:
        """Send what is queued and wait for every request under way."""
        self._flush()
        while self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)


async def alone(operation: Operation) -> None:
    """The operation as its own request(s); its result (or failure) goes to its future."""
    try:
        outcome = await operation.single(await resolved(operation.members))
    except Exception as exc:
        if not operation.result.done():
            operation.result.set_exception(exc)
            operation.result.exception()  # read by whoever waits on it, if anyone: no warning
    else:
        if not operation.result.done():
            operation.result.set_result(outcome)


async def wait_id(operation: Operation) -> str | None:
    """The id a create operation gave, or None when it failed."""
    try:
        return await asyncio.shield(operation.result)
    except asyncio.CancelledError:
        if operation.result.cancelled():  # withdrawn before it was sent: nothing was created
            return None
        raise
    except Exception:
        return None


async def resolved(members: Sequence[str | Operation]) -> list[str]:
    """Member ids, waiting for creates under way (a failed create's user left out)."""
    ids = [m if isinstance(m, str) else await wait_id(m) for m in members]
    return [i for i in ids if i is not None]


def fail(batch: Sequence[Operation], error: BaseException) -> None:
    for operation in batch:
        if not operation.result.done():
            operation.result.set_exception(error)
