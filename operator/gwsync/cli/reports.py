"""Reading SyncReports: filters, the item table, and CSV export.

Pure functions over report items, so `report show` and `report export` filter the same way
and the CSV can be tested without a cluster.
"""

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

from rich.table import Table
from rich.text import Text

from gwsync.api.report import ACTIVE_PHASES, Action, ItemType, ReportItem, Result, SyncReport
from gwsync.cli.output import plain, printable

CSV_COLUMNS = (
    "type",
    "key",
    "action",
    "result",
    "dataChanged",
    "changes",
    "details",
    "sourceId",
    "targetId",
)


class ReportNotReady(Exception):
    """A report whose sync has not completed cannot be viewed or exported yet."""


def ensure_complete(report: SyncReport) -> None:
    """Refuse a Pending/Running report, as the seed says, with the exact sentence users see."""
    if report.status.phase in ACTIVE_PHASES:
        name = report.metadata.get("name", "?")
        raise ReportNotReady(
            f"Report {name} is still running; it can be viewed and exported once the sync completes."
        )


@dataclass(frozen=True)
class ItemFilter:
    """What `--result`, `--action`, `--type`, `--changed` and `--search` select."""

    results: frozenset[Result] = frozenset()
    actions: frozenset[Action] = frozenset()
    types: frozenset[ItemType] = frozenset()
    changed: bool | None = None
    search: str = ""

    def matches(self, item: ReportItem) -> bool:
        if self.results and item.result not in self.results:
            return False
        if self.actions and item.action not in self.actions:
            return False
        if self.types and item.type not in self.types:
            return False
        if self.changed is not None and item.data_changed != self.changed:
            return False
        if self.search:
            needle = self.search.casefold()
            haystack = " ".join(filter(None, (item.key, item.details, item.source_id, item.target_id)))
            if needle not in haystack.casefold():
                return False
        return True

    def apply(self, items: Iterable[ReportItem]) -> Iterator[ReportItem]:
        return (item for item in items if self.matches(item))


def describe_changes(item: ReportItem) -> str:
    return "; ".join(f"{c.field}: {c.from_ or ''} -> {c.to or ''}" for c in item.changes)


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...),
# =cmd|' /C calc'!A0, @SUM(...)); tab and CR are on OWASP's list because some strip them first.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """A cell as exported: formulas neutralised with a leading ' (OWASP), controls made visible.

    Keys, names and target messages come from Google and the target, so a cell may be hostile.
    The quote is what spreadsheets themselves use to mark text; escape sequences are shown as
    \\x1b because `report export` writes to the terminal when no file is given.
    """
    cell = printable(value, multiline=True)
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def write_csv(items: Iterable[ReportItem], stream: TextIO) -> int:
    """Write a header row and one row per item (RFC 4180 quoting); return the row count."""
    writer = csv.writer(stream, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for item in items:
        writer.writerow(
            csv_cell(cell)
            for cell in (
                item.type.value,
                item.key,
                item.action.value,
                item.result.value,
                "true" if item.data_changed else "false",
                describe_changes(item),
                item.details,
                item.source_id or "",
                item.target_id or "",
            )
        )
        count += 1
    return count


RESULT_STYLES = {
    Result.SUCCEEDED: "green",
    Result.FAILED: "bold red",
    Result.SKIPPED: "yellow",
    Result.PLANNED: "cyan",
}


def item_table(items: Iterable[ReportItem], title: str = "Items", limit: int = 500) -> Table:
    """A rich table of items (the first `limit`; the caption says when more were left out)."""
    table = Table(title=title, show_lines=False, expand=True)
    # Short words never wrap; the key (an email) and the details share the rest, 3 to 2.
    table.add_column("Type", no_wrap=True)
    table.add_column("Key", ratio=3, overflow="fold")
    table.add_column("Action", no_wrap=True)
    table.add_column("Result", no_wrap=True)
    table.add_column("Changed", no_wrap=True)
    table.add_column("Details", ratio=2, overflow="fold")
    shown = total = 0
    for item in items:
        total += 1
        if shown >= limit:
            continue
        shown += 1
        style = RESULT_STYLES.get(item.result, "")
        details = item.details or describe_changes(item)
        table.add_row(  # Text, not markup: keys and target messages may hold [brackets]
            item.type.value,
            plain(item.key),
            item.action.value,
            Text(item.result.value, style=style),
            "yes" if item.data_changed else "",
            plain(details, multiline=True),
        )
    if total > shown:
        table.caption = f"{total - shown} more item(s) not shown; use filters or `report export`."
    return table
