"""The removal brake (DESIGN §3 rule 5): too many departures at once are held, not applied.

A broken group mapping or a half-migrated Google org looks exactly like a mass departure.
When the removals not yet approved exceed maxCount, or maxPercent of the managed users, they
are all held: the report is Blocked, creates and updates still apply, and the details say
how to approve. An approval names a Blocked report; its held Google ids pass the next time.
"""

from collections.abc import Collection
from dataclasses import dataclass, field, replace

from gwsync.api.provisioning import Deprovision
from gwsync.api.report import Action, Result
from gwsync.sync.steps import MemberStep, Plan, UserStep
from gwsync.sync.summary import HELD, counted

DEFAULT_APPROVE_HINT = "kubectl annotate gprov/<name> gwsync.io/approve-deprovisioning=<report> --overwrite"
REMOVALS = frozenset({Action.DEPROVISION, Action.DELETE})


@dataclass(frozen=True)
class Verdict:
    """Why removals are held (None when they are not), and which Google ids."""

    reason: str | None = None
    held: list[str] = field(default_factory=list)


def hold_reason(count: int, managed: int, limits: Deprovision) -> str | None:
    removals, exceed = ("1 removal", "exceeds") if count == 1 else (f"{count} removals", "exceed")
    if count > limits.max_count:
        return f"{removals} {exceed} maxCount {limits.max_count}"
    if managed and count * 100 > limits.max_percent * managed:
        share = count * 100 / managed
        of = f"{share:.0f}% of {counted(managed, 'managed user', 'managed users')}"
        return f"{removals} ({of}) {exceed} maxPercent {limits.max_percent}"
    return None


def guard_removals(
    plan: Plan,
    limits: Deprovision,
    approved: Collection[str] = (),
    approve_hint: str = DEFAULT_APPROVE_HINT,
) -> Verdict:
    """Mark held removals (and their team removals) Skipped in `plan`; return the verdict."""
    approved_ids = set(approved)
    pending = [s for s in plan.removals if s.item.action in REMOVALS and s.item.source_id not in approved_ids]
    # People leaving, not target users: a duplicate leaves with its person (plan.managed_users).
    reason = hold_reason(len({s.item.source_id for s in pending}), len(plan.managed), limits)
    if reason is None:
        return Verdict()
    details = f"{HELD}: {reason}; approve with {approve_hint}"
    held = {s.item.source_id for s in pending if s.item.source_id}
    plan.removals = [held_step(s, details) if s.item.source_id in held else s for s in plan.removals]
    plan.members = [held_member(m) if not m.add and m.source_id in held else m for m in plan.members]
    # A held user keeps its userName: the rename that would free it for someone else waits too.
    plan.users = [held_aside(s) if s.prepares and s.item.source_id in held else s for s in plan.users]
    return Verdict(reason, sorted(held))


def held_aside(step: UserStep) -> UserStep:
    details = "Not applied: held with the removal of this user."
    return replace(step, item=step.item.model_copy(update={"result": Result.SKIPPED, "details": details}))


def held_step(step: UserStep, details: str) -> UserStep:
    return replace(step, item=step.item.model_copy(update={"result": Result.SKIPPED, "details": details}))


def held_member(step: MemberStep) -> MemberStep:
    details = f"{HELD} with the removal of this user."
    return replace(step, item=step.item.model_copy(update={"result": Result.SKIPPED, "details": details}))
