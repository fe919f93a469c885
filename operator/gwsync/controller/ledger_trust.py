"""Which ledger a sync may use (issue 23, DESIGN §3 rule 3), and what it says when it ignores one.

A ledger generation whose signature does not verify is not used at all: the sync runs as if
there were none, so users are managed by externalId alone (rule 3's safe failure: a departed
user stays, nothing gwsync did not write is touched) and mapped teams find their groups by
name. The sync then saves a signed ledger in its place. ``LedgerVerified`` says what the last
sync found, and a ``LedgerRejected`` Warning Event records each ledger ignored, in one
sentence naming the GoogleProvisioning and its ConfigMaps. A ledger with no signature at all
is what a gwsync from before signing (or a person) wrote; its message says so, more gently
than the one of a ledger whose signature does not match.

A signed generation older than the one the GoogleProvisioning's status records as saved last
(``status.ledger.generation``, which tenants may not write) is an older copy put back in place
of the newest, and is ignored the same way; a ledger gone altogether while the status records
one was deleted outside gwsync, and the sync says so.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from gwsync.api import constants as c
from gwsync.kube.ledger import StoredLedger
from gwsync.kube.ledger_key import LEDGER_KEY_SECRET
from gwsync.sync.ledger import Ledger, Verdict

IGNORED = (
    "so this sync ignored it: users were matched by externalId only and teams by name, and the next "
    "ledger saved is signed."
)


@dataclass(frozen=True)
class LedgerTrust:
    """The ledger a sync starts from, the LedgerVerified condition, and the Event when ignored."""

    ledger: Ledger
    condition: tuple[str, str, str]  # status, reason, message
    rejected: str | None = None  # the LedgerRejected Event's message


def config_map_names(names: Sequence[str]) -> str:
    return f"ConfigMap {names[0]}" if len(names) == 1 else "ConfigMaps " + ", ".join(names)


def ledger_trust(
    stored: StoredLedger | None, namespace: str, name: str, key_namespace: str, recorded: int = 0
) -> LedgerTrust:
    """What the sync of GoogleProvisioning `namespace`/`name` takes from its stored ledger;
    `recorded`: the generation its status records as saved last (0: none)."""
    if stored is None and recorded:
        message = (
            f"The ledger of GoogleProvisioning {namespace}/{name} is missing: its status records "
            f"generation {recorded}, and no ConfigMap holds a complete generation (they were deleted "
            "outside gwsync), so this sync started without one: users were matched by externalId only "
            "and teams by name."
        )
        return LedgerTrust(Ledger.empty(), ("False", c.LEDGER_MISSING, message), message)
    if stored is None:
        return LedgerTrust(Ledger.empty(), ("True", "NoLedger", "No ledger was saved yet."))
    if stored.verdict is Verdict.SIGNED:
        verified = ("True", "Verified", "The ledger carries the operator's signature.")
        return LedgerTrust(Ledger.from_json(stored.data), verified)
    where = f"The ledger of GoogleProvisioning {namespace}/{name} ({config_map_names(stored.config_maps)})"
    if stored.verdict is Verdict.ROLLED_BACK:
        reason = c.LEDGER_ROLLED_BACK
        message = (
            f"{where} is generation {stored.generation}, older than generation {recorded} that its "
            f"status records as saved last (an older copy was put back in place of the newest), {IGNORED}"
        )
    elif stored.verdict is Verdict.UNSIGNED:
        reason = c.LEDGER_UNSIGNED
        message = (
            f"{where} is not signed (a gwsync from before ledger signing, or a person, wrote it), {IGNORED}"
        )
    else:
        reason = c.LEDGER_SIGNATURE_MISMATCH
        message = (
            f"{where} does not match its signature (it was changed or copied outside gwsync, or the key "
            f"in Secret {key_namespace}/{LEDGER_KEY_SECRET} was replaced), {IGNORED}"
        )
    return LedgerTrust(Ledger.empty(), ("False", reason, message), message)
