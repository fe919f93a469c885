"""Conditions follow the API conventions: the transition time moves only with the status."""

from datetime import UTC, datetime, timedelta

from gwsync.controller.conditions import find_condition, make_condition, merge_condition
from gwsync.controller.handlers import acknowledgement

T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)

unknown = make_condition("Ready", "Unknown", "AwaitingFirstSync", "waiting", now=T0, generation=1)
connected = make_condition("Connected", "True", "Connected", "ok", now=T0, generation=1)


def test_same_status_keeps_the_transition_time_but_takes_the_rest() -> None:
    newer = make_condition("Ready", "Unknown", "AwaitingFirstSync", "still waiting", now=T1, generation=2)
    [merged] = merge_condition([unknown], newer)
    assert (merged.last_transition_time, merged.message, merged.observed_generation) == (
        T0,
        "still waiting",
        2,
    )


def test_a_status_change_moves_the_transition_time() -> None:
    ready = make_condition("Ready", "True", "Synced", "synced", now=T1, generation=1)
    merged = merge_condition([connected, unknown], ready)
    assert [c.type for c in merged] == ["Connected", "Ready"]
    assert find_condition(merged, "Ready") == ready


def test_a_new_type_is_appended() -> None:
    assert merge_condition([unknown], connected) == [unknown, connected]


def test_acknowledgement_keeps_other_conditions_and_records_the_generation() -> None:
    status = {"conditions": [connected.to_wire()]}
    patch = acknowledgement(generation=3, status=status, now=T1)
    assert patch["observedGeneration"] == 3
    assert [c["type"] for c in patch["conditions"]] == ["Connected", "Ready"]
    assert patch["conditions"][1]["lastTransitionTime"] == "2026-11-25T07:00:00Z"
