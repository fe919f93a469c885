"""What a sync says of a ledger gone while the status records one (controller/ledger_trust.py)."""

from gwsync.controller.ledger_trust import ledger_trust


def test_a_ledger_gone_while_the_status_records_one_is_named_missing() -> None:
    trust = ledger_trust(None, "team-a", "acme", "gwsync", recorded=4)

    message = (
        "The ledger of GoogleProvisioning team-a/acme is missing: its status records generation 4, and "
        "no ConfigMap holds a complete generation (they were deleted outside gwsync), so this sync "
        "started without one: users were matched by externalId only and teams by name."
    )
    assert (trust.condition, trust.rejected) == (("False", "LedgerMissing", message), message)
    assert trust.ledger.users == {} and trust.ledger.teams == {}


def test_no_ledger_before_the_first_save_is_no_warning() -> None:
    trust = ledger_trust(None, "team-a", "acme", "gwsync")

    assert (trust.condition, trust.rejected) == (("True", "NoLedger", "No ledger was saved yet."), None)
