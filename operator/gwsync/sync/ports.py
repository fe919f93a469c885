"""What the sync core needs from the outside world, as protocols adapters implement."""

from collections.abc import Sequence
from typing import Protocol

from gwsync.directory import Directory


class SourceUnavailable(Exception):
    """The source could not be read completely; nothing may be removed on a partial read."""


class Source(Protocol):
    """A people directory (Google Workspace)."""

    def read(self, groups: Sequence[str]) -> Directory:
        """Every user, plus the transitive user members of each of `groups` (emails).

        Raises SourceUnavailable when any part cannot be read after retries: never a
        partial result.
        """
        ...
