"""Whose sync lock stands: mine, a live holder's, or a lapsed one."""

from datetime import UTC, datetime, timedelta

from gwsync.controller.locking import LEASE, held_by_another

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def status(holder: str, renewed: datetime) -> dict[str, object]:
    return {"syncLock": {"holder": holder, "renewTime": renewed.isoformat()}}


def test_no_lock_and_my_lock_hold_nobody_else() -> None:
    assert held_by_another({}, "me", NOW) is None
    assert held_by_another(None, "me", NOW) is None
    assert held_by_another(status("me", NOW), "me", NOW) is None


def test_a_renewed_lock_of_another_process_holds() -> None:
    assert held_by_another(status("pod-b-1234", NOW - LEASE / 2), "me", NOW) == "pod-b-1234"


def test_a_lock_its_holder_stopped_renewing_lapses() -> None:
    assert held_by_another(status("dead", NOW - LEASE), "me", NOW) is None
    assert held_by_another(status("dead", NOW - timedelta(hours=1)), "me", NOW) is None
