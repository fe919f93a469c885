"""The schedule is level-based: the next sync follows from the object and the clock only."""

from datetime import UTC, datetime, timedelta

from gwsync.api.provisioning import GoogleProvisioningSpec, GoogleProvisioningStatus, LastSync
from gwsync.api.report import Trigger
from gwsync.controller.schedule import next_sync, retry_delay
from tests.unit.api.samples import SPEC

T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def _spec(**changes: object) -> GoogleProvisioningSpec:
    return GoogleProvisioningSpec.model_validate({**SPEC, **changes})


def _status(
    phase: str | None = "Succeeded", failed: int = 0, request: str | None = None
) -> GoogleProvisioningStatus:
    last = (
        None
        if phase is None
        else LastSync(phase=phase, start_time=T0, completion_time=T0 + timedelta(minutes=2))
    )  # type: ignore[arg-type]
    return GoogleProvisioningStatus(last_sync=last, failed_attempts=failed, last_handled_sync_request=request)


def test_a_new_provisioning_syncs_at_once() -> None:
    nxt = next_sync(_spec(), _status(None), {}, T0)
    assert (nxt.trigger, nxt.due) == (Trigger.INITIAL, T0)


def test_the_next_scheduled_sync_is_one_interval_after_the_last_start() -> None:
    nxt = next_sync(_spec(), _status(), {}, T0 + timedelta(hours=1))
    assert (nxt.trigger, nxt.due) == (Trigger.SCHEDULED, T0 + timedelta(hours=24))
    assert not nxt.is_due(T0 + timedelta(hours=23, minutes=59))
    assert nxt.is_due(T0 + timedelta(hours=24))


def test_a_restart_mid_interval_computes_the_same_due_time() -> None:
    first = next_sync(_spec(), _status(), {}, T0 + timedelta(hours=3))
    after_restart = next_sync(_spec(), _status(), {}, T0 + timedelta(hours=7))
    assert first == after_restart


def test_a_requested_sync_runs_once_per_value() -> None:
    annotations = {"gwsync.io/sync-requested-at": "2026-11-25T07:00:00+00:00"}
    nxt = next_sync(_spec(), _status(), annotations, T0 + timedelta(hours=1))
    assert (nxt.trigger, nxt.request) == (Trigger.MANUAL, "2026-11-25T07:00:00+00:00")
    handled = _status(request="2026-11-25T07:00:00+00:00")
    assert next_sync(_spec(), handled, annotations, T0 + timedelta(hours=1)).trigger is Trigger.SCHEDULED


def test_an_approval_syncs_at_once_once_per_value() -> None:
    annotations = {"gwsync.io/approve-deprovisioning": "acme-20261125-070000"}
    now = T0 + timedelta(hours=1)
    nxt = next_sync(_spec(suspend=True), _status(), annotations, now)
    assert (nxt.trigger, nxt.due, nxt.request, nxt.approval) == (
        Trigger.MANUAL,
        now,
        None,
        "acme-20261125-070000",
    )
    handled = _status().model_copy(update={"last_handled_approval": "acme-20261125-070000"})
    assert next_sync(_spec(), handled, annotations, now).trigger is Trigger.SCHEDULED


def test_suspend_stops_scheduled_syncs_but_not_requested_ones() -> None:
    suspended = _spec(suspend=True)
    assert next_sync(suspended, _status(), {}, T0 + timedelta(days=3)).due is None
    assert next_sync(suspended, _status(None), {}, T0).due is None
    annotations = {"gwsync.io/sync-requested-at": "now"}
    assert next_sync(suspended, _status(), annotations, T0).trigger is Trigger.MANUAL


def test_a_failed_sync_is_retried_with_doubling_back_off_below_the_interval() -> None:
    assert [retry_delay(n, timedelta(hours=24)) for n in (1, 2, 3)] == [
        timedelta(minutes=5),
        timedelta(minutes=10),
        timedelta(minutes=20),
    ]
    assert retry_delay(30, timedelta(hours=24)) == timedelta(hours=12)
    nxt = next_sync(_spec(), _status("Failed", failed=2), {}, T0)
    assert (nxt.trigger, nxt.due) == (Trigger.RETRY, T0 + timedelta(minutes=12))


def test_an_interrupted_sync_is_retried() -> None:
    nxt = next_sync(_spec(), _status("Interrupted", failed=1), {}, T0)
    assert nxt.trigger is Trigger.RETRY
