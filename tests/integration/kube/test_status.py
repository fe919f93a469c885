"""Status writes go through the status subresource and survive concurrent writers (409)."""

from __future__ import annotations

from typing import Any

import pytest

from gwsync.kube.client import PROVISIONINGS, Kube
from gwsync.kube.status import StatusConflict, merge_status, patch_status
from gwsync.testing.kube import PROVISIONINGS as PROVISIONINGS_PATH
from gwsync.testing.kube import KubeEmulator


def test_a_status_write_changes_only_the_status(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    written = merge_status(kube, PROVISIONINGS, "default", "acme", {"nextSyncTime": "2025-03-15T09:00:00Z"})

    stored = emulator.read(PROVISIONINGS_PATH, "default", "acme")
    assert stored is not None and stored["status"]["nextSyncTime"] == "2025-03-15T09:00:00Z"
    assert stored["spec"] == acme["spec"] and stored["metadata"]["generation"] == 1
    assert written["status"] == stored["status"]


def test_a_concurrent_write_is_kept_and_the_change_recomputed_on_a_fresh_read(
    kube: Kube, emulator: KubeEmulator, acme: dict[str, Any]
) -> None:
    merge_status(kube, PROVISIONINGS, "default", "acme", {"failedAttempts": 1})
    seen: list[int] = []

    def one_more_failure(current: dict[str, Any]) -> dict[str, Any]:
        attempts = current["status"]["failedAttempts"]
        seen.append(attempts)
        if len(seen) == 1:  # another writer gets in between this read and our write
            merge_status(kube, PROVISIONINGS, "default", "acme", {"failedAttempts": attempts + 1})
        return {"failedAttempts": attempts + 1}

    written = patch_status(kube, PROVISIONINGS, "default", "acme", one_more_failure)

    assert seen == [1, 2]  # the first write met 409 Conflict; the retry read the other write
    assert written["status"]["failedAttempts"] == 3


def test_a_status_that_never_settles_gives_up_with_a_clear_error(kube: Kube, acme: dict[str, Any]) -> None:
    def always_overtaken(current: dict[str, Any]) -> dict[str, Any]:
        merge_status(
            kube,
            PROVISIONINGS,
            "default",
            "acme",
            {"lastHandledSyncRequest": current["metadata"]["resourceVersion"]},
        )
        return {"failedAttempts": 1}

    with pytest.raises(StatusConflict) as error:
        patch_status(kube, PROVISIONINGS, "default", "acme", always_overtaken, attempts=3)
    assert str(error.value) == (
        "GoogleProvisioning default/acme: the status changed 3 times while being updated; "
        "another writer is busy with it, the update will be retried"
    )


def test_no_change_writes_nothing(kube: Kube, acme: dict[str, Any]) -> None:
    current = patch_status(kube, PROVISIONINGS, "default", "acme", lambda _current: None)
    assert current["metadata"]["resourceVersion"] == acme["metadata"]["resourceVersion"]
