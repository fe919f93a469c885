"""Text for a terminal without rich: control characters made visible, one-sentence messages.

Kept apart from `gwsync.cli.output` so a command that prints plain lines (`gwsync validate`)
does not import rich.
"""

import json

from gwsync.text import visible, visible_json


def printable(value: str, *, multiline: bool = False) -> str:
    """`value` with every control, format and separator character shown as its escape (ESC as
    \\x1b, CR as \\r, U+202E as \\u202e): see `gwsync.text.visible`.

    Names, keys and messages come from Google, the SCIM target and the cluster, so any of them
    may carry what a terminal acts on instead of showing; rich drops BEL, BS and CR but passes
    ESC, DEL, C1, the bidirectional overrides and the separators through.
    """
    return visible(value, multiline=multiline)


def sentence(message: str) -> str:
    """The message as one sentence: trimmed, ending with a full stop."""
    message = message.strip()
    return message if message.endswith((".", "!", "?")) else f"{message}."


def counted(count: int, noun: str, plural: str = "") -> str:
    """`1 file`, `2 files`: the count and its noun, singular or plural as English wants."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def json_text(document: object) -> str:
    """`document` as indented JSON, UTF-8 names kept readable, and every control, format and
    separator character written as its `\\uXXXX` escape (`gwsync.text.visible_json`), so JSON
    printed to a terminal cannot act on it; a parser reads the same values."""
    return visible_json(json.dumps(document, ensure_ascii=False, indent=2))
