"""The order of user writes (DESIGN §3 rule 3): names freed before they are taken, managers
before their reports; and users found again by externalId. Pure.

- a userName is freed before it is taken (order_user_names): the deactivated user of a departed
  account holding it is renamed to `departed+<targetId>@<domain of the address>` (its work
  email keeps the address, so renaming it back restores it), renames in a chain go in order,
  and people swapping addresses pass through `gwsync-tmp+<googleId>@<domain>`;
- a manager created in this sync is created before its reports (order_managers), so its id goes
  in their creation, and a cycle of managers costs one request afterwards.
"""

from collections.abc import Iterable
from dataclasses import replace

from gwsync.api.report import Action, FieldChange, Result
from gwsync.directory import Directory
from gwsync.sync.ledger import Ledger
from gwsync.sync.ports import TargetUser
from gwsync.sync.steps import UserStep, departure_reason, user_item
from gwsync.text import address_key

REFOUND = (
    "Found by its externalId, not in the ledger (a sync stopped before saving it, or the ledger was "
    "lost): taken into the ledger, nothing written."
)


def refound_details(step: UserStep) -> str:
    return " ".join(part for part in (REFOUND, step.item.details) if part)


def refound(steps: list[UserStep], ledger: Ledger) -> list[UserStep]:
    """A user with nothing to write that the ledger does not pair with this target user (found
    by externalId: a sync interrupted before its checkpoint wrote it, or a lost ledger) is an
    Adopt, not Unchanged: the report shows that gwsync takes it (back) into the ledger
    (issue 24). Apply writes nothing for it (engine.writes_nothing)."""
    return [
        replace(
            step, item=step.item.model_copy(update={"action": Action.ADOPT, "details": refound_details(step)})
        )
        if step.item.action is Action.UNCHANGED
        and step.item.result is Result.PLANNED
        and step.target_id is not None
        and ledger.users.get(step.item.source_id or "") != step.target_id
        else step
        for step in steps
    ]


def written_name(step: UserStep) -> str | None:
    """The userName `step` writes, when it writes one."""
    if step.desired is None:
        return None
    if step.item.action is Action.CREATE or "userName" in step.fields:
        return step.desired.user_name
    return None


def domain_of(address: str) -> str:
    return address.rpartition("@")[2] or "invalid"


def moved_aside(user: TargetUser, gid: str, user_name: str, details: str) -> UserStep:
    """A Rename of `user` to a userName that no one wants, to free its current one."""
    change = FieldChange(field="userName", from_=user.user_name, to=user_name)
    item = user_item(user_name, gid, user.id, Action.RENAME, details, [change])
    desired = replace(user.attributes, user_name=user_name)
    return UserStep(item, desired, user.id, ("userName",), prepares=True)


def order_user_names(
    steps: list[UserStep], target_users: Iterable[TargetUser], departing: dict[str, str], directory: Directory
) -> list[UserStep]:
    """Free each userName before it is written (DESIGN §3 rule 3; issue 16 bug 4). Pure.

    The target refuses a userName in use (409), so a write whose address is held by another
    target user waits for it to move: if the holder is renamed in this sync, the write goes
    in a later wave than that rename (chains); a cycle of renames (a swap) is broken by first
    renaming its member with the smallest Google id to `gwsync-tmp+<googleId>@<domain>`; a
    holder that is a departing managed user (`departing`: target id -> Google id) is renamed
    first to `departed+<targetId>@<domain of its address>`, which frees the address and is
    reversible (its work email keeps the address). A holder gwsync does not manage is never
    touched: that write fails with the target's refusal, as before.
    Returns the steps, the moves-aside first, each with its wave and what it waits for.
    """
    written = {address_key(name) for step in steps if (name := written_name(step))}
    holders: dict[str, TargetUser] = {}  # each written userName's holder: the smallest target id
    if written:
        for user in target_users:
            key = address_key(user.attributes.user_name)
            if key in written and ((held := holders.get(key)) is None or user.id < held.id):
                holders[key] = user
    moving = {  # target id -> index of the step renaming it
        step.target_id: i for i, step in enumerate(steps) if step.target_id and written_name(step)
    }
    waits: dict[int, int] = {}  # step index -> index of the rename it waits for
    after: dict[int, str] = {}  # step index -> target id it waits for
    aside: list[UserStep] = []
    for i, step in enumerate(steps):
        name = written_name(step)
        holder = holders.get(address_key(name)) if name else None
        if name is None or holder is None or holder.id == step.target_id:
            continue
        if holder.id in moving:
            waits[i], after[i] = moving[holder.id], holder.id
        elif holder.id in departing:
            gid = departing[holder.id]
            freed = f"departed+{holder.id}@{domain_of(holder.user_name)}"
            status = "deactivated" if not holder.attributes.active else "removed in this sync"
            details = (
                f"{departure_reason(gid, directory)} and {status}: renamed from {holder.user_name} to "
                f"{freed} to free the address for {name} (its work email keeps {holder.user_name}; "
                "rename it back to restore it)."
            )
            aside.append(moved_aside(holder, gid, freed, details))
            after[i] = holder.id
    # Cycles (swaps): each step waits for at most one, so walk each path once.
    broken: set[int] = set()  # steps whose wait is served by a temporary rename instead
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for start in sorted(waits):  # a step that waits for none is on no cycle
        path: list[int] = []
        node: int | None = start
        while node is not None and node not in state:
            state[node] = 1
            path.append(node)
            node = waits.get(node)
        if node is not None and state[node] == 1:  # a cycle: path[path.index(node):]
            cycle = path[path.index(node) :]
            first = min(cycle, key=lambda k: steps[k].item.source_id or "")
            step = steps[first]
            assert step.target_id is not None and step.desired is not None
            current = next(u for u in target_users if u.id == step.target_id)
            temporary = f"gwsync-tmp+{step.item.source_id}@{domain_of(step.desired.user_name)}"
            details = (
                f"Renamed from {current.user_name} to the temporary {temporary} first, so that "
                f"{current.user_name} is free for the account renamed to it."
            )
            aside.append(moved_aside(current, step.item.source_id or "", temporary, details))
            broken.update(k for k in cycle if waits[k] == first)
            final = step.item.details.removesuffix(".") + f" (through {temporary})."
            steps[first] = replace(step, item=step.item.model_copy(update={"details": final}))
        for k in path:
            state[k] = 2
    waves: dict[int, int] = {}

    def wave(i: int) -> int:
        if i not in waves:
            waves[i] = 1 if i in broken or (i in after and i not in waits) else 0
            if i in waits and i not in broken:
                waves[i] = wave(waits[i]) + 1
        return waves[i]

    ordered = [
        replace(step, wave=wave(i), after=(after[i],) if i in after else ())
        if i in after or i in waits or i in broken or step.wave or step.after
        else step  # waits for nothing: wave 0, as it is (nearly every step)
        for i, step in enumerate(steps)
    ]
    return [*aside, *ordered]


def order_managers(steps: list[UserStep]) -> list[UserStep]:
    """Managers are created before their reports, so each id goes in the create body. Pure.

    A step whose manager is created in this sync (`step.manager`) runs in a later wave than that
    creation. Steps the userName order pins (a move aside, a wave above 0, a user another step
    waits for) keep their wave; apply sets their manager afterwards when it is not there yet. A
    cycle of managers is cut at the step that closes it: that one is written without its
    manager, which apply sets once the manager exists (the one request a cycle costs).
    """
    if all(step.manager is None for step in steps):
        return steps  # no manager is created in this sync: every wave stays
    creates = {
        step.item.source_id: i
        for i, step in enumerate(steps)
        if step.item.action is Action.CREATE and not step.prepares
    }
    awaited = {tid for step in steps for tid in step.after}
    pinned = {i for i, step in enumerate(steps) if step.prepares or step.wave or step.target_id in awaited}

    def manager_step(i: int) -> int | None:
        ref = steps[i].manager
        if i in pinned or ref is None or ref.source_id is None:
            return None
        return creates.get(ref.source_id)

    waves: dict[int, int] = {}
    for start in range(len(steps)):
        path: list[int] = []
        on_path: set[int] = set()
        node: int | None = start
        while node is not None and node not in waves:
            if node in on_path:  # a cycle: the last step of the path goes without its manager
                cut = path.pop()
                waves[cut] = steps[cut].wave
                break
            on_path.add(node)
            path.append(node)
            node = manager_step(node)
        for i in reversed(path):
            above = manager_step(i)
            waves[i] = max(steps[i].wave, waves[above] + 1) if above is not None else steps[i].wave
    return [replace(step, wave=waves[i]) if waves[i] != step.wave else step for i, step in enumerate(steps)]
