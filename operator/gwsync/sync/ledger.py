"""The ledger: which target users and teams gwsync manages (DESIGN §3 rule 3).

externalId alone is not enough to know what we own: a provider may drop or rewrite it, and
a user adopted by userName had none. The ledger maps Google ids to target ids, and team
names to target group ids. The engine returns an updated copy; persisting it (ConfigMap in
the cluster, --state FILE outside) is the caller's job.
"""

import json
from dataclasses import dataclass, field
from typing import Any

FORMAT_VERSION = 1


class LedgerError(ValueError):
    """A stored ledger cannot be read."""


@dataclass
class Ledger:
    """Google user id -> target user id, and team name -> target group id."""

    users: dict[str, str] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> "Ledger":
        return cls()

    def copy(self) -> "Ledger":
        return Ledger(dict(self.users), dict(self.teams))

    def to_json(self) -> bytes:
        document = {"version": FORMAT_VERSION, "users": self.users, "teams": self.teams}
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
        return cls({str(k): str(v) for k, v in users.items()}, {str(k): str(v) for k, v in teams.items()})
