"""Text from Google and the target made safe to keep, show and compare; imports nothing of ours.

Names, keys and messages come from two systems gwsync does not control, so any of them may
carry what breaks or deceives downstream:

- a lone surrogate (JSON's `"\\ud800"`): Python reads it into a str, but it has no UTF-8
  form, so it fails every later encode (a report's item store, a file, a terminal).
  `without_surrogates` replaces it with U+FFFD where text enters, and where it is kept;
- a character a terminal or log reader acts on or hides instead of showing: C0/C1 controls
  (ESC starts CSI sequences and OSC 8 hyperlinks, CR overwrites), format characters (the
  bidirectional overrides of "Trojan Source", zero-width spaces, BOM) and the line and
  paragraph separators. `visible` shows each as its escape;
- a non-ASCII letter that `str.lower()` folds into an ASCII one (KELVIN SIGN K -> k): the
  target keys people by userName, so `address_key` lowercases ASCII only, and two addresses
  are one only when they are the same but for ASCII case.

Every layer uses these (the adapters, the planner, the API models, the CLI), so this module is
the bottom of the layering contract in pyproject.toml.
"""

import logging
import re
import unicodedata
from typing import Any

__all__ = [
    "EscapedLogs",
    "address_key",
    "escape_logs",
    "quoted",
    "same_address",
    "visible",
    "visible_json",
    "without_surrogates",
    "without_surrogates_in",
]

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(value: str) -> str:
    """`value` with every surrogate code point (always a lone one in a Python str) as U+FFFD."""
    if value.isascii():
        return value
    return _SURROGATE.sub(REPLACEMENT, value)


def without_surrogates_in(value: Any) -> Any:
    """A parsed JSON value with `without_surrogates` applied to every string, keys included."""
    if isinstance(value, str):
        return without_surrogates(value)
    if isinstance(value, dict):
        return {without_surrogates_in(k): without_surrogates_in(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_surrogates_in(v) for v in value]
    return value


# Unicode general categories shown escaped: controls, format characters, line and paragraph
# separators, and surrogates (which no terminal or file can even encode).
ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_CANDIDATE = re.compile(r"\r\n|[^\x20-\x7e]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_KEPT_ON_LINES = frozenset({"\n", "\t", "\r\n"})


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def visible(value: str, *, multiline: bool = False) -> str:
    """`value` with every Cc, Cf, Zl, Zp (and Cs) character shown as its escape: ESC as \\x1b,
    U+202E as \\u202e, CR as \\r.

    Line ends (LF, CRLF) and tabs are kept only where a value may span lines (a target's error
    message, a CSV cell); in a name or key they are shown as \\n and \\t, so a value cannot
    start a line that looks like our own output.
    """
    if value.isprintable():  # False whenever any character of those categories is in it
        return value

    def shown(match: re.Match[str]) -> str:
        found = match.group()
        if multiline and found in _KEPT_ON_LINES:
            return found
        if found == "\r\n":
            return "\\r\\n"
        if unicodedata.category(found) in ESCAPED_CATEGORIES:
            return _escape(found)
        return found

    return _CANDIDATE.sub(shown, value)


ELLIPSIS = "\u2026"


def quoted(value: str, limit: int) -> str:
    """Text from an answer (an error message, a name), fit for a sentence of ours: `visible`,
    then its first `limit` characters, with "…" after them when more were cut.

    Both adapters quote Google's and the target's answers with it, so a report's details and
    an error message escape and bound the same way (U+202E would reorder what a reader sees).
    """
    shown = visible(value)
    return shown if len(shown) <= limit else shown[:limit] + ELLIPSIS


_JSON_CANDIDATE = re.compile(r"[^\x20-\x7e]")


def visible_json(document: str) -> str:
    """JSON text with every Cc, Cf, Zl, Zp and Cs character written as its `\\uXXXX` escape.

    The same JSON (a parser reads the same values) that a terminal shows as written: for
    `report export --format jsonl` to a terminal. Characters beyond U+FFFF are written as
    their UTF-16 pair, as JSON spells them.
    """
    if document.isprintable():
        return document

    def escaped(match: re.Match[str]) -> str:
        found = match.group()
        # A raw newline, tab or return is never inside a JSON string (it would be invalid there):
        # it is indentation between tokens, and an escape there is no JSON.
        if found in "\n\r\t" or unicodedata.category(found) not in ESCAPED_CATEGORIES:
            return found
        units = found.encode("utf-16-be", "surrogatepass")
        return "".join(f"\\u{int.from_bytes(units[i : i + 2]):04x}" for i in range(0, len(units), 2))

    return _JSON_CANDIDATE.sub(escaped, document)


class EscapedLogs(logging.Filter):
    """A handler filter that makes each record's message one visible line (`visible`).

    Log messages quote keys and answers from Google and the target; a CR, LF or escape
    sequence in one must not forge a log line or act on the terminal that tails the logs.
    Tracebacks are formatted apart from the message, so they keep their lines.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        shown = visible(message)
        if shown != message:
            record.msg, record.args = shown, None
        return True


def escape_logs(logger: logging.Logger | None = None) -> None:
    """Make every record the handlers of `logger` (default: the root logger) write, and Python's
    last-resort handler of a process that configured none, go through `EscapedLogs`."""
    handlers = list((logger or logging.getLogger()).handlers)
    if logger is None and logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if not any(isinstance(found, EscapedLogs) for found in handler.filters):
            handler.addFilter(EscapedLogs())


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def address_key(address: str) -> str:
    """An email or userName as compared: ASCII letters lowercased, every other character kept.

    Not `str.lower()` or `casefold()`: they fold KELVIN SIGN into k and the long s into s, so a
    Google account named \\u212aate@ would be taken for the target's kate@ and adopt it.
    """
    return address.lower() if address.isascii() else address.translate(_ASCII_LOWER)


def same_address(left: str, right: str) -> bool:
    """Whether two emails or userNames name the same person: equal but for ASCII case."""
    return address_key(left) == address_key(right)
