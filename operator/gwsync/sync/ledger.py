"""The ledger: which target users and teams gwsync manages (DESIGN §3 rule 3).

externalId alone is not enough to know what we own: a provider may drop or rewrite it, and
a user adopted by userName had none. The ledger maps Google ids to target ids, and team
names to target group ids. The engine returns an updated copy; persisting it (ConfigMap in
the cluster, --state FILE outside) is the caller's job.

It also holds the removals waiting for spec.deprovision.gracePeriod (`pending`: Google id ->
when the user was first seen absent, ISO 8601 UTC), so they survive restarts. The key is
optional and written only when there is one: a ledger without it (any older one) loads, and
an older gwsync reading a newer ledger ignores it (the grace periods would start again).
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FORMAT_VERSION = 1


class LedgerError(ValueError):
    """A stored ledger cannot be read."""


@dataclass
class Ledger:
    """Google user id -> target user id, team name -> target group id, and held removals."""

    users: dict[str, str] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    """Google id -> when the managed user was first seen absent (ISO 8601, UTC), while its
    removal waits for the grace period (plan.plan_users)."""

    @classmethod
    def empty(cls) -> "Ledger":
        return cls()

    def copy(self) -> "Ledger":
        return Ledger(dict(self.users), dict(self.teams), dict(self.pending))

    def to_json(self) -> bytes:
        document: dict[str, Any] = {"version": FORMAT_VERSION, "users": self.users, "teams": self.teams}
        if self.pending:
            document["pending"] = self.pending
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> "Ledger":
        try:
            document: Any = json.loads(raw)
        except ValueError as exc:
            raise LedgerError(
                f"The ledger is not valid JSON ({exc}); restore it or delete it to re-adopt."
            ) from exc
        if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
            raise LedgerError(
                f"The ledger has an unknown format (expected version {FORMAT_VERSION}); "
                "restore it or delete it to re-adopt users by externalId."
            )
        users, teams = document.get("users", {}), document.get("teams", {})
        if not all(isinstance(m, dict) for m in (users, teams)):
            raise LedgerError("The ledger's users and teams must be JSON objects of ids.")
        pending = document.get("pending", {})
        if not isinstance(pending, dict) or not all(is_time(v) for v in pending.values()):
            raise LedgerError(
                "The ledger's pending removals must map Google ids to ISO 8601 times; "
                "delete the pending key to start the grace periods again."
            )
        return cls(
            {str(k): str(v) for k, v in users.items()},
            {str(k): str(v) for k, v in teams.items()},
            {str(k): str(v) for k, v in pending.items()},
        )


def is_time(value: object) -> bool:
    """An ISO 8601 time with its offset, as `pending` stores them."""
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False
