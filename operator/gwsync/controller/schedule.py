"""When the next sync is due, derived from status alone.

Kopf timers fire again on every operator restart, so the schedule cannot live in a timer:
a short timer asks `next_sync` whether a sync is due *now*, and the answer depends only on
the object (spec, status, annotations) and the clock. A restart therefore neither repeats a
sync nor skips one.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from gwsync.api import constants as c
from gwsync.api.provisioning import GoogleProvisioningSpec, GoogleProvisioningStatus
from gwsync.api.report import Trigger

RETRY_BASE = timedelta(minutes=5)
RETRY_PHASES = frozenset({"Failed", "Interrupted"})


@dataclass(frozen=True)
class NextSync:
    """The next sync: what triggers it and when it is due (None: not scheduled at all)."""

    trigger: Trigger
    due: datetime | None
    request: str | None = None  # the sync-requested-at value a Manual sync answers
    approval: str | None = None  # the approve-deprovisioning value a Manual sync answers

    def is_due(self, now: datetime) -> bool:
        return self.due is not None and now >= self.due


def retry_delay(failed_attempts: int, interval: timedelta, base: timedelta = RETRY_BASE) -> timedelta:
    """5 min, 10 min, 20 min, ... doubling (from `base`), capped at half the interval (so below it)."""
    exponent = max(failed_attempts - 1, 0)
    delay = base * (2 ** min(exponent, 20))
    cap: timedelta = interval / 2
    return delay if delay < cap else cap


def pending_request(annotations: dict[str, str], status: GoogleProvisioningStatus) -> str | None:
    """The sync-requested-at value not handled yet, if any (each distinct value syncs once)."""
    value = annotations.get(c.SYNC_REQUESTED_AT)
    if value and value != status.last_handled_sync_request:
        return value
    return None


def pending_approval(annotations: dict[str, str], status: GoogleProvisioningStatus) -> str | None:
    """The approve-deprovisioning value not handled yet, if any: approving a Blocked report's
    removals syncs at once (each distinct value once), so they are applied without a second
    command."""
    value = annotations.get(c.APPROVE_DEPROVISIONING)
    if value and value != status.last_handled_approval:
        return value
    return None


def next_sync(
    spec: GoogleProvisioningSpec,
    status: GoogleProvisioningStatus,
    annotations: dict[str, str],
    now: datetime,
    retry_base: timedelta = RETRY_BASE,
) -> NextSync:
    """Which sync comes next and when, from the object alone (and the first retry delay)."""
    request = pending_request(annotations, status)
    approval = pending_approval(annotations, status)
    if request is not None or approval is not None:
        return NextSync(Trigger.MANUAL, now, request, approval)
    last = status.last_sync
    never_synced = last is None or last.start_time is None
    if spec.suspend:  # no automatic syncs at all, the initial one included
        return NextSync(Trigger.INITIAL if never_synced else Trigger.SCHEDULED, None)
    if last is None or last.start_time is None:
        return NextSync(Trigger.INITIAL, now)
    interval = spec.schedule.every
    if last.phase in RETRY_PHASES:
        ended = last.completion_time or last.start_time
        retry_at = ended + retry_delay(max(status.failed_attempts, 1), interval, retry_base)
        scheduled_at = last.start_time + interval
        if retry_at < scheduled_at:
            return NextSync(Trigger.RETRY, retry_at)
    return NextSync(Trigger.SCHEDULED, last.start_time + interval)
