"""Reading SyncReports: filters, the item table, and CSV export.

Pure functions over report items, so `report show` and `report export` filter the same way
and the CSV can be tested without a cluster.
"""

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from gwsync.api.report import ACTIVE_PHASES, Action, ItemType, ReportItem, Result, SyncReport
from gwsync.cli.output import plain, printable
from gwsync.cli.text import counted
from gwsync.text import visible_json

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


def write_jsonl(items: Iterable[ReportItem], stream: TextIO) -> int:
    """One JSON object per item and line, camelCase as in the report's status; return the count.

    To a terminal, every control, format and separator character (U+202E, U+2028, C1...) is
    written as its JSON escape, so the terminal shows it instead of acting on it; the lines
    stay the same JSON. To a file or a pipe the JSON is written as it is.
    """
    terminal = stream.isatty()
    count = 0
    for item in items:
        line = item.to_json()
        stream.write(visible_json(line) if terminal else line)
        stream.write("\n")
        count += 1
    return count


RESULT_STYLES = {
    Result.SUCCEEDED: "green",
    Result.FAILED: "bold red",
    Result.SKIPPED: "yellow",
    Result.PLANNED: "cyan",
}


# Borders and padding of a six-column table: seven rules and one space each side of a cell.
_TABLE_FRAME = 7 + 6 * 2
_HEADERS = ("Type", "Key", "Action", "Result", "Changed", "Details")


@dataclass(frozen=True)
class _Row:
    type: str
    key: Text
    action: str
    result: Text
    changed: bool
    details: Text


def _longest_word(text: Text) -> int:
    return max((cell_len(word) for word in text.plain.split()), default=0)


class ItemTable:
    """Report items as a table, or stacked when the terminal is too narrow for whole keys.

    Keys and details are emails and names: they are never cut across lines. The table is used
    when every key and every word of the details fit their column at the console's width;
    otherwise each item takes a few lines of its own (key; type, action and result; details),
    wrapped between words. A word wider than the whole line (rare) is cut short with "…"; the
    full values are in `report export`.
    """

    def __init__(self, items: Iterable[ReportItem], title: str, limit: int) -> None:
        self.title = title
        self.rows: list[_Row] = []
        total = 0
        for item in items:
            total += 1
            if len(self.rows) < limit:
                self.rows.append(  # Text, not markup: keys and target messages may hold [brackets]
                    _Row(
                        item.type.value,
                        plain(item.key),
                        item.action.value,
                        Text(item.result.value, style=RESULT_STYLES.get(item.result, "")),
                        item.data_changed,
                        plain(item.details or describe_changes(item), multiline=True),
                    )
                )
        self.hidden = total - len(self.rows)
        self.caption = (
            f"{counted(self.hidden, 'more item')} not shown; use filters or `report export`."
            if self.hidden
            else None
        )

    def table_width(self) -> int:
        """The narrowest width at which the table shows every key and every word whole."""
        widths = [cell_len(header) for header in _HEADERS]
        for row in self.rows:
            cells = (row.type, row.key.plain, row.action, row.result.plain, "yes" if row.changed else "")
            for column, cell in enumerate(cells):
                widths[column] = max(widths[column], cell_len(cell))
            widths[5] = max(widths[5], _longest_word(row.details))
        return sum(widths) + _TABLE_FRAME

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self._table() if self.table_width() <= options.max_width else self._stacked()

    def _table(self) -> Table:
        table = Table(title=self.title, caption=self.caption, expand=True)
        for header in _HEADERS[:5]:
            table.add_column(header, no_wrap=True)
        # Wrapped between words; the width check above keeps every word whole.
        table.add_column("Details", overflow="ellipsis", ratio=1)
        for row in self.rows:
            table.add_row(
                row.type, row.key, row.action, row.result, "yes" if row.changed else "", row.details
            )
        return table

    def _stacked(self) -> Table:
        # One column, the whole width: the key, then what was done, then the details.
        table = Table(title=self.title, caption=self.caption, expand=True, show_lines=True)
        table.add_column("Item", overflow="ellipsis")
        for row in self.rows:
            what = Text.assemble(
                row.type, " · ", row.action, " · ", row.result, " · changed" if row.changed else ""
            )
            table.add_row(Text("\n").join([row.key, what, *([row.details] if row.details.plain else [])]))
        return table


def item_table(items: Iterable[ReportItem], title: str = "Items", limit: int = 500) -> ItemTable:
    """The items (the first `limit`; the caption says when more were left out), fitted to the console."""
    return ItemTable(items, title, limit)
