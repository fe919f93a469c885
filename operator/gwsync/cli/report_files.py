"""SyncReports in files: which formats `-o` writes, and reading back what `gwsync sync -o` wrote.

`gwsync sync -o FILE` writes the whole report, every item in `status.items` (a cluster keeps
200 there and the rest in ConfigMaps); `gwsync report show|export --file FILE` reads it back
and shows it with the same views and filters as a report in the cluster. `-` is standard
output for `-o` and standard input for `--file`.
"""

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gwsync.api.report import ReportItem, SyncReport
from gwsync.cli.files import UnreadableFile, read_text

STDIO = "-"
REPORT_SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}
EXPORT_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl"}


class ReportFileError(Exception):
    """A report file that cannot be written or read as asked; the message says why and what to do."""


def report_format(output: str) -> str:
    """json or yaml: what `gwsync sync -o OUTPUT` writes; an unknown extension is refused."""
    if output == STDIO:
        return "json"
    suffix = Path(output).suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise ReportFileError(
            f"-o {output}: a SyncReport is written as .json, .yaml or .yml; "
            "name the file so, or pass -o - for JSON on standard output."
        )
    return REPORT_SUFFIXES[suffix]


def export_format(output: str | None, format_: str | None) -> str:
    """csv or jsonl: what `gwsync report export` writes, from --format or the file's extension."""
    chosen = format_.strip().casefold() if format_ is not None else None
    if chosen is not None and chosen not in EXPORT_SUFFIXES.values():
        raise ReportFileError(f"--format {format_!r} is not a known export format; use csv or jsonl.")
    if output is None or output == STDIO:
        return chosen or "csv"
    suffix = Path(output).suffix.lower()
    by_suffix = EXPORT_SUFFIXES.get(suffix)
    if by_suffix is None:
        raise ReportFileError(
            f"-o {output}: an export is written as .csv or .jsonl; "
            "name the file so, or pass -o - for standard output."
        )
    if chosen is not None and chosen != by_suffix:
        raise ReportFileError(
            f"-o {output} ends in {suffix} but --format is {chosen}; "
            f"name the file .{chosen}, or leave --format out."
        )
    return by_suffix


def _load(path: str) -> Any:
    if path == STDIO:
        text = sys.stdin.read()
        name = "standard input"
    else:
        name = f"The report file {path}"
        try:
            text = read_text(Path(path), name, "pass the file `gwsync sync -o` wrote")
        except UnreadableFile as exc:
            raise ReportFileError(str(exc)) from None
    try:
        # JSON first: it is what `-o x.json` and `-o -` write, and json reads it far faster.
        return json.loads(text)
    except ValueError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ReportFileError(
            f"{name} is neither JSON nor YAML (a syntax error{where}); pass a file `gwsync sync -o` wrote."
        ) from None


def read_report_file(path: str) -> tuple[SyncReport, list[ReportItem]]:
    """The report and every one of its items, from a file `gwsync sync -o` wrote (- reads stdin)."""
    name = "standard input" if path == STDIO else f"The report file {path}"
    document = _load(path)
    if not isinstance(document, dict) or document.get("kind") != "SyncReport":
        kind = document.get("kind") if isinstance(document, dict) else None
        holds = f"a {kind}" if kind else "no SyncReport"
        raise ReportFileError(f"{name} holds {holds}; pass a file `gwsync sync -o` wrote.")
    status = document.get("status")
    raw_items = status.pop("items", []) if isinstance(status, dict) else []
    try:
        report = SyncReport.model_validate(document)
        items = [ReportItem.model_validate(item) for item in raw_items or []]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ReportFileError(
            f"{name} is not a valid SyncReport ({where}: {first['msg']}); pass a file `gwsync sync -o` wrote."
        ) from None
    return report, items
