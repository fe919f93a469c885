"""The compatibility table of docs/targets.md, parsed: {server: {scenario: cell}}."""

from __future__ import annotations

from functools import cache
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "targets.md"
START, END = "<!-- matrix:start -->", "<!-- matrix:end -->"


def cell(unsupported: list[str]) -> str:
    return "yes" if not unsupported else "not supported: " + ", ".join(sorted(unsupported))


@cache
def expected_table() -> dict[str, dict[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    block = text[text.index(START) + len(START) : text.index(END)]
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in block.strip().splitlines()
        if line.strip().startswith("|")
    ]
    header, body = rows[0], [r for r in rows[2:]]
    return {r[0]: dict(zip(header[1:], r[1:], strict=True)) for r in body}
