"""The ledger: which target users and teams gwsync manages (DESIGN §3 rule 3).

externalId alone is not enough to know what we own: a provider may drop or rewrite it, and
a user adopted by userName had none. The ledger maps Google ids to target ids, and team
names to target group ids. The engine returns an updated copy; persisting it (ConfigMap in
the cluster, --state FILE outside) is the caller's job.

It also holds the removals waiting for spec.deprovision.gracePeriod (`pending`: Google id ->
when the user was first seen absent, ISO 8601 UTC), so they survive restarts. The key is
optional and written only when there is one: a ledger without it (any older one) loads, and
an older gwsync reading a newer ledger ignores it (the grace periods would start again).
So is `team_sources` (team name -> the Google group id gwsync wrote as its group's externalId):
what was sent once is not sent again, so a target that drops or refuses externalId on groups
gets it once, not at every sync; an older gwsync ignores it (the next newer sync writes once).

The ledger is not proof of ownership by itself (issue 23): whoever may write the ConfigMaps
or the state file could point a Google id at any target user. So each stored ledger is
signed (`signature`: HMAC-SHA256 over who owns it, its generation and its bytes), and one that
does not verify is not used; a `Ledger` whose origin is unknown (`verified=False`) is acted
on only where the target confirms it (plan.trusted_entries).
"""

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

FORMAT_VERSION = 1
SIGNATURE_KEY = "signature"
"""The state file's signature, beside the ledger it signs (older gwsync versions ignore it)."""
SIGNATURE_PREFIX = "hmac-sha256:"
TARGET_KEY = "target"
"""The target a state file belongs to (normalized SCIM URL and accountId), so that one target's
ledger is never applied to another (issue 24)."""
STATE_FILE_OWNER = "gwsync sync --state"
"""Who owns a state file, in its signature: one token signs one target's state files."""


class Verdict(StrEnum):
    """What checking a stored ledger's signature found."""

    SIGNED = "Signed"  # the signature is this key's, for this owner and generation
    UNSIGNED = "Unsigned"  # no signature: an older gwsync, or a person, wrote it
    MISMATCH = "SignatureMismatch"  # changed, copied from another owner, or another key signed it
    ROLLED_BACK = "RolledBack"  # signed, but older than the generation its owner's status records


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
    verified: bool = True
    """False for a ledger whose origin is unknown: its user entries count only where the target
    user carries the entry's Google id as externalId, its teams and pending removals not at all
    (plan.trusted_entries). A ledger this process builds, or whose signature checked out, is
    verified."""
    team_sources: dict[str, str] = field(default_factory=dict)
    """Team name -> the Google group id last written as its group's externalId (kept or not
    by the target): a team whose group lacks it is written once, then not again."""

    @classmethod
    def empty(cls) -> "Ledger":
        return cls()

    def copy(self) -> "Ledger":
        return Ledger(
            dict(self.users), dict(self.teams), dict(self.pending), self.verified, dict(self.team_sources)
        )

    def to_json(self, signature: str | None = None) -> bytes:
        """The stored form (sorted keys, no spaces: the same ledger is always the same bytes);
        with `signature`, the state file's form, which holds it."""
        document: dict[str, Any] = {"version": FORMAT_VERSION, "users": self.users, "teams": self.teams}
        if self.pending:
            document["pending"] = self.pending
        if self.team_sources:
            document["teamSources"] = self.team_sources
        if signature is not None:
            document[SIGNATURE_KEY] = signature
        return canonical(document)

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
        sources = document.get("teamSources", {})
        if not isinstance(sources, dict):
            raise LedgerError("The ledger's teamSources must be a JSON object of ids.")
        return cls(
            {str(k): str(v) for k, v in users.items()},
            {str(k): str(v) for k, v in teams.items()},
            {str(k): str(v) for k, v in pending.items()},
            team_sources={str(k): str(v) for k, v in sources.items()},
        )


def is_time(value: object) -> bool:
    """An ISO 8601 time with its offset, as `pending` stores them."""
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def sign(key: bytes, owner: str, generation: int, data: bytes) -> str:
    """The signature of ledger bytes `data`, saved as `generation` for `owner` (the
    GoogleProvisioning's uid): neither can be copied to another owner nor relabelled."""
    message = b"\0".join([b"gwsync ledger v1", owner.encode(), str(generation).encode(), data])
    return SIGNATURE_PREFIX + hmac.new(key, message, hashlib.sha256).hexdigest()


def check(key: bytes, owner: str, generation: int, data: bytes, signature: str | None) -> Verdict:
    if not signature:
        return Verdict.UNSIGNED
    expected = sign(key, owner, generation, data)
    return Verdict.SIGNED if hmac.compare_digest(expected, signature) else Verdict.MISMATCH


def state_file_key(token: str) -> bytes:
    """The key of `gwsync sync --state` files, derived from the SCIM bearer token: the CLI has no
    Secret of its own, and whoever holds the token can change the target anyway. A new token
    makes older files unverified, which is the safe failure (matching by externalId)."""
    return hmac.new(token.encode(), b"gwsync ledger v1", hashlib.sha256).digest()


def signed_state(ledger: Ledger, key: bytes, target: dict[str, str] | None = None) -> bytes:
    """The state file's bytes: the ledger, the target it belongs to (`state_target`) and the
    signature over both."""
    document = json.loads(ledger.to_json())
    if target is not None:
        document[TARGET_KEY] = target
    return canonical({**document, SIGNATURE_KEY: sign(key, STATE_FILE_OWNER, 0, canonical(document))})


def state_target(raw: bytes | str) -> dict[str, str] | None:
    """The target a state file says it belongs to ({"url": normalized URL, "accountId": ...}),
    signed or not; None when it names none (an older gwsync wrote it) or is no JSON object."""
    try:
        document = json.loads(raw)
    except ValueError:
        return None
    target = document.get(TARGET_KEY) if isinstance(document, dict) else None
    if not isinstance(target, dict):
        return None
    return {str(k): str(v) for k, v in target.items()}


def read_state(raw: bytes | str, key: bytes) -> tuple[Ledger, Verdict]:
    """A state file's ledger and what its signature says; LedgerError when it is no ledger.

    The signature is checked against the ledger written back in its stored form, so a file
    saved by gwsync verifies whatever its key order or spacing.
    """
    ledger = Ledger.from_json(raw)
    document = json.loads(raw)
    signature = document.get(SIGNATURE_KEY)
    unsigned = canonical({k: v for k, v in document.items() if k != SIGNATURE_KEY})
    return ledger, check(key, STATE_FILE_OWNER, 0, unsigned, None if signature is None else str(signature))
