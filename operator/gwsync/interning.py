"""One object per distinct value among the people of one read; imports nothing of ours.

A JSON decoder gives every occurrence of a value its own string (50+ bytes each): titles,
departments, first names and lastModified stamps repeat across thousands of users, and a
read holds them all until the plan is made. An `Interner` keeps the first string of each
value and hands it back for the next ones.

One is made per read (a Google read, a target's listing) and dropped with it: a process-wide
table would keep the values of every organization the operator ever read, and once full it
would stop sharing for good. The limit bounds what one read may hold: past it, values pass
through as they come (an organization of unique values does not grow a second copy of them).
"""

from __future__ import annotations

__all__ = ["Interner"]


class Interner:
    """The values of one read, each kept once, at most `limit` distinct ones."""

    __slots__ = ("limit", "values")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.values: dict[str, str] = {}

    def __call__(self, value: str | None) -> str | None:
        if value is None:
            return None
        found = self.values.get(value)
        if found is not None:
            return found
        if len(self.values) < self.limit:
            self.values[value] = value
        return value
